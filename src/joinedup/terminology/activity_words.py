"""Codes of recorded activity as people read them: treatment function codes and staff groups.

Treatment function codes (outpatient specialty) are named from `data/treatment_functions.csv`
(NHS Data Dictionary, "Treatment Function Code"; see `data/SOURCE.md`). Staff groups are the
`clinician_role` values of the `gp_appointments` contract (population/contracts.py).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

TREATMENT_FUNCTIONS_CSV = Path(__file__).resolve().parent / "data" / "treatment_functions.csv"

#: Who a GP-practice appointment was with, by `clinician_role`, after "with".
STAFF_GROUP_WORDS = {
    "gp": "a GP",
    "nurse": "a practice nurse",
    "pharmacist": "a pharmacist",
    "healthcare_assistant": "a healthcare assistant",
    "paramedic": "a paramedic",
    "other": "another member of the practice team",
}


@cache
def treatment_functions() -> dict[str, str]:
    """Treatment function code -> its name ("110" -> "Trauma and Orthopaedic Service")."""
    with TREATMENT_FUNCTIONS_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def treatment_function_name(code: str | None) -> str:
    """The name of a treatment function code; an unknown code is shown as a code, never hidden."""
    if not code:
        return "an unrecorded specialty"
    return treatment_functions().get(str(code), f"treatment function {code}")


def staff_group_words(role: str | None) -> str:
    """Who an appointment was with, as a phrase ("a practice nurse"); unknown roles by name."""
    if not role:
        return "a member of the practice team"
    return STAFF_GROUP_WORDS.get(role, f"a {role.replace('_', ' ')}")
