"""Irregular pulse with no atrial fibrillation diagnosis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis

from joinedup.analytics.case_finding.rules.common import coded, day_text, ever_coded, in_window


def irregular_pulse(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    pulses = in_window(
        coded(events, ("irregular-pulse",), index_date),
        "event_date",
        index_date,
        int(p["window_days"]),
    )
    per_person = pulses.group_by("person_id").aggregate(
        times=pulses.event_date.nunique(), evidence_date=pulses.event_date.max()
    )
    found = per_person.anti_join(ever_coded(events, "atrial-fibrillation", index_date), "person_id")
    evidence = (
        "Irregular pulse on "
        + day_text(found.evidence_date)
        + " ("
        + found.times.cast("string")
        + " recorded in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)
