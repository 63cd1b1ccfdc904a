"""Observations: blood pressure as one panel (LOINC 85354-9) with systolic (8480-6) and
diastolic (8462-4) components in mm[Hg], as the FHIR R4 vital-signs profile asks; pulse rate as
LOINC 8867-4 and HbA1c (IFCC, mmol/mol) as LOINC 59261-8, each with the recorded SNOMED CT code
beside the LOINC one; other measurements with their recorded code only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B.observation import Observation

from joinedup.interop.fhir_out.uk_core import (
    JOINEDUP_ID,
    LOINC,
    OBSERVATION_CATEGORY,
    SNOMED,
    UCUM,
    fhir_date,
    patient_reference,
    profile_meta,
)

SYSTOLIC, DIASTOLIC = "systolic-blood-pressure", "diastolic-blood-pressure"
#: Measurement codelists with the LOINC code they are sent with (code, display, UCUM unit).
LOINC_BY_CODELIST = {
    SYSTOLIC: ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    DIASTOLIC: ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "pulse-rate": ("8867-4", "Heart rate", "/min"),
    "hba1c": ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
LABORATORY = {"hba1c"}


def _coding(row: Mapping[str, Any], codelist: str | None) -> list[dict[str, str]]:
    codings = []
    if codelist in LOINC_BY_CODELIST:
        code, display, _ = LOINC_BY_CODELIST[codelist]
        codings.append({"system": LOINC, "code": code, "display": display})
    if row["code_system"] == "snomed":
        codings.append({"system": SNOMED, "code": row["code"]})
    elif row["code_system"] == "loinc" and codelist not in LOINC_BY_CODELIST:
        codings.append({"system": LOINC, "code": row["code"]})
    else:
        codings.append({"system": JOINEDUP_ID + row["code_system"], "code": row["code"]})
    return codings


def _quantity(value: float, unit: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity |= {"unit": unit, "system": UCUM, "code": unit}
    return quantity


def _observation(
    person_id: int, obs_id: str, day: dt.date, category: str | None, **body: Any
) -> Observation:
    if category:
        body["category"] = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}]
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": obs_id,
            **profile_meta("Observation"),
            "status": "final",
            "subject": patient_reference(person_id),
            "effectiveDateTime": fhir_date(day),
            **body,
        }
    )


def _category(codelist: str | None) -> str | None:
    if codelist in LABORATORY:
        return "laboratory"
    return "vital-signs" if codelist in LOINC_BY_CODELIST else None


def observations(
    person_id: int, rows: Sequence[Mapping[str, Any]], codelist_of: Mapping[tuple[str, str], str]
) -> list[Observation]:
    """Measurements (clinical_events rows with a value) as Observations; a systolic and a
    diastolic reading of the same day become one blood-pressure panel with two components.

    `codelist_of` maps (code_system, code) → the measurement codelist it belongs to.
    """
    made: list[Observation] = []
    pressures: dict[dt.date, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("value") is None:
            continue
        codelist = codelist_of.get((row["code_system"], row["code"]))
        if codelist in (SYSTOLIC, DIASTOLIC):
            pressures.setdefault(row["event_date"], {}).setdefault(codelist, row)
            continue
        unit = LOINC_BY_CODELIST[codelist][2] if codelist in LOINC_BY_CODELIST else row.get("unit")
        made.append(
            _observation(
                person_id,
                f"event-{row['event_id']}",
                row["event_date"],
                _category(codelist),
                code={"coding": _coding(row, codelist)},
                valueQuantity=_quantity(float(row["value"]), unit),
            )
        )
    for day, pair in sorted(pressures.items()):
        components = [
            {"code": {"coding": _coding(r, name)}, "valueQuantity": _quantity(r["value"], "mm[Hg]")}
            for name, r in sorted(pair.items(), reverse=True)  # systolic first
        ]
        first = min(r["event_id"] for r in pair.values())
        made.append(
            _observation(
                person_id,
                f"bp-{first}",
                day,
                "vital-signs",
                code={"coding": [{"system": LOINC, "code": BP_PANEL[0], "display": BP_PANEL[1]}]},
                component=components,
            )
        )
    return made
