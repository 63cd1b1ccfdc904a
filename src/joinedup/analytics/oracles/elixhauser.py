"""Elixhauser oracle: Quan 2005 ICD-10 prefixes, hierarchy, van Walraven (or Swiss) points."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from joinedup.analytics.oracles import Row, clean_icd10, counts, people, read_table

SUPERSEDES = {"hypc": "hypunc", "diabc": "diabunc", "metacanc": "solidtum"}


class ElixhauserResult(NamedTuple):
    score: int
    groups: tuple[str, ...]


def elixhauser(
    rows: list[Row],
    index_date: dt.date | None = None,
    weights: str = "van_walraven",
    lookback_years: int | None = None,
) -> dict[int, ElixhauserResult]:
    """Each person's Elixhauser score (negative totals are kept)."""
    prefixes = [
        (r["group"], r["code_prefix"])
        for r in read_table("elixhauser", "elixhauser_icd10_quan.csv")
    ]
    weight = {
        r["group"]: int(r[weights]) for r in read_table("elixhauser", "elixhauser_weights.csv")
    }
    found = people(rows)
    for person_id, code, day in rows:
        clean = clean_icd10(code)
        if clean is None or not counts(day, index_date, lookback_years):
            continue
        for group, prefix in prefixes:
            if clean.startswith(prefix):
                found[person_id].add(group)
    results = {}
    for person_id, groups in found.items():
        for severe, mild in SUPERSEDES.items():
            if severe in groups:
                groups.discard(mild)
        results[person_id] = ElixhauserResult(sum(weight[g] for g in groups), tuple(sorted(groups)))
    return results
