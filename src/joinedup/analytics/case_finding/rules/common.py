"""What the rule builders share: codes in codelists, windows, and evidence written as text the
same way on every engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import ibis

from joinedup.analytics.scores.conditions import window_start
from joinedup.terminology.codelists import codelist_table

#: The input table of a list that reads a stratification run (`run_columns`): one row per person
#: of the run with person_id, risk (probability, 0-1; null when the model scored no one),
#: top_factors (plain words joined by "; ", only when the run holds them), run_id and
#: run_index_date. `run_scores` builds it from a run.
RUN_SCORES = "run_scores"


#: The people already on the coordinated care register (person_id), for the lists that leave
#: them out.
REGISTER = "coordinated_care_register"

#: The lists that leave out people on the register, each as its rule's last step (an anti-join
#: on person_id after everything else is worked out, ranks included). So the list with the
#: register left out is the list worked out with no one on it, less the register's rows:
#: `run.run_list` keeps the area's list per process and takes the register away per view (the
#: register changes with every addition; the area's list only with the store or the run). A
#: rule that used the register any other way would not belong here, and a list that uses it
#: at all must be here (`tests/unit/test_case_finding_cache.py` checks both).
REGISTER_LEFT_OUT_LAST = frozenset({"top-risk-not-on-register"})


Pipeline = Callable[[Mapping[str, ibis.Table], dt.date, Mapping[str, Any]], ibis.Table]


def codelists_table_of(*ids: str) -> ibis.Table:
    return ibis.memtable(codelist_table(ids))


def coded(events: ibis.Table, codelist_ids: tuple[str, ...], on_or_before: dt.date) -> ibis.Table:
    """Events on or before the date whose (code_system, code) is in one of the lists."""
    recent = events.filter(events.event_date <= ibis.literal(on_or_before))
    lists = codelists_table_of(*codelist_ids)
    return recent.join(lists, ["code_system", "code"]).select(
        recent.person_id,
        lists.codelist_id,
        recent.event_date,
        recent.value,
        recent.unit,
    )


def in_window(t: ibis.Table, column: str, index_date: dt.date, days: int) -> ibis.Table:
    start = window_start(index_date, days)
    return t.filter((t[column] > ibis.literal(start)) & (t[column] <= ibis.literal(index_date)))


def ever_coded(events: ibis.Table, codelist_id: str, index_date: dt.date) -> ibis.Table:
    """Person ids with any code of the list on or before the index date."""
    return coded(events, (codelist_id,), index_date).select("person_id").distinct()


def whole_number_text(value: ibis.Value) -> ibis.StringValue:
    """A measurement as whole-number text ("152"); "?" when missing."""
    return value.round().cast("int64").cast("string").fill_null("?")


def day_text(value: ibis.Value) -> ibis.StringValue:
    return value.cast("date").cast("string")


def tenths_text(value: ibis.NumericValue) -> ibis.StringValue:
    """A non-negative number as text with one decimal place ("34.5"), the same on every engine
    (casting a float to text differs between them)."""
    tenths = (value * 10).round().cast("int64")
    return (tenths // 10).cast("string") + "." + (tenths % 10).cast("string")
