"""Population segmentation: rules as data, compiled to one engine-neutral Ibis `case`.

A *scheme* is a YAML file (see ``segmentations/``) with an ``id``, a ``name``, its sources and
an ordered list of ``segments``. Segments are tried top-down and the first whose conditions
hold wins; the last segment must have no conditions (everyone else), so every person gets
exactly one segment.

Each segment has ``id``, ``name``, ``description``, an optional ``level`` (a whole number;
higher means more need: a person whose level rises between two runs is a *riser*) and
``conditions``, a list that must all hold. A condition is one of::

    {column: age, op: ">=", value: 65}          # column, operator, value
    {all: [condition, ...]}                      # every one holds
    {any: [condition, ...]}                      # at least one holds

Columns are those of the person summary (``person_summary.COLUMNS``); operators are
``==, !=, <, <=, >, >=, in`` (``in`` takes a list). A comparison with a missing value is
false. Errors in a file are reported as `SegmentationError` naming the file, the segment and
what to fix.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import yaml

from joinedup.analytics.person_summary import CATEGORY_VALUES, COLUMNS
from joinedup.errors import UserError

SCHEMES_DIR = Path(__file__).resolve().parent / "segmentations"
DEFAULT_SCHEMES: tuple[str, ...] = ("frailty_four_group", "bridges_to_health")
OPERATORS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "in")
_ORDERED_TYPES = ("int", "float")


class SegmentationError(UserError, ValueError):
    """A segmentation scheme file cannot be used as written."""


@dataclass(frozen=True)
class Comparison:
    column: str
    op: str
    value: Any

    def describe(self) -> str:
        return f"{self.column} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    conditions: tuple[Condition, ...]

    def describe(self) -> str:
        joiner = " and " if self.kind == "all" else " or "
        return "(" + joiner.join(c.describe() for c in self.conditions) + ")"


Condition = Comparison | Group


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    description: str
    level: int
    conditions: tuple[Condition, ...]

    def describe(self) -> str:
        """The rule in one line (empty conditions: everyone not in an earlier segment)."""
        if not self.conditions:
            return "everyone not in an earlier segment"
        return " and ".join(c.describe() for c in self.conditions)


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    segments: tuple[Segment, ...]

    def segment(self, segment_id: str) -> Segment:
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(segment_id)

    def expression(self, table: ir.Table) -> ir.StringValue:
        """The segment id of each row of `table` (a person summary): one Ibis `case`."""
        cases = [
            (_compile_all(s.conditions, table), ibis.literal(s.id)) for s in self.segments[:-1]
        ]
        last = ibis.literal(self.segments[-1].id)
        if not cases:
            return last
        return ibis.cases(*cases, else_=last)

    def assign(self, table: ir.Table, column: str | None = None) -> ir.Table:
        """`table` with a column (default: the scheme id) holding each person's segment id."""
        return table.mutate(**{column or self.id: self.expression(table)})


def condition_expression(condition: Condition, table: ir.Table) -> ir.BooleanValue:
    """One condition as an Ibis boolean over `table` (a missing value never satisfies it)."""
    return _compile(condition, table)


def _compile(condition: Condition, table: ir.Table) -> ir.BooleanValue:
    if isinstance(condition, Group):
        parts = [_compile(c, table) for c in condition.conditions]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if condition.kind == "all" else (combined | part)
        return combined
    column = table[condition.column]
    value = condition.value
    op = condition.op
    result: ir.BooleanValue
    if op == "in":
        result = column.isin(list(value))
    elif op == "==":
        result = column == value
    elif op == "!=":
        result = column != value
    elif op == "<":
        result = column < value
    elif op == "<=":
        result = column <= value
    elif op == ">":
        result = column > value
    else:
        result = column >= value
    # A missing value never satisfies a condition (so `case` never sees a null test).
    return result.fill_null(False)


def _compile_all(conditions: Sequence[Condition], table: ir.Table) -> ir.BooleanValue:
    return _compile(Group("all", tuple(conditions)), table)


# --- loading and validation -------------------------------------------------------------------


def load_scheme(source: str | Path) -> Scheme:
    """A scheme by name (a file in ``segmentations/``) or from a YAML file path."""
    path = Path(source)
    if not path.suffix:
        path = SCHEMES_DIR / f"{source}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in SCHEMES_DIR.glob("*.yaml")))
            raise SegmentationError(f"no segmentation scheme {source!r}; the schemes are: {known}")
    if not path.is_file():
        raise SegmentationError(f"segmentation file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SegmentationError(f"{path.name}: not valid YAML: {exc}") from exc
    return parse_scheme(data, where=path.name)


@functools.cache
def builtin_scheme(name: str) -> Scheme:
    return load_scheme(name)


def parse_scheme(data: Any, *, where: str = "scheme") -> Scheme:
    """A validated `Scheme` from parsed YAML; `SegmentationError` says what is wrong and where."""
    if not isinstance(data, Mapping):
        raise SegmentationError(f"{where}: expected a mapping with id, name and segments")
    for key in ("id", "name", "segments"):
        if key not in data:
            raise SegmentationError(f"{where}: missing {key!r}")
    scheme_id = _identifier(data["id"], f"{where}: id")
    if scheme_id in COLUMNS:
        raise SegmentationError(f"{where}: id {scheme_id!r} clashes with a person summary column")
    raw_segments = data["segments"]
    if not isinstance(raw_segments, list) or not raw_segments:
        raise SegmentationError(f"{where}: 'segments' must be a non-empty list")
    segments = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_segments, start=1):
        segment = _parse_segment(raw, f"{where}: segment {i}")
        if segment.id in seen:
            raise SegmentationError(f"{where}: segment id {segment.id!r} is used twice")
        seen.add(segment.id)
        segments.append(segment)
    if segments[-1].conditions:
        raise SegmentationError(
            f"{where}: the last segment ({segments[-1].id!r}) must have no conditions, so that "
            "everyone not in an earlier segment gets one"
        )
    for s in segments[:-1]:
        if not s.conditions:
            raise SegmentationError(
                f"{where}: segment {s.id!r} has no conditions but is not last; the segments "
                "after it could never match"
            )
    sources = data.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise SegmentationError(f"{where}: 'sources' must be a list of citations")
    return Scheme(
        id=scheme_id,
        name=str(data["name"]),
        description=str(data.get("description", "")).strip(),
        sources=tuple(sources),
        segments=tuple(segments),
    )


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise SegmentationError(f"{where} must be a word of letters, digits and _ (got {value!r})")
    return value


def _parse_segment(raw: Any, where: str) -> Segment:
    if not isinstance(raw, Mapping):
        raise SegmentationError(f"{where}: expected a mapping with id, name and conditions")
    segment_id = _identifier(raw.get("id"), f"{where}: id")
    where = f"{where} ({segment_id})"
    if "name" not in raw:
        raise SegmentationError(f"{where}: missing 'name'")
    unknown = sorted(set(raw) - {"id", "name", "description", "level", "conditions"})
    if unknown:
        raise SegmentationError(f"{where}: unknown key(s) {', '.join(unknown)}")
    level = raw.get("level", 0)
    if not isinstance(level, int) or isinstance(level, bool):
        raise SegmentationError(f"{where}: level must be a whole number (got {level!r})")
    conditions = raw.get("conditions") or []
    if not isinstance(conditions, list):
        raise SegmentationError(f"{where}: 'conditions' must be a list")
    return Segment(
        id=segment_id,
        name=str(raw["name"]),
        description=" ".join(str(raw.get("description", "")).split()),
        level=level,
        conditions=tuple(_parse_condition(c, where) for c in conditions),
    )


def _parse_condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, Mapping):
        raise SegmentationError(f"{where}: a condition must be a mapping (got {raw!r})")
    groups = [k for k in ("all", "any") if k in raw]
    if groups:
        kind = groups[0]
        if len(raw) != 1:
            raise SegmentationError(f"{where}: an {kind!r} group must have nothing beside it")
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise SegmentationError(f"{where}: {kind!r} needs a non-empty list of conditions")
        return Group(kind, tuple(_parse_condition(c, where) for c in items))
    missing = [k for k in ("column", "op", "value") if k not in raw]
    if missing:
        raise SegmentationError(
            f"{where}: condition {dict(raw)!r} needs column, op and value (or all/any); "
            f"missing {', '.join(missing)}"
        )
    extra = sorted(set(raw) - {"column", "op", "value"})
    if extra:
        raise SegmentationError(f"{where}: condition has unknown key(s) {', '.join(extra)}")
    column, op, value = raw["column"], raw["op"], raw["value"]
    if column not in COLUMNS:
        raise SegmentationError(
            f"{where}: unknown column {column!r}; the columns are: {', '.join(COLUMNS)}"
        )
    if op not in OPERATORS:
        raise SegmentationError(
            f"{where}: unknown operator {op!r} for {column}; use one of {', '.join(OPERATORS)}"
        )
    kind = COLUMNS[column]
    if op == "in":
        if not isinstance(value, list) or not value:
            raise SegmentationError(f"{where}: {column} in … needs a non-empty list of values")
        for v in value:
            _check_value(column, kind, v, where)
        return Comparison(column, op, tuple(value))
    if op in ("<", "<=", ">", ">=") and kind not in _ORDERED_TYPES:
        raise SegmentationError(
            f"{where}: {column} is {kind}; {op} needs a number column (use == or in)"
        )
    _check_value(column, kind, value, where)
    return Comparison(column, op, value)


def _check_value(column: str, kind: str, value: Any, where: str) -> None:
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not ok:
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
            kind, "text"
        )
        raise SegmentationError(f"{where}: bad value {value!r} for {column}: it must be {wanted}")
    allowed = CATEGORY_VALUES.get(column)
    if allowed and value not in allowed:
        raise SegmentationError(
            f"{where}: bad value {value!r} for {column}; it is one of {', '.join(allowed)}"
        )
