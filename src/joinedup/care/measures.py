"""Coordinated-care measures (C1, C2, C3, C5) that commissioning reads, per neighbourhood.

The commissioning delivery tracker shows these as *measured* actuals with their rule; the
coordinated-care pages show them to neighbourhood leads. One definition, read by both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoordinatedCareMeasures:
    """Raw counts for one neighbourhood (suppression is applied where they are shown).

    * top_risk_cohort — people in the latest run's top 5% by emergency-admission risk;
    * cohort_on_register / cohort_with_named_professional / cohort_with_agreed_plan — of them,
      how many are on the register (any state but discharged, declined, not contactable),
      have a current named professional, have a care plan the person agreed;
    * plan_reviews_due / plan_reviews_on_time — agreed plans whose review date fell in the
      last 12 months, and of them those reviewed (a newer agreed version) by that date;
    * mdt_meetings_held_90_days — meetings held in the 90 days to the as-of date;
    * actions_due / actions_closed_on_time — actions due in the last 12 months, and of them
      those completed by their due date.
    """

    neighbourhood_code: str
    top_risk_cohort: int
    cohort_on_register: int
    cohort_with_named_professional: int
    cohort_with_agreed_plan: int
    plan_reviews_due: int
    plan_reviews_on_time: int
    mdt_meetings_held_90_days: int
    actions_due: int
    actions_closed_on_time: int
