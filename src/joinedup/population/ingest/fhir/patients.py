"""Patient, Organization and Practitioner resources: patients rows, the organisations and
clinician roles encounters refer to, and (once every file is read) the registration and
practice each patient implies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from joinedup.population.ingest.fhir.contact import contact_fields
from joinedup.population.ingest.fhir.datatypes import (
    FieldError,
    codings,
    read_date,
    reference_id,
    short_hash,
    version_of,
)
from joinedup.population.ingest.fhir.links import Links, PersonTrace
from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.people import (
    NHS_ETHNIC_GROUPS,
    imd_decile_of,
    practice_row,
    registration_row,
)
from joinedup.population.ingest.records import ReaderItem, SourceRow, Unsupported
from joinedup.population.nhs_numbers import is_valid as nhs_number_is_valid

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
)
LSOA_EXTENSIONS = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-LSOA",
    "http://joinedup.nhs.uk/fhir/StructureDefinition/lsoa",
)
UK_ETHNICITY = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
US_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
# US Core OMB race categories (CDC Race & Ethnicity code system) → ONS 2021 groups.
OMB_RACE_GROUPS = {
    "2106-3": "White",
    "2054-5": "Black",
    "2028-9": "Asian",
    "1002-5": "Other",
    "2076-8": "Other",
    "2131-1": "Other",
}


def map_organization(links: Links, resource: dict[str, Any], label: str, location: str):
    code = None
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in ODS_SYSTEMS:
            value = str(identifier.get("value") or "").strip().upper()
            if re.fullmatch(r"[A-Z0-9]{3,12}", value):
                code = value
    name = resource.get("name")
    if name is not None and not isinstance(name, str):
        raise FieldError(f"name {name!r} is not text")
    links.organisations[label] = (code or "X" + short_hash(label, 11), name or code or label)
    return iter(())


def map_practitioner(links: Links, resource: dict[str, Any], label: str, location: str):
    text = json.dumps(resource.get("qualification") or []).lower()
    role = "gp"
    if "nurse" in text:
        role = "nurse"
    elif "pharmac" in text:
        role = "pharmacist"
    elif "paramedic" in text:
        role = "paramedic"
    links.roles[label] = role
    return iter(())


def map_patient(links: Links, resource: dict[str, Any], label: str, location: str):
    nhs = None
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            nhs = str(identifier.get("value") or "").replace(" ", "")
    if nhs is not None and not nhs_number_is_valid(nhs):
        raise FieldError("identifier NHS number is not valid (ten digits, mod-11 check digit)")
    birth = read_date(resource.get("birthDate"), "birthDate")
    sex = {"female": "F", "male": "M"}.get(resource.get("gender"))  # type: ignore[arg-type]
    if sex is None:
        raise FieldError(
            f"gender {resource.get('gender')!r} cannot be stored: the patients table holds "
            "female (F) or male (M)"
        )
    death = None
    if resource.get("deceasedDateTime") is not None:
        death = read_date(resource["deceasedDateTime"], "deceasedDateTime")
    lsoa = lsoa_of(resource)
    trace = links.people.setdefault(label, PersonTrace())
    trace.birth, trace.death, trace.nhs_number, trace.location = birth, death, nhs, location
    practitioners = resource.get("generalPractitioner") or []
    for reference in practitioners if isinstance(practitioners, list) else []:
        ref = reference_id(reference, "generalPractitioner")
        if ref and "Organization/" in links.aliases.get(ref, ref):
            trace.practice = links.ref(reference, "generalPractitioner", "Organization")
    yield SourceRow(
        "patients",
        {
            "person_id": PersonRef(nhs_number=nhs, source_id=label),
            "nhs_number": nhs,
            "date_of_birth": birth,
            "sex": sex,
            "ethnicity": ethnic_group(resource),
            "lsoa_code": lsoa,
            "imd_decile": imd_decile_of(lsoa) if lsoa else None,
            "care_home": False,
            "housebound": False,
            "carer": False,
            "date_of_death": death,
            **contact_fields(resource),
            "_version": version_of(resource),
        },
        location,
        label,
    )


def implied_registrations(links: Links) -> Iterator[ReaderItem]:
    """Registrations and practices, once every file has been read."""
    for label, trace in links.people.items():
        if trace.birth is None:
            continue  # encounters of someone with no Patient resource: rejected at merge
        practice = trace.practice or trace.gp_practice
        if practice is None:
            yield Unsupported(
                "registration", trace.location, "no registered practice or GP encounter"
            )
            continue
        links.practices.add(practice)
        yield registration_row(
            PersonRef(nhs_number=trace.nhs_number, source_id=label),
            links.org_code(practice),
            first_seen=trace.first_at.get(practice),
            birth=trace.birth,
            death=trace.death,
            location=trace.location,
            source_id=f"{label}#registration",
        )
    for reference in sorted(links.practices):
        code, name = links.organisations.get(reference, (links.org_code(reference), reference))
        yield practice_row(code, name, location=reference, source_id=reference)


def ethnic_group(resource: dict[str, Any]) -> str:
    for extension in resource.get("extension") or []:
        if not isinstance(extension, dict):
            continue
        if extension.get("url") == UK_ETHNICITY:
            for coding in codings(extension.get("valueCodeableConcept"), "ethnicCategory"):
                group = NHS_ETHNIC_GROUPS.get(str(coding.get("code") or "")[:1])
                if group:
                    return group
        if extension.get("url") == US_RACE:
            for inner in extension.get("extension") or []:
                race: Any = inner.get("valueCoding") if isinstance(inner, dict) else None
                if isinstance(race, dict) and race.get("code") in OMB_RACE_GROUPS:
                    return OMB_RACE_GROUPS[race["code"]]
    return "Not stated"


def lsoa_of(resource: dict[str, Any]) -> str | None:
    for address in resource.get("address") or []:
        if not isinstance(address, dict):
            continue
        for extension in address.get("extension") or []:
            if isinstance(extension, dict) and extension.get("url") in LSOA_EXTENSIONS:
                value = extension.get("valueString") or (
                    (extension.get("valueCodeableConcept") or {}).get("coding") or [{}]
                )[0].get("code")
                if isinstance(value, str) and re.fullmatch(r"E0[0-9]{7}", value):
                    return value
    return None
