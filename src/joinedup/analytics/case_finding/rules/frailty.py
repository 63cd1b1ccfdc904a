"""Moderate or severe frailty (eFI) with no recent care-plan review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis

from joinedup.analytics.case_finding.rules.common import coded, day_text
from joinedup.analytics.scores import efi
from joinedup.analytics.scores.conditions import window_start


def frailty(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    scores = efi.from_store(tables, index_date)
    frail = scores.filter(scores.category.isin(list(p["categories"])))
    reviews = coded(events, ("care-plan-review",), index_date)
    last = reviews.group_by("person_id").aggregate(last_review=reviews.event_date.max())
    recent = last.filter(
        last.last_review > ibis.literal(window_start(index_date, int(p["review_window_days"])))
    )
    found = frail.anti_join(recent, "person_id").left_join(last, "person_id")
    review_text = ibis.cases(
        (found.last_review.isnull(), ibis.literal("no review recorded")),
        else_="last review " + day_text(found.last_review),
    )
    evidence = (
        "eFI "
        + found.category
        + " ("
        + found.deficits.cast("string")
        + " deficits, "
        + (found.efi * 100).round().cast("int64").cast("string")
        + "/100); "
        + review_text
    )
    return found.select(
        found.person_id, evidence=evidence, evidence_date=found.last_review.cast("date")
    )
