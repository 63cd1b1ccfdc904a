"""The practice's highest users of GP appointments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis

from joinedup.analytics.case_finding.rules.common import in_window


def high_gp_users(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    gp = tables["gp_appointments"]
    attended = in_window(
        gp.filter(gp.attended), "appointment_date", index_date, int(p["window_days"])
    )
    counts = attended.group_by("person_id").aggregate(
        appointments=attended.count(), evidence_date=attended.appointment_date.max()
    )
    people = tables["_population"].select("person_id", "practice_code")
    list_size = people.group_by("practice_code").aggregate(registered=people.count())
    users = counts.join(people, "person_id").join(list_size, "practice_code")
    ranked = users.mutate(
        # rank() is 0-based and shares ties: the number of the practice's people with more.
        _more=ibis.rank().over(
            ibis.window(group_by="practice_code", order_by=[ibis.desc("appointments")])
        )
    )
    found = ranked.filter(
        (ranked._more.cast("float64") < ranked.registered.cast("float64") * float(p["top_share"]))
        & (ranked.appointments >= int(p["min_appointments"]))
    )
    threshold = found.group_by("practice_code").aggregate(threshold=found.appointments.min())
    found = found.join(threshold, "practice_code")
    evidence = (
        found.appointments.cast("string")
        + " GP appointments attended in 12 months (practice top "
        + str(round(100 * float(p["top_share"])))
        + "% from "
        + found.threshold.cast("string")
        + ")"
    )
    return found.select(found.person_id, evidence=evidence, evidence_date=found.evidence_date)
