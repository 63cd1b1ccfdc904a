"""Device and home readings as FHIR R4 Observations: one Observation, a Bundle, or bulk NDJSON
in; typed readings out, each bad one rejected with its reason.

Every Observation is validated against the ``fhir.resources.R4B`` model (a validation error
becomes the same reason the population ingest gives, via `model_problem`), then read field by
field. The model validates each *shape* of Observation once; later Observations of the same
shape have their changing values (id, times, subject, numbers) checked by the FHIR type rules
instead (`reading_shapes`, ADR 0026): the same acceptance at a fraction of the cost.

The codes are those of NHS England's virtual-ward draft standard and the FHIR R4 vital-signs
profile, as collected in ``../shared/reference/NEXT_DOMAINS.md`` §1.4:

=====================  =======================================  ===========================
parameter              code (Observation.code)                  unit (UCUM) accepted
=====================  =======================================  ===========================
resp_rate              LOINC 9279-1                             /min, {breaths}/min
spo2                   LOINC 59408-5 (pulse oximetry), 2708-6   %
systolic_bp            LOINC 85354-9 panel, component 8480-6;   mm[Hg]
                       or 8480-6 alone
diastolic_bp           component 8462-4 of the panel            mm[Hg]
pulse                  LOINC 8867-4                             /min, {beats}/min
temperature            LOINC 8310-5                             Cel; [degF] converted
consciousness          SNOMED 1104441000000107 (ACVPU) with a   —
                       SNOMED value (`ACVPU_VALUES`)
on_oxygen              SNOMED 722742002 breathing room air /    —
                       371825009 patient on oxygen; or LOINC
                       3151-8 inhaled O2 flow (L/min, > 0 is
                       oxygen), alone or as a component of SpO2
=====================  =======================================  ===========================

The ACVPU value codes (Alert 248234008, new confusion 130987000, voice 300202002, pain
450847001, unresponsive 422768004) and the two oxygen findings are those an NHS
interoperability demonstrator sends with the NEWS2 SNOMED codes; NEXT_DOMAINS.md marks value
codes other than Alert unverified, so check them against the NHS England standard when it is
published.

Rules (each breach is a rejection naming the Observation and the problem):

* ``status`` final, amended, corrected or preliminary (a device's first reading); anything else
  (entered-in-error, cancelled, registered, unknown) is not a reading;
* ``subject`` a reference (the person); ``effectiveDateTime`` (or ``effectiveInstant``) a date
  *and time* with its timezone: a reading that cannot be placed in time cannot be charted or
  scheduled;
* a value: ``valueQuantity`` with a number and a UCUM unit code (``system`` UCUM when given),
  the unit one of those above. **Temperature in [degF]** is converted to Cel (the UCUM
  definition, exact); every other unit is rejected, as is a value with no unit or a
  ``dataAbsentReason`` in place of a value;
* a plausible value (`joinedup.neighbourhood.news2.PLAUSIBLE`; diastolic 20–200 mm[Hg]).

An Observation with a code that is not one of the above (weight, glucose …) and resources of
other types (Patient, Device) are *skipped*, counted, not rejected: a device bundle carries
them. Every part of an Observation must be good or none of it is taken.

`observation_sets` gathers one person's readings with the same effective time (a device sends a
set as several Observations of one time) into `news2.Observations`, for scoring.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from joinedup.neighbourhood import reading_shapes
from joinedup.neighbourhood.news2 import LABELS, PLAUSIBLE, Observations
from joinedup.population.ingest.fhir import model_problem

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

#: LOINC code → the parameter it measures, for codes whose value is a Quantity.
LOINC_PARAMETERS = {
    "9279-1": "resp_rate",
    "59408-5": "spo2",
    "2708-6": "spo2",
    "8480-6": "systolic_bp",
    "8462-4": "diastolic_bp",
    "8867-4": "pulse",
    "8310-5": "temperature",
    "3151-8": "oxygen_flow",
}
BP_PANEL = "85354-9"
ACVPU_CODE = "1104441000000107"
ACVPU_VALUES = {
    "248234008": "A",
    "130987000": "C",
    "300202002": "V",
    "450847001": "P",
    "422768004": "U",
}
ROOM_AIR, ON_OXYGEN = "722742002", "371825009"
UNITS = {
    "resp_rate": ("/min", "{breaths}/min"),
    "spo2": ("%",),
    "systolic_bp": ("mm[Hg]",),
    "diastolic_bp": ("mm[Hg]",),
    "pulse": ("/min", "{beats}/min"),
    "temperature": ("Cel", "[degF]"),
    "oxygen_flow": ("L/min",),
}
READING_STATUSES = {"final", "amended", "corrected", "preliminary"}
DIASTOLIC_PLAUSIBLE: tuple[float, float, str] = (20, 200, "mmHg")


@dataclass(frozen=True)
class Reading:
    """One measured parameter of one person at one time, in the unit NEWS2 reads it in."""

    subject: str
    effective: dt.datetime
    parameter: str
    value: float | bool | str
    unit: str | None = None
    observation_id: str | None = None
    device: str | None = None
    performer: str | None = None  # who took it: the person (Patient), a carer, staff


@dataclass(frozen=True)
class Rejected:
    location: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    location: str
    what: str


Item = Reading | Rejected | Skipped
Value = tuple[str, float | bool | str, str | None]  # (parameter, value, UCUM unit)


@dataclass
class ReadingsBatch:
    readings: list[Reading] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, item: Item) -> None:
        if isinstance(item, Reading):
            self.readings.append(item)
        elif isinstance(item, Rejected):
            self.rejects.append(item)
        else:
            self.skipped.append(item)


class ReadingError(ValueError):
    """One Observation that is not a good reading; the message is the reason."""


# --- sources ---------------------------------------------------------------------------------


def read_paths(paths: Sequence[Path]) -> ReadingsBatch:
    """Every reading in `paths` (``.ndjson`` streamed a line at a time; else one JSON
    document: an Observation or a Bundle)."""
    batch = ReadingsBatch()
    for path in paths:
        if path.suffix == ".ndjson":
            with path.open("rb") as handle:
                items = list(read_ndjson(handle, path.name))
        else:
            items = list(read_document(path.read_bytes(), path.name))
        if not items:
            batch.add(Rejected(path.name, "file is empty: no resources"))
        for item in items:
            batch.add(item)
    return batch


def read_ndjson(lines: Iterable[bytes | str], name: str = "NDJSON") -> Iterator[Item]:
    """Bulk NDJSON: one resource per line; blank lines ignored."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield from read_resource_json(line, f"{name} line {number}")


def read_document(data: bytes | str, name: str = "document") -> Iterator[Item]:
    """One JSON document: an Observation, or a Bundle of resources (Observations read, other
    resources skipped)."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        yield Rejected(name, f"is not valid JSON ({exc})")
        return
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        yield from read_resource(document, name)
        return
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        yield Rejected(name, "Bundle.entry is not a list")
        return
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        yield from read_resource(resource, f"{name} entry {index}")


def read_resource_json(text: bytes | str, location: str) -> Iterator[Item]:
    """One resource as JSON text."""
    try:
        resource = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        yield Rejected(location, f"is not valid JSON ({exc})")
        return
    yield from read_resource(resource, location)


def read_resource(resource: Any, location: str) -> Iterator[Item]:
    """One resource already parsed from JSON. An Observation of a shape R4B has accepted before
    is read straight from the JSON after its changing values are checked (`reading_shapes`);
    any other is validated against the R4B model first."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        yield Rejected(location, "is not a FHIR resource (no resourceType)")
        return
    kind = resource["resourceType"]
    label = f"{location} ({kind}/{resource.get('id', '?')})"
    if kind != "Observation":
        yield Skipped(label, f"{kind} is not a reading")
        return
    shape = reading_shapes.shape_of(resource)
    if shape is not None and reading_shapes.known(shape):
        plan = _plan_of(shape, resource)
        if plan is None:
            yield from _items(reading_shapes.Fields(resource), location)
        else:
            yield from plan.items(resource, location)
        return
    problem = model_problem(resource)
    if problem:
        yield Rejected(label, problem)
        return
    from fhir.resources.R4B.observation import Observation

    observation = Observation.model_validate(resource)
    if shape is not None:
        reading_shapes.remember(shape)
    yield from _items(observation, location)


def _items(observation: Any, location: str) -> Iterator[Item]:
    label = f"{location} (Observation/{observation.id or '?'})"
    try:
        found = readings_of(observation)
    except ReadingError as exc:
        yield Rejected(label, str(exc))
        return
    if not found:
        yield Skipped(label, f"code {_codes_text(observation.code)} is not a NEWS2 parameter")
        return
    yield from found


# --- one Observation ---------------------------------------------------------------------------


def readings_of(observation: Any) -> list[Reading]:
    """The readings in one validated R4B Observation ([] when its code is not one we read).
    Raises `ReadingError` for a reading that breaks a rule."""
    kinds = _kinds(observation.code)
    if not kinds:
        return []
    if observation.status not in READING_STATUSES:
        raise ReadingError(f"status {observation.status!r} is not a reading")
    subject = observation.subject.reference if observation.subject else None
    if not subject:
        raise ReadingError("subject is required: a reference to the person measured")
    effective = _effective(observation)
    made = []
    for parameter, value, unit in _values(observation, kinds):
        made.append(
            Reading(
                subject=subject,
                effective=effective,
                parameter=parameter,
                value=value,
                unit=unit,
                observation_id=observation.id,
                device=_device(observation),
                performer=_performer(observation),
            )
        )
    return made


def _kinds(code: Any) -> set[str]:
    kinds = set()
    for coding in code.coding or []:
        if coding.system == LOINC and coding.code in LOINC_PARAMETERS:
            kinds.add(LOINC_PARAMETERS[coding.code])
        elif coding.system == LOINC and coding.code == BP_PANEL:
            kinds.add("bp_panel")
        elif coding.system == SNOMED and coding.code == ACVPU_CODE:
            kinds.add("consciousness")
        elif coding.system == SNOMED and coding.code in (ROOM_AIR, ON_OXYGEN):
            kinds.add(coding.code)
    return kinds


def _values(observation: Any, kinds: set[str]) -> list[Value]:
    if len(kinds) > 1:
        raise ReadingError(f"code names more than one measurement ({', '.join(sorted(kinds))})")
    kind = next(iter(kinds))
    if kind in (ROOM_AIR, ON_OXYGEN):
        return [("on_oxygen", kind == ON_OXYGEN, None)]
    if kind == "consciousness":
        return [("consciousness", _acvpu(observation), None)]
    if kind == "bp_panel":
        return _pressures(observation)
    values = [_measured(kind, observation, "value")]
    values += _oxygen_components(observation) if kind == "spo2" else []
    return [_oxygen_from_flow(v) if v[0] == "oxygen_flow" else v for v in values]


def _measured(parameter: str, holder: Any, name: str) -> Value:
    quantity = holder.valueQuantity
    if quantity is None or quantity.value is None:
        absent = holder.dataAbsentReason
        why = f" (dataAbsentReason: {_codes_text(absent)})" if absent else ""
        raise ReadingError(f"{name} is required: a valueQuantity with a number{why}")
    if quantity.system is not None and quantity.system != UCUM:
        raise ReadingError(f"{name} unit system {quantity.system!r} is not UCUM ({UCUM})")
    unit = quantity.code
    allowed = UNITS[parameter]
    if unit not in allowed:
        raise ReadingError(
            f"{name} unit {unit or quantity.unit or 'none'!r} is not a unit of "
            f"{LABELS.get(parameter, parameter)} (UCUM {' or '.join(allowed)})"
        )
    value = float(quantity.value)
    if unit == "[degF]":  # °C = (°F − 32) × 5/9, as UCUM defines [degF]
        value, unit = float((Decimal(quantity.value) - 32) * 5 / 9), "Cel"
    _check_plausible(parameter, value, name)
    return parameter, value, unit


def _check_plausible(parameter: str, value: float, name: str) -> None:
    limits = DIASTOLIC_PLAUSIBLE if parameter == "diastolic_bp" else PLAUSIBLE.get(parameter)
    if limits is None:
        return
    lowest, highest, unit = limits
    if not lowest <= value <= highest:
        raise ReadingError(
            f"{name} {value:g} is not a possible {LABELS.get(parameter, parameter)} "
            f"(plausible range {lowest:g}–{highest:g} {unit})"
        )


def _pressures(observation: Any) -> list[Value]:
    found: list[Value] = []
    for index, component in enumerate(observation.component or []):
        kinds = _kinds(component.code) & {"systolic_bp", "diastolic_bp"}
        if kinds:
            found.append(_measured(kinds.pop(), component, f"component[{index}].value"))
    if not any(p == "systolic_bp" for p, _, _ in found):
        raise ReadingError("blood pressure panel has no systolic component (LOINC 8480-6)")
    return found


def _oxygen_components(observation: Any) -> list[Value]:
    return [
        _measured("oxygen_flow", component, f"component[{index}].value")
        for index, component in enumerate(observation.component or [])
        if "oxygen_flow" in _kinds(component.code)
    ]


def _oxygen_from_flow(value: Value) -> Value:
    flow = value[1]
    if not isinstance(flow, float) or flow < 0:
        raise ReadingError(f"inhaled oxygen flow {flow} L/min is not possible")
    return "on_oxygen", flow > 0, None


def _acvpu(observation: Any) -> str:
    concept = observation.valueCodeableConcept
    for coding in (concept.coding or []) if concept else []:
        if coding.system == SNOMED and coding.code in ACVPU_VALUES:
            return ACVPU_VALUES[coding.code]
    shown = _codes_text(concept) if concept else "none"
    raise ReadingError(
        f"valueCodeableConcept {shown} is not an ACVPU level (SNOMED {', '.join(ACVPU_VALUES)})"
    )


def _effective(observation: Any) -> dt.datetime:
    return _placed_in_time(observation.effectiveDateTime or observation.effectiveInstant)


def _placed_in_time(when: Any) -> dt.datetime:
    if not isinstance(when, dt.datetime):
        shown = f" ({when})" if when else ""
        raise ReadingError(
            f"effectiveDateTime is required as a date and time with its timezone{shown}: a "
            "reading must be placed in time"
        )
    return when


def _device(observation: Any) -> str | None:
    device = observation.device
    return (device.reference or device.display) if device else None


def _performer(observation: Any) -> str | None:
    first = (observation.performer or [None])[0]
    return (first.reference or first.display) if first else None


def _codes_text(concept: Any) -> str:
    codes = [f"{c.system or '?'}|{c.code}" for c in (concept.coding or [])]
    return ", ".join(codes) or repr(concept.text or "none")


# --- one known shape, read by plan ------------------------------------------------------------
#
# Every Observation of a shape R4B has accepted has the same codes, status, units and structure:
# only the values at `reading_shapes.VARIABLE` change. So what `readings_of` decides from those
# fixed parts is worked out once per shape (a `_Plan`), and each later Observation of the shape
# only has its changing values read and checked: the subject, the time, the numbers (plausible,
# [degF] converted as `_measured` does). A shape whose fixed parts would be refused, or that is
# rare (oxygen flow, SpO2 with a flow component, no code we read), gets no plan and is read by
# `readings_of` as before; `tests/unit/test_reading_shapes.py` holds every path to one result.

Number = tuple[str, tuple[str | int, ...], str, str]  # (parameter, path, UCUM unit, name)


@dataclass(frozen=True)
class _Plan:
    coded: tuple[Value, ...]  # values fixed by the shape (consciousness, air or oxygen)
    numbers: tuple[Number, ...]  # values read from the JSON at their paths
    time_key: str  # effectiveDateTime or effectiveInstant

    def items(self, resource: dict[str, Any], location: str) -> list[Item]:
        identifier = resource.get("id")
        try:
            subject = resource["subject"]["reference"]
            if not subject:
                raise ReadingError("subject is required: a reference to the person measured")
            text = resource[self.time_key]
            effective = _placed_in_time(reading_shapes.typed_time(text))
            values = list(self.coded)
            for parameter, path, unit, name in self.numbers:
                values.append(_planned_number(parameter, _at(resource, path), unit, name))
        except ReadingError as exc:
            return [Rejected(f"{location} (Observation/{identifier or '?'})", str(exc))]
        device, performer = _reference_text(resource.get("device")), None
        performers = resource.get("performer")
        if performers:
            performer = _reference_text(performers[0])
        return [
            Reading(subject, effective, parameter, value, unit, identifier, device, performer)
            for parameter, value, unit in values
        ]


def _at(node: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _planned_number(parameter: str, number: Any, unit: str, name: str) -> Value:
    """`_measured` for a number whose unit the plan has checked."""
    if unit == "[degF]":  # °C = (°F − 32) × 5/9, as UCUM defines [degF]
        value, unit = float((Decimal(str(number)) - 32) * 5 / 9), "Cel"
    else:
        value = float(number)  # the float of the Decimal R4B gives: the same number
    _check_plausible(parameter, value, name)
    return parameter, value, unit


def _reference_text(node: Any) -> str | None:
    if node is None:
        return None
    return node.get("reference") or node.get("display")


_UNPLANNED = object()
_plans: dict[str, _Plan | None] = {}


def _plan_of(shape: str, resource: dict[str, Any]) -> _Plan | None:
    plan = _plans.get(shape, _UNPLANNED)
    if plan is _UNPLANNED:
        if len(_plans) >= reading_shapes.MAX_SHAPES:
            _plans.clear()
        plan = _plans[shape] = _plan(resource)
    return plan  # type: ignore[return-value]


def _plan(resource: dict[str, Any]) -> _Plan | None:
    """The plan of `resource`'s shape, or None to read its shape by `readings_of`."""
    fields = reading_shapes.Fields(resource)
    kinds = _kinds(fields.code)
    subject = resource.get("subject")
    times = [k for k in ("effectiveDateTime", "effectiveInstant") if k in resource]
    if (
        len(kinds) != 1
        or fields.status not in READING_STATUSES
        or not isinstance(subject, dict)
        or "reference" not in subject
        or len(times) != 1
    ):
        return None
    kind = next(iter(kinds))
    try:
        if kind in (ROOM_AIR, ON_OXYGEN):
            return _Plan((("on_oxygen", kind == ON_OXYGEN, None),), (), times[0])
        if kind == "consciousness":
            return _Plan((("consciousness", _acvpu(fields), None),), (), times[0])
        if kind == "bp_panel":
            return _Plan((), _panel_numbers(resource), times[0])
        if kind == "oxygen_flow" or (kind == "spo2" and resource.get("component")):
            return None
        unit = _planned_unit(kind, resource, "value")
        return _Plan((), ((kind, ("valueQuantity", "value"), unit, "value"),), times[0])
    except ReadingError:
        return None


def _panel_numbers(resource: dict[str, Any]) -> tuple[Number, ...]:
    found = []
    for index, component in enumerate(resource.get("component") or []):
        kinds = _kinds(reading_shapes.Fields(component).code) & {"systolic_bp", "diastolic_bp"}
        if kinds:
            parameter, name = kinds.pop(), f"component[{index}].value"
            unit = _planned_unit(parameter, component, name)
            found.append((parameter, ("component", index, "valueQuantity", "value"), unit, name))
    if not any(parameter == "systolic_bp" for parameter, _, _, _ in found):
        raise ReadingError("no systolic component")
    return tuple(found)


def _planned_unit(parameter: str, holder: dict[str, Any], name: str) -> str:
    """The unit every Observation of the shape has, checked as `_measured` checks it."""
    quantity = holder.get("valueQuantity")
    if not isinstance(quantity, dict) or "value" not in quantity:
        raise ReadingError(f"{name} has no number")
    if quantity.get("system", UCUM) != UCUM or quantity.get("code") not in UNITS[parameter]:
        raise ReadingError(f"{name} unit is not one read")
    return str(quantity["code"])


# --- sets for NEWS2 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationSet:
    """One person's readings of one time, as NEWS2 reads them."""

    subject: str
    effective: dt.datetime
    observations: Observations
    observation_ids: tuple[str, ...]


def observation_sets(readings: Iterable[Reading]) -> tuple[list[ObservationSet], list[Rejected]]:
    """Readings of the same person and effective time gathered into sets; a set with two
    different values for one parameter is rejected (which one to score is not ours to guess)."""
    grouped: dict[tuple[str, dt.datetime], list[Reading]] = {}
    for reading in readings:
        grouped.setdefault((reading.subject, reading.effective), []).append(reading)
    sets, rejects = [], []
    for (subject, effective), members in grouped.items():
        values: dict[str, Any] = {}
        clash = []
        for reading in members:
            if reading.parameter not in LABELS:
                continue  # diastolic pressure is charted, not scored
            if values.get(reading.parameter, reading.value) != reading.value:
                clash.append(LABELS[reading.parameter])
            values[reading.parameter] = reading.value
        if clash:
            rejects.append(
                Rejected(
                    f"{subject} at {effective.isoformat()}",
                    f"two different values for {', '.join(sorted(set(clash)))} at one time",
                )
            )
            continue
        ids = tuple(sorted({r.observation_id for r in members if r.observation_id}))
        sets.append(ObservationSet(subject, effective, Observations(**values), ids))
    return sets, rejects
