"""Oracle for long-term-condition counts and polypharmacy: plain Python, no Ibis.

Shares only the data (condition → codelist map, the codelists). Rules: see
joinedup.analytics.scores.conditions.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from joinedup.terminology.codelists import load_codelist

CONDITIONS_CSV = Path(__file__).resolve().parents[1] / "scores" / "data" / "ltc" / "conditions.csv"


def condition_lists() -> dict[str, str]:
    with CONDITIONS_CSV.open(encoding="utf-8", newline="") as handle:
        return {r["condition"]: r["codelist_id"] for r in csv.DictReader(handle)}


@functools.cache
def _lookup() -> dict[tuple[str, str], list[str]]:
    lookup: dict[tuple[str, str], list[str]] = {}
    for condition, codelist_id in condition_lists().items():
        for system, codes in load_codelist(codelist_id).codes.items():
            for code in codes:
                lookup.setdefault((system, code), []).append(condition)
    return lookup


def ltc_counts(
    events: Iterable[Mapping],
    medications: Iterable[Mapping] | None,
    index_date: dt.date,
) -> dict[int, dict]:
    """person_id → {conditions (set), ltc_count, medicines, polypharmacy_5, polypharmacy_10}."""
    lookup = _lookup()
    found: dict[int, set[str]] = {}
    for event in events:
        found.setdefault(event["person_id"], set())
        if event["event_date"] <= index_date:
            found[event["person_id"]].update(lookup.get((event["code_system"], event["code"]), []))

    start = index_date - dt.timedelta(days=365)
    medicines: dict[int, set[str]] = {}
    for issue in medications or []:
        found.setdefault(issue["person_id"], set())
        medicines.setdefault(issue["person_id"], set())
        if start < issue["issue_date"] <= index_date:
            medicines[issue["person_id"]].add(issue["code"])

    result = {}
    for person, conditions in found.items():
        n = len(medicines.get(person, ()))
        result[person] = {
            "conditions": conditions,
            "ltc_count": len(conditions),
            "medicines": n,
            "polypharmacy_5": n >= 5,
            "polypharmacy_10": n >= 10,
        }
    return result
