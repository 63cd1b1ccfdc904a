"""Long-term-condition flags and counts, and polypharmacy counts, per person as of an index date.

Also home of the small helpers the SNOMED/CTV3/Read v2 scores share (`coded_events`,
`window_start`, `persons`), so that eFI, the Cambridge Multimorbidity Score and these counts
read events the same way.

Rules
-----
* A condition is present if any code of its codelist (``data/ltc/conditions.csv`` names the
  list for each condition) is recorded **on or before** the index date; events after it are
  ignored. Codes join on (code_system, code): CTV3 and Read v2 codes can collide.
* ``ltc_count`` is the number of the 18 conditions present.
* Polypharmacy: ``medicines`` is the number of distinct medication codes (dm+d VMP/AMP as
  recorded) issued in the 365 days ending on the index date (``index − 365 days < issue_date ≤
  index``); repeat issues of one product count once, different products count separately.
  ``polypharmacy_5`` is ``medicines ≥ 5`` and ``polypharmacy_10`` is ``medicines ≥ 10``.
* Everyone in the input tables (any date) gets a row; a person with nothing recorded has
  zero counts. Callers wanting a registered population left-join it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ibis
import pyarrow as pa

from joinedup.terminology.codelists import codelist_table

DATA_DIR = Path(__file__).resolve().parent / "data"
LOOKBACK_DAYS = 365  # "in the last 12 months": the 365 days ending on the index date


@dataclass(frozen=True)
class LongTermCondition:
    condition: str
    name: str
    codelist_id: str


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


LONG_TERM_CONDITIONS: tuple[LongTermCondition, ...] = tuple(
    LongTermCondition(r["condition"], r["name"], r["codelist_id"])
    for r in _read_csv(DATA_DIR / "ltc" / "conditions.csv")
)


def as_date(value: dt.date | str) -> dt.date:
    """An index date from a date, a datetime or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def window_start(index_date: dt.date, days: int) -> dt.date:
    """Exclusive start of the `days`-day window ending on (and including) `index_date`."""
    return index_date - dt.timedelta(days=days)


def coded_events(
    events: ibis.Table, codelists: ibis.Table, index_date: dt.date, *, value: bool = False
) -> ibis.Table:
    """Events on or before `index_date` whose (code_system, code) is in `codelists`.

    Columns: person_id, codelist_id, code_system, code, event_date (and value if asked).
    """
    keep = ["person_id", "code_system", "code", "event_date"] + (["value"] if value else [])
    recent = events.filter(events.event_date <= ibis.literal(index_date)).select(*keep)
    lists = codelists.select("codelist_id", "code_system", "code")
    return recent.join(lists, ["code_system", "code"]).select("person_id", "codelist_id", *keep[1:])


def persons(*tables: ibis.Table | None) -> ibis.Table:
    """Distinct person_id of every given table."""
    parts = [t.select(person_id=t.person_id.cast("int64")) for t in tables if t is not None]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.union(part, distinct=False)
    return combined.distinct()


def first_by(table: ibis.Table, keys: list[str], order: list[str]) -> ibis.Table:
    """The first row of each `keys` group when ordered by `order` (ties broken by `order`)."""
    window = ibis.window(group_by=keys, order_by=order)
    return table.mutate(_rn=ibis.row_number().over(window)).filter(lambda t: t._rn == 0).drop("_rn")


def ltc_table() -> pa.Table:
    """The condition → codelist map as Arrow (condition, name, codelist_id)."""
    return pa.table(
        {
            "condition": [c.condition for c in LONG_TERM_CONDITIONS],
            "name": [c.name for c in LONG_TERM_CONDITIONS],
            "codelist_id": [c.codelist_id for c in LONG_TERM_CONDITIONS],
        }
    )


def ltc_codelists(systems: list[str] | None = None) -> pa.Table:
    """The long-term-condition codelists (codelist_id, code_system, code) for the pipelines."""
    return codelist_table([c.codelist_id for c in LONG_TERM_CONDITIONS], systems)


def ltc_contributions(
    events: ibis.Table, *, index_date: dt.date | str, codelists: ibis.Table
) -> ibis.Table:
    """The first code recorded for each person and condition on or before the index date.

    Columns: person_id, condition, code_system, code, event_date.
    """
    index_date = as_date(index_date)
    conditions = ibis.memtable(ltc_table()).select("condition", "codelist_id")
    matched = coded_events(events, codelists, index_date).join(conditions, "codelist_id")
    first = first_by(matched, ["person_id", "condition"], ["event_date", "code_system", "code"])
    return first.select("person_id", "condition", "code_system", "code", "event_date")


def polypharmacy(medications: ibis.Table, *, index_date: dt.date | str) -> ibis.Table:
    """Distinct medicines issued in the 365 days ending on the index date, with ≥5 / ≥10 flags.

    Columns: person_id, medicines, polypharmacy_5, polypharmacy_10 — one row per person in
    `medications`.
    """
    index_date = as_date(index_date)
    start = window_start(index_date, LOOKBACK_DAYS)
    recent = medications.filter(
        (medications.issue_date > ibis.literal(start))
        & (medications.issue_date <= ibis.literal(index_date))
    )
    counts = recent.group_by("person_id").aggregate(medicines=recent.code.nunique())
    everyone = persons(medications)
    joined = everyone.left_join(counts, "person_id").select(
        everyone.person_id, medicines=counts.medicines.fill_null(0).cast("int64")
    )
    return joined.mutate(
        polypharmacy_5=joined.medicines >= 5, polypharmacy_10=joined.medicines >= 10
    )


def ltc_counts(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """One row per person: a boolean per long-term condition, ``ltc_count`` and polypharmacy.

    Columns: person_id, <condition>… (see LONG_TERM_CONDITIONS), ltc_count, medicines,
    polypharmacy_5, polypharmacy_10 (the last three are 0/False without medication data).
    """
    index_date = as_date(index_date)
    found = ltc_contributions(events, index_date=index_date, codelists=codelists)
    flags = found.group_by("person_id").aggregate(
        **{c.condition: (found.condition == c.condition).any() for c in LONG_TERM_CONDITIONS}
    )
    everyone = persons(events, medications)
    wide = everyone.left_join(flags, "person_id").select(
        everyone.person_id,
        *[flags[c.condition].fill_null(False).name(c.condition) for c in LONG_TERM_CONDITIONS],
    )
    count = sum(
        (wide[c.condition].cast("int64") for c in LONG_TERM_CONDITIONS), ibis.literal(0, "int64")
    )
    wide = wide.mutate(ltc_count=count)
    if medications is None:
        return wide.mutate(
            medicines=ibis.literal(0, "int64"),
            polypharmacy_5=ibis.literal(False),
            polypharmacy_10=ibis.literal(False),
        )
    poly = polypharmacy(medications, index_date=index_date)
    return wide.left_join(poly, "person_id").select(
        *[wide[name] for name in wide.columns],
        medicines=poly.medicines.fill_null(0),
        polypharmacy_5=poly.polypharmacy_5.fill_null(False),
        polypharmacy_10=poly.polypharmacy_10.fill_null(False),
    )


def from_store(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """`ltc_counts` over population-store tables (`clinical_events`, optional `medications`)."""
    return ltc_counts(
        tables["clinical_events"],
        tables.get("medications"),
        index_date=index_date,
        codelists=ibis.memtable(ltc_codelists()),
    )
