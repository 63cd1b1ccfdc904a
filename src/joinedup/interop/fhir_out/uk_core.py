"""The UK Core R4 conventions every builder shares: profile URLs, the NHS number, ODS and
code systems, joinedup's own identifier base, references to the patient and FHIR dates.

The NHS number uses the identifier system ``https://fhir.nhs.uk/Id/nhs-number`` with the UK
Core verification-status extension, code 02 "Number present but not traced": joinedup does not
trace numbers against the Personal Demographics Service, so it never claims a verified number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
VERIFICATION_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
NOT_TRACED = ("02", "Number present but not traced")
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: joinedup's own identifiers (a care plan, an action, an appointment) live under this base.
JOINEDUP_ID = "https://joinedup.nhs.example/Id/"


def profile_meta(profile: str | None) -> dict[str, Any]:
    """The resource's ``meta`` claiming a UK Core profile (none for Goal, which has none)."""
    return {"meta": {"profile": [UK_CORE + profile]}} if profile else {}


def patient_reference(person_id: int) -> dict[str, str]:
    """A reference to the person's Patient resource (its id is the person_id)."""
    return {"reference": f"Patient/{person_id}"}


def fhir_date(value: dt.date | str | None) -> str | None:
    """A FHIR ``date`` (YYYY-MM-DD) from a date, or from a date or datetime as text."""
    return None if value is None else str(value)[:10]
