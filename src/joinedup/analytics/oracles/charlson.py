"""Charlson oracle: Quan 2005 ICD-10 prefixes, severe supersedes mild, 1987 or Quan 2011 weights."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from joinedup.analytics.oracles import Row, prefix_groups, read_table

SUPERSEDES = {"diabwc": "diab", "msld": "mld", "metacanc": "canc"}


class CharlsonResult(NamedTuple):
    score: int
    age_adjusted: int | None
    groups: tuple[str, ...]


def charlson(
    rows: list[Row],
    index_date: dt.date | None = None,
    weights: str = "charlson1987",
    lookback_years: int | None = None,
    ages: dict[int, int] | None = None,
) -> dict[int, CharlsonResult]:
    """Each person's Charlson score; `ages` (person -> age) adds the Charlson 1994 age points."""
    found = prefix_groups(
        "charlson",
        "charlson_icd10_quan.csv",
        rows,
        index_date=index_date,
        lookback_years=lookback_years,
        supersedes=SUPERSEDES,
    )
    weight = {r["group"]: int(r[weights]) for r in read_table("charlson", "charlson_weights.csv")}
    results = {}
    for person_id, groups in found.items():
        score = sum(weight[g] for g in groups)
        age = (ages or {}).get(person_id)
        # Charlson 1994: a point per decade from 50, at most 4.
        adjusted = None if age is None else score + min(4, max(0, (age - 40) // 10))
        results[person_id] = CharlsonResult(score, adjusted, tuple(sorted(groups)))
    return results
