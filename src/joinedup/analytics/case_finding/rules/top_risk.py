"""The top 2% and 5% by emergency-admission risk, not on the coordinated care register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis

from joinedup.analytics.case_finding.rules.common import REGISTER, RUN_SCORES, tenths_text


def top_risk(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    """The top `top_percents` (e.g. 2 and 5) of the run's people by risk, ranked over the whole
    area: a person is in the top k% when fewer than k% of the people with a risk have a
    higher one, so people with equal risk share a rank and a tier (ties at a boundary are all
    in). Each person is in the smallest tier that holds them; people on the register are left
    out after ranking (they still count in the area's ranking)."""
    scores = tables[RUN_SCORES]
    scored = scores.filter(scores.risk.notnull())
    ranked = scored.mutate(
        # rank() is 0-based and shares ties: the number of people with a higher risk.
        _more=ibis.rank().over(ibis.window(order_by=[ibis.desc("risk")])).cast("int64"),
        _people=scored.count().over(ibis.window()).cast("int64"),
    )
    percents = sorted(int(k) for k in p["top_percents"])
    inside = [(ranked._more * 100 < ranked._people * k, f"Top {k}%") for k in percents]
    ranked = ranked.mutate(tier=ibis.cases(*inside, else_=ibis.null("string")))
    found = ranked.filter(ranked.tier.notnull())
    found = found.anti_join(tables[REGISTER], "person_id")
    risk_text = tenths_text(found.risk * 100)
    rank = (found._more + 1).cast("int64")
    evidence = (
        "Risk "
        + risk_text
        + "%, rank "
        + rank.cast("string")
        + " of "
        + found._people.cast("string")
        + " in the area ("
        + found.tier.lower()
        + ")"
    )
    extra = {"top_factors": found.top_factors} if "top_factors" in found.columns else {}
    return found.select(
        found.person_id,
        evidence=evidence,
        evidence_date=found.run_index_date.cast("date"),
        tier=found.tier,
        risk_percent=(found.risk * 100).round(1),
        rank=rank,
        # the share of the area with this risk or lower (100 = the highest), as the person's
        # page shows it (analytics/person_scores.py)
        rank_percentile=(
            (found._people - found._more).cast("float64") * 100 / found._people.cast("float64")
        ).round(1),
        run_id=found.run_id,
        run_index_date=found.run_index_date.cast("date"),
        **extra,
    )
