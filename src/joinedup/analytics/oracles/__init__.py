"""Plain-Python reference implementations (oracles) of the clinical scores.

Each oracle is short and deliberately independent of the Ibis pipelines: dicts and loops over
a list of ``(person_id, code, date)`` rows, reading the same published tables (the CSVs under
``analytics/scores/data/``) with its own few lines of code. Property-based tests hold the
engine pipelines to these results; they are not used in production.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

Row = tuple[int, str | None, dt.date | None]

TABLES = Path(__file__).resolve().parents[1] / "scores" / "data"


def read_table(score: str, name: str) -> list[dict[str, str]]:
    """The rows of a published table as text."""
    with (TABLES / score / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def clean_icd10(code: str | None) -> str | None:
    """Keep ASCII letters and digits, upper-case, then a letter, two digits and any digits after."""
    if code is None:
        return None
    kept = "".join(ch for ch in code if ch.isascii() and ch.isalnum()).upper()
    if len(kept) < 3 or not kept[0].isalpha() or not kept[1:3].isdigit():
        return None
    end = 3
    while end < len(kept) and kept[end].isdigit():
        end += 1
    return kept[:end]


def counts(day: dt.date | None, index_date: dt.date | None, lookback_years: int | None) -> bool:
    """Whether a diagnosis on `day` falls in the window ending on `index_date` (both ends in)."""
    if index_date is None:
        return True
    if day is None or day > index_date:
        return False
    if lookback_years is None:
        return True
    year = index_date.year - lookback_years
    last_day = calendar.monthrange(year, index_date.month)[1]
    start = dt.date(year, index_date.month, min(index_date.day, last_day))
    return day >= start


def people(rows: Iterable[Row]) -> dict[int, set[str]]:
    """An empty set of groups for everyone in the rows."""
    return {person_id: set() for person_id, _, _ in rows}


def prefix_groups(
    score: str,
    mapping_file: str,
    rows: Iterable[Row],
    *,
    index_date: dt.date | None,
    lookback_years: int | None,
    supersedes: dict[str, str],
) -> dict[int, set[str]]:
    """Each person's ICD-10 prefix groups in the window, the mild form dropped under the severe."""
    rows = list(rows)
    prefixes = [(r["group"], r["code_prefix"]) for r in read_table(score, mapping_file)]
    found = people(rows)
    for person_id, code, day in rows:
        clean = clean_icd10(code)
        if clean is None or not counts(day, index_date, lookback_years):
            continue
        for group, prefix in prefixes:
            if clean.startswith(prefix):
                found[person_id].add(group)
    for groups in found.values():
        for severe, mild in supersedes.items():
            if severe in groups:
                groups.discard(mild)
    return found
