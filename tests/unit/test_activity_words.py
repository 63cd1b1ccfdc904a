"""Codes of recorded activity are shown by name (issue 13: the timeline read "specialty 110" and
"Face to face with a other"). The treatment function names are checked against an independent
copy of the national list: the HES TRETSPEF values published with NHS Digital's artificial data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from joinedup.population.contracts import CONTRACTS
from joinedup.population.synthetic.outpatients import SPECIALTIES
from joinedup.terminology.activity_words import (
    STAFF_GROUP_WORDS,
    staff_group_words,
    treatment_function_name,
    treatment_functions,
)


def _tretspef(shared_dir: Path) -> dict[str, str]:
    """HES TRETSPEF code -> name, dated notes left off ("(From 1 April 2004)")."""
    path = shared_dir / "data" / "nhs_artificial_hes_sample" / "metadata" / "hes_apc_metadata.json"
    [field] = [f for f in json.loads(path.read_text()) if f.get("Field") == "TRETSPEF"]
    names = {}
    for line in field["Values"].splitlines():
        if match := re.match(r"(\d{3}) =\s+(.*?)\s*(\(From [^)]*\))?\s*$", line):
            names[match[1]] = match[2]
    return names


def test_every_treatment_function_name_is_the_national_one(shared_dir: Path) -> None:
    national = _tretspef(shared_dir)
    ours = treatment_functions()
    assert len(ours) >= 20
    assert {code: national.get(code) for code in ours} == ours


def test_every_code_the_area_records_has_a_name() -> None:
    assert set(SPECIALTIES) <= set(treatment_functions())
    assert treatment_function_name("110") == "Trauma and Orthopaedic Service"
    assert treatment_function_name("999") == "treatment function 999"  # unknown: shown, not hidden


def test_every_staff_group_reads_as_a_phrase() -> None:
    contract = CONTRACTS["gp_appointments"]
    [role] = [c for c in contract.columns if c.name == "clinician_role"]
    assert set(role.allowed or ()) == set(STAFF_GROUP_WORDS)
    assert staff_group_words("other") == "another member of the practice team"
    assert staff_group_words("nurse") == "a practice nurse"
