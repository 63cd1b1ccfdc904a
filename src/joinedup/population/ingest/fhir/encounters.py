"""Encounter resources by class: GP and outpatient appointments, community contacts, A&E
attendances, hospital spells with their ICD-10 reasons as spell diagnoses."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from joinedup.population.ingest.fhir.datatypes import (
    FieldError,
    codings,
    read_date,
    version_of,
)
from joinedup.population.ingest.fhir.links import Links
from joinedup.population.ingest.identity import KeyRef
from joinedup.population.ingest.records import SourceRow, Unsupported

GP_CLASSES = {"AMB", "VR"}
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "SS", "PRENC"}
TELEPHONE_TYPES = {"185317003"}  # Telephone encounter
VIDEO_TYPES = {"448337001"}  # Telemedicine consultation with patient
HOME_TYPES = {"439708006", "210098006"}  # Home visit; domiciliary evaluation


def map_encounter(links: Links, resource: dict[str, Any], label: str, location: str):
    status = resource.get("status")
    if status in ("cancelled", "entered-in-error", "planned"):
        yield Unsupported("encounter status", location, str(status))
        return
    klass = resource.get("class")
    if not isinstance(klass, dict) or not isinstance(klass.get("code"), str):
        raise FieldError("class is not a Coding with a code")
    code = klass["code"]
    person = links.subject(resource)
    raw_period = resource.get("period")
    period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
    start = read_date(period.get("start"), "period.start")
    end = read_date(period["end"], "period.end") if period.get("end") else start
    if end < start:
        raise FieldError(f"period.end {period['end']!r} is before period.start")
    provider = links.ref(resource.get("serviceProvider"), "serviceProvider", "Organization")
    provider_code = links.org_code(provider) if provider else None
    types = {c.get("code") for t in resource.get("type") or [] for c in codings(t, "type")}
    base = {"person_id": person, "_version": version_of(resource)}
    if code in GP_CLASSES or code == "AMB":
        specialty = treatment_function(resource)
        if specialty:
            yield SourceRow(
                "outpatient_appointments",
                {
                    **base,
                    "provider_code": provider_code or "UNKNOWN",
                    "appointment_date": start,
                    "specialty_code": specialty,
                    "first_attendance": True,
                    "attended": status != "noshow",
                    "cost": None,
                },
                location,
                label,
            )
            return
        if provider is None:
            raise FieldError("has no serviceProvider (the practice)")
        links.practices.add(provider)
        links.trace_gp(person, provider, start)
        mode = "face_to_face"
        if code == "VR" or types & VIDEO_TYPES:
            mode = "video"
        elif types & TELEPHONE_TYPES:
            mode = "telephone"
        elif types & HOME_TYPES:
            mode = "home_visit"
        clinician = links.clinician(resource)
        yield SourceRow(
            "gp_appointments",
            {
                **base,
                "practice_code": links.org_code(provider),
                "appointment_date": start,
                "clinician_id": clinician[0],
                "clinician_role": clinician[1],
                "mode": mode,
                "attended": True,
                "cost": None,
            },
            location,
            label,
        )
    elif code == "HH":
        yield SourceRow(
            "community_contacts",
            {
                **base,
                "contact_date": start,
                "service": "district_nursing",
                "setting": "home",
                "duration_minutes": minutes(period, start),
                "cost": None,
            },
            location,
            label,
        )
    elif code == "EMER":
        yield SourceRow(
            "ae_attendances",
            {
                **base,
                "provider_code": provider_code or "UNKNOWN",
                "arrival_date": start,
                "disposal": disposal(resource),
                "cost": None,
            },
            location,
            label,
        )
    elif code in INPATIENT_CLASSES:
        yield SourceRow(
            "hospital_spells",
            {
                **base,
                "provider_code": provider_code or "UNKNOWN",
                "admission_date": start,
                "discharge_date": end,
                "admission_method": admission_method(resource),
                "length_of_stay": (end - start).days,
                "hrg_code": None,
                "cost": None,
            },
            location,
            label,
        )
        position = 0
        for reason in resource.get("reasonCode") or []:
            found = links.code(reason, "reasonCode", ("icd10",), location)
            if isinstance(found, Unsupported):
                continue
            position += 1
            yield SourceRow(
                "spell_diagnoses",
                {
                    "spell_id": KeyRef("hospital_spells", label),
                    "person_id": person,
                    "position": position,
                    "icd10_code": found[1].replace(".", "").upper(),
                    "_version": version_of(resource),
                },
                location,
                f"{label}#diagnosis-{position}",
            )
    else:
        yield Unsupported("encounter class", location, code)


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
