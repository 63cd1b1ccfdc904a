"""Elixhauser oracle: Quan 2005 ICD-10 prefixes, hierarchy, van Walraven (or Swiss) points."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from joinedup.analytics.oracles import Row, prefix_groups, read_table

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
    found = prefix_groups(
        "elixhauser",
        "elixhauser_icd10_quan.csv",
        rows,
        index_date=index_date,
        lookback_years=lookback_years,
        supersedes=SUPERSEDES,
    )
    weight = {
        r["group"]: int(r[weights]) for r in read_table("elixhauser", "elixhauser_weights.csv")
    }
    results = {}
    for person_id, groups in found.items():
        results[person_id] = ElixhauserResult(sum(weight[g] for g in groups), tuple(sorted(groups)))
    return results
