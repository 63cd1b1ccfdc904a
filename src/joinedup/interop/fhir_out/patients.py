"""Patient: the person's summary as a UKCore-Patient."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.patient import Patient

from joinedup.interop.fhir_out.uk_core import (
    NHS_NUMBER_SYSTEM,
    NOT_TRACED,
    ODS_SYSTEM,
    VERIFICATION_EXTENSION,
    VERIFICATION_SYSTEM,
    fhir_date,
    profile_meta,
)

SEX = {"F": "female", "M": "male"}


def patient(person: Any) -> Patient:
    """The person's summary: NHS number, birth date, sex, death, registered practice."""
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(person.person_id),
        **profile_meta("Patient"),
        "identifier": [
            {
                "system": NHS_NUMBER_SYSTEM,
                "value": person.nhs_number,
                "extension": [
                    {
                        "url": VERIFICATION_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": VERIFICATION_SYSTEM,
                                    "code": NOT_TRACED[0],
                                    "display": NOT_TRACED[1],
                                }
                            ]
                        },
                    }
                ],
            }
        ]
        if person.nhs_number
        else [],
        "birthDate": fhir_date(person.date_of_birth),
        "gender": SEX.get(person.sex, "unknown"),
    }
    if person.date_of_death is not None:
        body["deceasedDateTime"] = fhir_date(person.date_of_death)
    if person.practice_code:
        body["generalPractitioner"] = [
            {
                "identifier": {"system": ODS_SYSTEM, "value": person.practice_code},
                "display": person.practice_name or person.practice_code,
            }
        ]
    return Patient.model_validate(body)
