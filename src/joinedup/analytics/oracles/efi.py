"""Oracle for the electronic Frailty Index: plain Python, independent of the Ibis pipeline.

Shares only the data (deficit → codelist map and the codelists). Rules: see
joinedup.analytics.scores.efi.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from joinedup.terminology.codelists import load_codelist

DEFICITS_CSV = Path(__file__).resolve().parents[1] / "scores" / "data" / "efi" / "deficits.csv"


def deficit_codes() -> dict[int, set[tuple[str, str]]]:
    """Deficit number → {(code_system, code)} for the 35 coded deficits."""
    result: dict[int, set[tuple[str, str]]] = {}
    with DEFICITS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["codelist_id"]:
                continue
            codelist = load_codelist(row["codelist_id"])
            result[int(row["deficit_no"])] = {
                (system, code) for system, codes in codelist.codes.items() for code in codes
            }
    return result


@functools.cache
def _lookup() -> dict[tuple[str, str], list[int]]:
    lookup: dict[tuple[str, str], list[int]] = {}
    for number, codes in deficit_codes().items():
        for key in codes:
            lookup.setdefault(key, []).append(number)
    return lookup


def efi_category(count: int) -> str:
    if count <= 4:
        return "fit"
    if count <= 8:
        return "mild"
    if count <= 12:
        return "moderate"
    return "severe"


def efi(
    events: Iterable[Mapping],
    medications: Iterable[Mapping] | None,
    index_date: dt.date,
) -> dict[int, dict]:
    """person_id → {deficits, efi, category, present (set of deficit numbers)}.

    `events`: dicts with person_id, code_system, code, event_date; `medications`: dicts with
    person_id, code, issue_date.
    """
    lookup = _lookup()

    present: dict[int, set[int]] = {}
    for event in events:
        person = event["person_id"]
        present.setdefault(person, set())
        if event["event_date"] > index_date:
            continue
        for number in lookup.get((event["code_system"], event["code"]), []):
            present[person].add(number)

    start = index_date - dt.timedelta(days=365)
    medicines: dict[int, set[str]] = {}
    for issue in medications or []:
        person = issue["person_id"]
        present.setdefault(person, set())
        medicines.setdefault(person, set())
        if start < issue["issue_date"] <= index_date:
            medicines[person].add(issue["code"])
    for person, codes in medicines.items():
        if len(codes) >= 5:
            present[person].add(26)

    return {
        person: {
            "deficits": len(found),
            "efi": len(found) / 36,
            "category": efi_category(len(found)),
            "present": found,
        }
        for person, found in present.items()
    }
