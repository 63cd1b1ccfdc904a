"""Validate each *shape* of device Observation against the FHIR R4B model once (ADR 0026).

A device platform sends the same few Observations over and over: the same codes, units,
category, profile and structure, with only the id, the time, the subject, the device and the
numbers changing. Validating every one against the R4B model cost about 135 µs a reading, most
of reading a file; the values that change are few and simple to check by hand.

So an Observation's **shape** is its JSON with the values at the `VARIABLE` paths each replaced
by its FHIR type's name. The first Observation of a shape is validated by R4B (the
usual path, with its usual rejection reasons); if it passes, the shape is remembered. A later
Observation of a remembered shape differs from one R4B accepted only in its variable values,
and each of those is checked here by the rule R4B applies to its FHIR type (`PRIMITIVES`: the
regular expressions of the FHIR R4 specification, a JSON number for a decimal). If any check
fails, the Observation takes the full R4B path, so its rejection reason is R4B's. Nothing R4B
would refuse is accepted: every other value is identical to one it accepted, and structure
(which keys, which are lists) is part of the shape.

`Fields` then gives read access to the parsed JSON with the attribute names and value types
the R4B model would have given (a Decimal for a quantity's value, a datetime for a dateTime
with a time), so `readings.readings_of` reads both the same way.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

#: FHIR R4 primitive types' value patterns (http://hl7.org/fhir/R4/datatypes.html).
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH_DAY = r"-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
PRIMITIVES = {
    "id": re.compile(r"[A-Za-z0-9\-\.]{1,64}"),
    "string": re.compile(r"[ \r\n\t\S]+"),
    "dateTime": re.compile(rf"{_YEAR}({_MONTH_DAY}(T{_TIME}{_ZONE})?)?)?"),
    "instant": re.compile(rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_ZONE}"),
}
#: Where values change from reading to reading (lists as one-item lists), with their FHIR type.
VARIABLE: dict[str, Any] = {
    "id": "id",
    "effectiveDateTime": "dateTime",
    "effectiveInstant": "instant",
    "issued": "instant",
    "meta": {"lastUpdated": "instant"},
    "subject": {"reference": "string"},
    "device": {"reference": "string"},
    "performer": [{"reference": "string"}],
    "identifier": [{"value": "string"}],
    "valueQuantity": {"value": "decimal"},
    "component": [{"valueQuantity": {"value": "decimal"}}],
}
#: Remembered shapes; a platform has a handful, so a bound only guards against a hostile file.
MAX_SHAPES = 10_000
_known: set[str] = set()
_lock = threading.Lock()


class _Unchecked(Exception):
    """A variable value that breaks its type's rule: R4B must say why."""


def shape_of(resource: dict[str, Any]) -> str | None:
    """The resource's shape — its JSON with each variable value replaced by its type's name — or
    None when a variable value breaks its type's rule. The shape is the masked structure's
    ``repr``: for what JSON parses to (dicts in their order, lists, text, numbers, booleans,
    null) two structures have the same repr exactly when they are equal, as with JSON text, at
    less cost."""
    try:
        return repr(_mask(resource))
    except _Unchecked:
        return None


Masker = Callable[[Any], Any]


def _masker(variable: Any) -> Masker:
    """A function that gives a node with the values `variable` marks replaced (copying only
    what it changes); a node not of the expected structure is kept as it is, so R4B judges
    it. Built once from `VARIABLE` rather than walking it for every Observation."""
    if isinstance(variable, str):
        placeholder = f"<{variable}>"

        def value(node: Any) -> Any:
            _check(variable, node)
            return placeholder

        return value
    if isinstance(variable, dict):
        inner = [(key, _masker(part)) for key, part in variable.items()]

        def mapping(node: Any) -> Any:
            if not isinstance(node, dict):
                return node
            copy = dict(node)
            for key, mask in inner:
                if key in node:
                    copy[key] = mask(node[key])
            return copy

        return mapping
    each = _masker(variable[0])

    def listing(node: Any) -> Any:
        return [each(item) for item in node] if isinstance(node, list) else node

    return listing


def _check(kind: str, value: Any) -> None:
    if kind == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, str) and PRIMITIVES[kind].fullmatch(value) is not None
        if ok and kind in ("dateTime", "instant") and "T" in value:
            ok = _parses(value)
    if not ok:
        raise _Unchecked


def _parses(text: str) -> bool:
    try:
        _datetime(text)
    except ValueError:  # e.g. a leap second, which the pattern allows
        return False
    return True


def known(shape: str) -> bool:
    return shape in _known


def remember(shape: str) -> None:
    with _lock:
        if len(_known) >= MAX_SHAPES:
            _known.clear()
        _known.add(shape)


class Fields:
    """Attribute access to parsed JSON, with the value types the R4B model gives."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return _typed(name, self._data.get(name))


_DATETIMES = frozenset({"effectiveDateTime", "effectiveInstant"})


def _typed(name: str, value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _datetime(value) if name in _DATETIMES else value
    if kind is dict:
        return Fields(value)
    if kind is list:
        return [_typed(name, item) for item in value]
    if (kind is int or kind is float) and name == "value":
        return Decimal(str(value))
    return value


def typed_time(text: str) -> dt.datetime | str:
    """A dateTime or instant as the R4B model gives it (see `_datetime`)."""
    return _datetime(text)


def _datetime(text: str) -> dt.datetime | str:
    """A dateTime with a time as an aware datetime; a date or year-month stays as written (it
    cannot place a reading in time, and `readings` says so)."""
    if "T" not in text:
        return text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


#: `VARIABLE` as one masking function (built when the module loads).
_mask = _masker(VARIABLE)
