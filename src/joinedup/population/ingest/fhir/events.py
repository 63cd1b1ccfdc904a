"""Condition, Procedure, CarePlan and Observation resources as clinical_events rows (each
Observation component its own event; LOINC measurements followed by their SNOMED CT
equivalent)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from joinedup.population.ingest.fhir.datatypes import (
    FieldError,
    codings,
    first_date,
    quantity,
    version_of,
)
from joinedup.population.ingest.fhir.links import Links
from joinedup.population.ingest.fhir.loinc import snomed_equivalent
from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.records import ReaderItem, SourceRow, Unsupported

EVENT_SYSTEMS = ("snomed", "icd10", "read2", "ctv3", "loinc")  # preference order
EVENT_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,20}$")


def map_condition(links: Links, resource: dict[str, Any], label: str, location: str):
    status = resource.get("verificationStatus")
    for coding in codings(status, "verificationStatus"):
        if coding.get("code") in ("entered-in-error", "refuted"):
            yield Unsupported("condition status", location, str(coding.get("code")))
            return
    when = first_date(resource, "onsetDateTime", "onsetPeriod.start", "recordedDate")
    yield from event(links, resource, label, location, "code", when, None, None)


def map_procedure(links: Links, resource: dict[str, Any], label: str, location: str):
    if resource.get("status") in ("entered-in-error", "not-done"):
        yield Unsupported("procedure status", location, str(resource.get("status")))
        return
    when = first_date(resource, "performedDateTime", "performedPeriod.start")
    yield from event(links, resource, label, location, "code", when, None, None)


def map_careplan(links: Links, resource: dict[str, Any], label: str, location: str):
    when = first_date(resource, "period.start", "created")
    person = links.subject(resource)
    for index, category in enumerate(resource.get("category") or [], start=1):
        found = links.code(category, "category", EVENT_SYSTEMS, location)
        if isinstance(found, Unsupported):
            yield found
            continue
        yield event_row(
            person, found, when, None, None, resource, location, f"{label}#category-{index}"
        )


def map_observation(links: Links, resource: dict[str, Any], label: str, location: str):
    """The Observation's events as read, each LOINC measurement followed by its SNOMED CT
    equivalent (`data/loinc_to_snomed.csv`), so SNOMED codelists find it."""
    for item in observation_rows(links, resource, label, location):
        yield item
        if isinstance(item, SourceRow) and item.values["code_system"] == "loinc":
            mapped = snomed_equivalent(item)
            if mapped is not None:
                yield mapped


def observation_rows(links: Links, resource: dict[str, Any], label: str, location: str):
    if resource.get("status") in ("entered-in-error", "cancelled"):
        yield Unsupported("observation status", location, str(resource.get("status")))
        return
    when = first_date(resource, "effectiveDateTime", "effectivePeriod.start", "issued")
    components = resource.get("component")
    if isinstance(components, list) and components:
        person = links.subject(resource)
        for index, component in enumerate(components, start=1):
            if not isinstance(component, dict):
                raise FieldError(f"component {index} is not an object")
            found = links.code(
                component.get("code"), f"component[{index}].code", EVENT_SYSTEMS, location
            )
            if isinstance(found, Unsupported):
                yield found
                continue
            value, unit = quantity(component, f"component[{index}].valueQuantity")
            yield event_row(
                person,
                found,
                when,
                value,
                unit,
                resource,
                location,
                f"{label}#component-{index}",
            )
        return
    value, unit = quantity(resource, "valueQuantity")
    yield from event(links, resource, label, location, "code", when, value, unit)


def event(
    links: Links,
    resource: dict[str, Any],
    label: str,
    location: str,
    field_name: str,
    when: dt.date,
    value: float | None,
    unit: str | None,
) -> Iterator[ReaderItem]:
    """The clinical event of the code in `field_name` (Unsupported when no coding is stored)."""
    person = links.subject(resource)
    found = links.code(resource.get(field_name), field_name, EVENT_SYSTEMS, location)
    if isinstance(found, Unsupported):
        yield found
        return
    yield event_row(person, found, when, value, unit, resource, location, label)


def event_row(
    person: PersonRef,
    found: tuple[str, str, str],
    when: dt.date,
    value: float | None,
    unit: str | None,
    resource: dict[str, Any],
    location: str,
    source_id: str,
) -> SourceRow:
    """A clinical_events row for a (system, code, display) found, ICD-10 in its stored form."""
    system, code, _display = found
    if system == "icd10":
        code = code.replace(".", "").upper()
    if not EVENT_CODE.match(code):
        raise FieldError(f"code {code!r} is not a {system} code")
    return SourceRow(
        "clinical_events",
        {
            "event_id": None,
            "person_id": person,
            "event_date": when,
            "code_system": system,
            "code": code,
            "value": value,
            "unit": unit,
            "_version": version_of(resource),
        },
        location,
        source_id,
    )
