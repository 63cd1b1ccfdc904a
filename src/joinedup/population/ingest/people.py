"""What every reader derives about people the same way: the ethnic group of an NHS ethnic
category, the deprivation decile of an LSOA, and the practice and registration a source implies
(FHIR and HES keep one rule)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
from pathlib import Path

from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.records import SourceRow

NHS_ETHNIC_GROUPS = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
    "Z": "Not stated",
}


def imd_decile_of(lsoa: str) -> int | None:
    """The IMD 2019 decile of an LSOA (2011) when the area's table has it, else None."""
    return _imd_deciles().get(lsoa)


@functools.cache
def _imd_deciles() -> dict[str, int]:
    """IMD 2019 decile of each LSOA, from the table the generator uses."""
    path = Path(__file__).resolve().parents[1] / "data" / "lsoa_deciles.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {r["lsoa_code"]: int(r["imd_decile"]) for r in csv.DictReader(handle)}


def practice_row(code: str, name: str, *, location: str, source_id: str) -> SourceRow:
    """An organisation stored as a practice because a record uses it as one (someone's
    registered practice, a GP encounter's provider); the source says nothing of its parent or
    deprivation, so those stay empty."""
    return SourceRow(
        "organisations",
        {
            "org_code": code,
            "name": name,
            "org_type": "practice",
            "parent_code": None,
            "imd_decile": None,
            "opened": None,
        },
        location,
        source_id,
    )


def registration_row(
    person: PersonRef,
    practice_code: str,
    *,
    first_seen: dt.date | None,
    birth: dt.date,
    death: dt.date | None,
    location: str,
    source_id: str,
) -> SourceRow:
    """The registration a source implies, by the one rule every reader keeps: with
    `practice_code` from the first date the source shows the person there (else from birth),
    never before birth, and ending at death (a start after death is moved back to it)."""
    start = max(first_seen or birth, birth)
    return SourceRow(
        "registrations",
        {
            "person_id": person,
            "practice_code": practice_code,
            "start_date": min(start, death) if death else start,
            "end_date": death,
        },
        location,
        source_id,
    )
