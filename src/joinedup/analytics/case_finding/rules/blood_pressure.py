"""Raised blood pressure with no hypertension diagnosis."""

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


def raised_bp(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    readings = in_window(
        coded(events, ("systolic-blood-pressure", "diastolic-blood-pressure"), index_date),
        "event_date",
        index_date,
        int(p["window_days"]),
    ).filter(lambda t: t.value.notnull())
    systolic = readings.codelist_id == "systolic-blood-pressure"
    days = readings.group_by(["person_id", "event_date"]).aggregate(
        sys=readings.value.max(where=systolic),
        dia=readings.value.max(where=~systolic),
    )
    raised = days.filter(
        (days.sys >= float(p["systolic_mmhg"])) | (days.dia >= float(p["diastolic_mmhg"]))
    )
    ranked = raised.mutate(
        _n=ibis.row_number().over(
            ibis.window(group_by="person_id", order_by=[ibis.desc("event_date")])
        ),
        _text=whole_number_text(raised.sys)
        + "/"
        + whole_number_text(raised.dia)
        + " on "
        + day_text(raised.event_date),
    )
    per_person = ranked.group_by("person_id").aggregate(
        raised_days=ranked.count(),
        latest=ranked._text.max(where=ranked._n == 0),
        before=ranked._text.max(where=ranked._n == 1),
        evidence_date=ranked.event_date.max(),
    )
    found = per_person.filter(per_person.raised_days >= int(p["raised_days"]))
    found = found.anti_join(ever_coded(events, "hypertension", index_date), "person_id")
    evidence = (
        "BP "
        + found.before
        + " and "
        + found.latest
        + " ("
        + found.raised_days.cast("string")
        + " raised days in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)
