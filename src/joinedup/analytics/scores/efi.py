"""electronic Frailty Index (eFI).

Source: Clegg A, Bates C, Young J, Ryan R, Nichols L, Teale EA, Mohammed MA, Parry J,
Marshall T. *Development and validation of an electronic frailty index using routine primary
care electronic health record data.* Age Ageing 2016;45(3):353–360. doi:10.1093/ageing/afw039.
Rules as collected in ``../shared/reference/ALGORITHMS.md`` §1; deficit names from
``../shared/reference/efi/efi_deficits.csv``.

Rules
-----
* 36 equally weighted deficits. 35 are code lists (``data/efi/deficits.csv`` maps deficit →
  codelist id; the code sets are the original eFI codes as reproduced by gm-sde, in SNOMED CT,
  CTV3 and Read v2). A coded deficit is present if any of its codes is recorded **on or before
  the index date** ("ever recorded"; the reference states no other look-back). Codes join on
  (code_system, code). Each deficit counts once however often or by how many codes it is
  recorded.
* Deficit 26, polypharmacy — **definition adopted**: five or more *distinct medication codes*
  (dm+d VMP/AMP as recorded in ``medications.code``) issued in the **365 days ending on the
  index date** (``index − 365 days < issue_date ≤ index``). Why: gm-sde's implementation notes
  that "the Andy Clegg algorithm is for 5 different meds in a 12 month period", OmopIndices
  scores ``polypharmacy_count >= 5``, and a 12-month issue window needs only the issue records
  we hold (no durations, which the alternative "5 on one day lasting 42 days" needs). Repeat
  issues of one product count once; different products (including two strengths of one
  drug) count separately because we hold no ingredient mapping. Without medication data the
  deficit is never present.
* ``efi = deficits / 36``; the category is decided on the **deficit count** (never on a
  rounded fraction — 13/36 displays as 0.36 but is severe): fit 0–4, mild 5–8, moderate 9–12,
  severe ≥ 13.
* Not implemented: gm-sde's local value-based extras (Barthel, 6CIT, eGFR, ABPI, DXA, …); they
  are an adaptation, not Clegg's eFI.
* Everyone in the input tables (any date) gets a row; a person with nothing recorded is fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import pyarrow as pa

from joinedup.analytics.scores.conditions import (
    DATA_DIR,
    LOOKBACK_DAYS,
    _read_csv,
    as_date,
    coded_events,
    first_by,
    persons,
    window_start,
)
from joinedup.terminology.codelists import codelist_table

CITATION = (
    "Clegg A, Bates C, Young J, et al. Development and validation of an electronic frailty "
    "index using routine primary care electronic health record data. Age Ageing "
    "2016;45(3):353-360. doi:10.1093/ageing/afw039"
)
TOTAL_DEFICITS = 36
POLYPHARMACY_DEFICIT = 26
POLYPHARMACY_MIN_MEDICINES = 5
POLYPHARMACY_LOOKBACK_DAYS = LOOKBACK_DAYS
# (upper bound of the deficit count, category), checked in order.
CATEGORIES: tuple[tuple[int, str], ...] = ((4, "fit"), (8, "mild"), (12, "moderate"))
SEVERE = "severe"


@dataclass(frozen=True)
class Deficit:
    number: int
    name: str
    codelist_id: str | None  # None for polypharmacy


DEFICITS: tuple[Deficit, ...] = tuple(
    Deficit(int(r["deficit_no"]), r["deficit"], r["codelist_id"] or None)
    for r in _read_csv(DATA_DIR / "efi" / "deficits.csv")
)
CODED_DEFICITS: tuple[Deficit, ...] = tuple(d for d in DEFICITS if d.codelist_id)


def category(deficits: int) -> str:
    """The eFI category of a deficit count: fit 0–4, mild 5–8, moderate 9–12, severe ≥13."""
    for upper, name in CATEGORIES:
        if deficits <= upper:
            return name
    return SEVERE


def efi_codelist_ids() -> list[str]:
    return [d.codelist_id for d in CODED_DEFICITS if d.codelist_id]


def efi_codelists(systems: list[str] | None = None) -> pa.Table:
    """The 35 eFI codelists as (codelist_id, code_system, code) for the pipelines."""
    return codelist_table(efi_codelist_ids(), systems)


def deficit_table() -> pa.Table:
    """Deficit number → name → codelist id (polypharmacy has no codelist)."""
    return pa.table(
        {
            "deficit_no": pa.array([d.number for d in DEFICITS], pa.int64()),
            "deficit": [d.name for d in DEFICITS],
            "codelist_id": [d.codelist_id for d in DEFICITS],
        }
    )


def _polypharmacy(medications: ibis.Table, index_date: dt.date) -> ibis.Table:
    """The medicine that made the fifth distinct one in the look-back, per person."""
    start = window_start(index_date, POLYPHARMACY_LOOKBACK_DAYS)
    recent = medications.filter(
        (medications.issue_date > ibis.literal(start))
        & (medications.issue_date <= ibis.literal(index_date))
    )
    firsts = recent.group_by(["person_id", "code"]).aggregate(event_date=recent.issue_date.min())
    window = ibis.window(group_by="person_id", order_by=["event_date", "code"])
    ranked = firsts.mutate(_rank=ibis.row_number().over(window))
    fifth = ranked.filter(ranked._rank == POLYPHARMACY_MIN_MEDICINES - 1)
    return fifth.select(
        person_id=fifth.person_id.cast("int64"),
        deficit_no=ibis.literal(POLYPHARMACY_DEFICIT, "int64"),
        deficit=ibis.literal(DEFICITS[POLYPHARMACY_DEFICIT - 1].name),
        code_system=ibis.literal("medication"),
        code=fifth.code.cast("string"),
        event_date=fifth.event_date,
    )


def efi_contributions(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """Each deficit present per person, with the first code and date that produced it.

    Columns: person_id, deficit_no, deficit, code_system, code, event_date. For polypharmacy
    the code is the medicine whose first issue in the look-back made the fifth distinct one
    (code_system ``"medication"``), and the date is that issue.
    """
    index_date = as_date(index_date)
    deficits = ibis.memtable(deficit_table()).filter(lambda t: t.codelist_id.notnull())
    matched = coded_events(events, codelists, index_date).join(deficits, "codelist_id")
    first = first_by(matched, ["person_id", "deficit_no"], ["event_date", "code_system", "code"])
    coded = first.select(
        person_id=first.person_id.cast("int64"),
        deficit_no=first.deficit_no.cast("int64"),
        deficit=first.deficit,
        code_system=first.code_system,
        code=first.code,
        event_date=first.event_date,
    )
    if medications is None:
        return coded
    return coded.union(_polypharmacy(medications, index_date), distinct=False)


def efi_scores(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """One row per person: person_id, deficits (0–36), efi (deficits / 36), category."""
    found = efi_contributions(events, medications, index_date=index_date, codelists=codelists)
    counts = found.group_by("person_id").aggregate(n=found.deficit_no.nunique())
    everyone = persons(events, medications)
    joined = everyone.left_join(counts, "person_id").select(
        everyone.person_id, deficits=counts.n.fill_null(0).cast("int64")
    )
    n = joined.deficits
    label = ibis.cases(
        *[(n <= upper, ibis.literal(name)) for upper, name in CATEGORIES],
        else_=ibis.literal(SEVERE),
    )
    return joined.mutate(efi=n.cast("float64") / TOTAL_DEFICITS, category=label)


def from_store(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """`efi_scores` over population-store tables (`clinical_events`, optional `medications`)."""
    return efi_scores(
        tables["clinical_events"],
        tables.get("medications"),
        index_date=index_date,
        codelists=ibis.memtable(efi_codelists()),
    )


def score_codes(codes: ibis.Table, *, index_date: dt.date | str | None = None) -> ibis.Table:
    """eFI over a bare extract of SNOMED codes: columns person_id, code and optionally date.

    With a ``date`` column, codes after `index_date` (default: today) are ignored; without
    one (or where a row's date is empty), every code counts. No medication data, so
    polypharmacy is never present.
    """
    when = as_date(index_date) if index_date is not None else dt.date.today()
    events = _snomed_events(codes, when)
    return efi_scores(
        events, None, index_date=when, codelists=ibis.memtable(efi_codelists(["snomed"]))
    )


def _snomed_events(codes: ibis.Table, index_date: dt.date) -> ibis.Table:
    when = ibis.literal(index_date)
    # A row with no date counts as recorded (on the index date).
    date = codes.date.cast("date").fill_null(when) if "date" in codes.columns else when
    return codes.select(
        person_id=codes.person_id.cast("int64"),
        code_system=ibis.literal("snomed"),
        code=codes.code.cast("string").strip(),
        event_date=date,
    )
