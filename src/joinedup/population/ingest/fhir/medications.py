"""MedicationRequest and MedicationStatement resources as medications rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from joinedup.population.ingest.fhir.datatypes import first_date, version_of
from joinedup.population.ingest.fhir.links import Links
from joinedup.population.ingest.records import SourceRow, Unsupported

MEDICATION_SYSTEMS = ("dmd", "snomed", "rxnorm")


def map_medicationrequest(links: Links, resource: dict[str, Any], label: str, location: str):
    if resource.get("status") == "entered-in-error":
        yield Unsupported("medication status", location, "entered-in-error")
        return
    when = first_date(resource, "authoredOn", "dispenseRequest.validityPeriod")
    yield from medication(links, resource, label, location, when)


def map_medicationstatement(links: Links, resource: dict[str, Any], label: str, location: str):
    if resource.get("status") == "entered-in-error":
        yield Unsupported("medication status", location, "entered-in-error")
        return
    when = first_date(resource, "effectiveDateTime", "effectivePeriod.start", "dateAsserted")
    yield from medication(links, resource, label, location, when)


def medication(links: Links, resource: dict[str, Any], label: str, location: str, when: dt.date):
    person = links.subject(resource)
    if resource.get("medicationCodeableConcept") is None:
        yield Unsupported("medication", location, "medicationReference is not resolved")
        return
    concept = resource["medicationCodeableConcept"]
    found = links.code(concept, "medicationCodeableConcept", MEDICATION_SYSTEMS, location)
    if isinstance(found, Unsupported):
        yield found
        return
    system, code, display = found
    name = display or (concept.get("text") if isinstance(concept.get("text"), str) else "")
    yield SourceRow(
        "medications",
        {
            "issue_id": None,
            "person_id": person,
            "issue_date": when,
            "code_system": system,
            "code": code,
            "name": name or code,
            "bnf_chapter": None,
            "cost": 0.0,  # medicines are priced per product: no reference cost per issue
            "_version": version_of(resource),
        },
        location,
        label,
    )
