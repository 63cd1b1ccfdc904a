"""HFRS oracle (Gilbert et al., Lancet 2018): distinct 3-character groups, exact decimal sum."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from joinedup.analytics.oracles import Row, clean_icd10, counts, people, read_table


class HfrsResult(NamedTuple):
    score: Decimal
    category: str
    groups: tuple[str, ...]


def hfrs(rows: list[Row], index_date: dt.date | None = None) -> dict[int, HfrsResult]:
    """Each person's HFRS: two-year look-back when `index_date` is given."""
    points = {r["group"]: Decimal(r["weight"]) for r in read_table("hfrs", "hfrs_weights.csv")}
    found = people(rows)
    for person_id, code, day in rows:
        clean = clean_icd10(code)
        if clean and clean[:3] in points and counts(day, index_date, 2):
            found[person_id].add(clean[:3])
    results = {}
    for person_id, groups in found.items():
        score = sum((points[g] for g in groups), Decimal("0.0"))
        if score < 5:
            category = "low"
        elif score <= 15:
            category = "intermediate"
        else:
            category = "high"
        results[person_id] = HfrsResult(score, category, tuple(sorted(groups)))
    return results
