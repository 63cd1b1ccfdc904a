"""Encounter resources by class: GP and outpatient appointments, community contacts, A&E
attendances, hospital spells with their ICD-10 reasons as spell diagnoses."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from joinedup.population.ingest.fhir.datatypes import (
    FieldError,
    codings,
    read_date,
    version_of,
)
from joinedup.population.ingest.fhir.links import Links
from joinedup.population.ingest.identity import KeyRef, PersonRef
from joinedup.population.ingest.records import SourceRow, Unsupported

GP_CLASSES = {"AMB", "VR"}
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "SS", "PRENC"}
TELEPHONE_TYPES = {"185317003"}  # Telephone encounter
VIDEO_TYPES = {"448337001"}  # Telemedicine consultation with patient
HOME_TYPES = {"439708006", "210098006"}  # Home visit; domiciliary evaluation


@dataclass(frozen=True)
class Visit:
    """What every class of encounter needs, read (and checked) once."""

    resource: dict[str, Any]
    label: str
    location: str
    code: str  # the encounter class
    person: PersonRef
    period: dict[str, Any]
    start: dt.date
    end: dt.date
    provider: str | None  # "Organization/id"
    types: frozenset[Any]

    def row(self, table: str, values: dict[str, Any], source_id: str | None = None) -> SourceRow:
        base = {"person_id": self.person, "_version": version_of(self.resource)}
        return SourceRow(table, {**base, **values}, self.location, source_id or self.label)


def map_appointment(links: Links, resource: dict[str, Any], label: str, location: str):
    """An Appointment is remembered for its booking day (``created``), which the GP encounter
    naming it in ``Encounter.appointment`` takes as `booked_date`; it makes no row itself."""
    if resource.get("created"):
        links.booked[label] = read_date(resource["created"], "created")
    return iter(())


def map_encounter(links: Links, resource: dict[str, Any], label: str, location: str):
    status = resource.get("status")
    if status in ("cancelled", "entered-in-error", "planned"):
        yield Unsupported("encounter status", location, str(status))
        return
    visit = read_visit(links, resource, label, location)
    if visit.code in GP_CLASSES:
        yield from gp_or_outpatient(links, visit, attended=status != "noshow")
    elif visit.code == "HH":
        yield community_contact(visit)
    elif visit.code == "EMER":
        yield ae_attendance(links, visit)
    elif visit.code in INPATIENT_CLASSES:
        yield from hospital_spell(links, visit)
    else:
        yield Unsupported("encounter class", location, visit.code)


def read_visit(links: Links, resource: dict[str, Any], label: str, location: str) -> Visit:
    klass = resource.get("class")
    if not isinstance(klass, dict) or not isinstance(klass.get("code"), str):
        raise FieldError("class is not a Coding with a code")
    person = links.subject(resource)
    raw_period = resource.get("period")
    period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
    start = read_date(period.get("start"), "period.start")
    end = read_date(period["end"], "period.end") if period.get("end") else start
    if end < start:
        raise FieldError(f"period.end {period['end']!r} is before period.start")
    provider = links.ref(resource.get("serviceProvider"), "serviceProvider", "Organization")
    types = {c.get("code") for t in resource.get("type") or [] for c in codings(t, "type")}
    code = klass["code"]
    return Visit(
        resource, label, location, code, person, period, start, end, provider, frozenset(types)
    )


def provider_code(links: Links, visit: Visit) -> str:
    return links.org_code(visit.provider) if visit.provider else "UNKNOWN"


def gp_or_outpatient(links: Links, visit: Visit, *, attended: bool) -> Iterator[SourceRow]:
    """An outpatient appointment when it names a treatment function, else a GP appointment."""
    specialty = treatment_function(visit.resource)
    if specialty:
        yield visit.row(
            "outpatient_appointments",
            {
                "provider_code": provider_code(links, visit),
                "appointment_date": visit.start,
                "specialty_code": specialty,
                "first_attendance": True,
                "attended": attended,
                "cost": None,
            },
        )
        return
    if visit.provider is None:
        raise FieldError("has no serviceProvider (the practice)")
    links.practices.add(visit.provider)
    links.trace_gp(visit.person, visit.provider, visit.start)
    clinician = links.clinician(visit.resource)
    yield visit.row(
        "gp_appointments",
        {
            "practice_code": links.org_code(visit.provider),
            "appointment_date": visit.start,
            "clinician_id": clinician[0],
            "clinician_role": clinician[1],
            "mode": gp_mode(visit),
            "attended": attended,
            "cost": None,
            "booked_date": links.booked_date(visit.resource),
        },
    )


def gp_mode(visit: Visit) -> str:
    if visit.code == "VR" or visit.types & VIDEO_TYPES:
        return "video"
    if visit.types & TELEPHONE_TYPES:
        return "telephone"
    if visit.types & HOME_TYPES:
        return "home_visit"
    return "face_to_face"


def community_contact(visit: Visit) -> SourceRow:
    return visit.row(
        "community_contacts",
        {
            "contact_date": visit.start,
            "service": "district_nursing",
            "setting": "home",
            "duration_minutes": minutes(visit.period, visit.start),
            "cost": None,
        },
    )


def ae_attendance(links: Links, visit: Visit) -> SourceRow:
    return visit.row(
        "ae_attendances",
        {
            "provider_code": provider_code(links, visit),
            "arrival_date": visit.start,
            "disposal": disposal(visit.resource),
            "cost": None,
        },
    )


def hospital_spell(links: Links, visit: Visit) -> Iterator[SourceRow]:
    """The spell, then each ICD-10 reason as a spell diagnosis in the order given."""
    yield visit.row(
        "hospital_spells",
        {
            "provider_code": provider_code(links, visit),
            "admission_date": visit.start,
            "discharge_date": visit.end,
            "admission_method": admission_method(visit.resource),
            "length_of_stay": (visit.end - visit.start).days,
            "hrg_code": None,
            "cost": None,
        },
    )
    position = 0
    for reason in visit.resource.get("reasonCode") or []:
        found = links.code(reason, "reasonCode", ("icd10",), visit.location)
        if isinstance(found, Unsupported):
            continue
        position += 1
        yield SourceRow(
            "spell_diagnoses",
            {
                "spell_id": KeyRef("hospital_spells", visit.label),
                "person_id": visit.person,
                "position": position,
                "icd10_code": found[1].replace(".", "").upper(),
                "_version": version_of(visit.resource),
            },
            visit.location,
            f"{visit.label}#diagnosis-{position}",
        )


def minutes(period: dict[str, Any], start: dt.date) -> int:
    try:
        begin = dt.datetime.fromisoformat(str(period.get("start")))
        end = dt.datetime.fromisoformat(str(period.get("end")))
    except ValueError:
        return 0
    return max(0, int((end - begin).total_seconds() // 60))


def disposal(resource: dict[str, Any]) -> str:
    hospitalization = resource.get("hospitalization")
    codes: set[Any] = set()
    if isinstance(hospitalization, dict):
        codes = {
            c.get("code")
            for c in codings(hospitalization.get("dischargeDisposition"), "dischargeDisposition")
        }
    if "exp" in codes:
        return "died"
    if codes & {"hosp", "other-hcf", "snf", "rehab", "long"}:
        return "referred"
    if "aadvice" in codes:
        return "left"
    return "discharged"


def admission_method(resource: dict[str, Any]) -> str:
    hospitalization = resource.get("hospitalization")
    if isinstance(hospitalization, dict):
        sources = {
            c.get("code") for c in codings(hospitalization.get("admitSource"), "admitSource")
        }
        if "emd" in sources:
            return "emergency"
    priority = {c.get("code") for c in codings(resource.get("priority"), "priority")}
    if priority & {"EM", "UR", "S"}:
        return "emergency"
    if priority & {"EL", "R"}:
        return "elective"
    return "other"


def treatment_function(resource: dict[str, Any]) -> str | None:
    for coding in codings(resource.get("serviceType"), "serviceType"):
        code = coding.get("code")
        if isinstance(code, str) and re.fullmatch(r"\d{3}", code):
            return code
    return None
