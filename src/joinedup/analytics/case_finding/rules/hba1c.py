"""Raised HbA1c with no diabetes diagnosis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis

from joinedup.analytics.case_finding.rules.common import (
    coded,
    day_text,
    ever_coded,
    in_window,
    whole_number_text,
)


def raised_hba1c(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    readings = in_window(
        coded(events, ("hba1c",), index_date), "event_date", index_date, int(p["window_days"])
    )
    readings = readings.filter(
        readings.value.notnull() & (readings.unit.isnull() | (readings.unit == "mmol/mol"))
    )
    threshold = float(p["hba1c_mmol_mol"])
    ranked = readings.mutate(
        _n=ibis.row_number().over(
            ibis.window(
                group_by="person_id", order_by=[ibis.desc("event_date"), ibis.desc("value")]
            )
        )
    )
    per_person = ranked.group_by("person_id").aggregate(
        latest_value=ranked.value.max(where=ranked._n == 0),
        evidence_date=ranked.event_date.max(),
        raised_days=ranked.event_date.nunique(where=ranked.value >= threshold),
    )
    found = per_person.filter(
        (per_person.latest_value >= threshold)
        | (per_person.raised_days >= int(p["raised_readings"]))
    )
    found = found.anti_join(ever_coded(events, "diabetes", index_date), "person_id")
    evidence = (
        "Latest HbA1c "
        + whole_number_text(found.latest_value)
        + " mmol/mol on "
        + day_text(found.evidence_date)
        + " ("
        + found.raised_days.cast("string")
        + " of "
        + str(int(threshold))
        + " or more in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)
