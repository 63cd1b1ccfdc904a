"""Per-practice counts of "keeping well" that measure two elements of the delivery tracker
(`joinedup.commissioning.delivery.measures`, London SCF P2 and P4):

* P2, practices know and use community assets: of the callers signposted at first contact
  (`Signposting`) and the link workers' onward referrals (`SocialPrescribingOnwardReferral`)
  for the practice's patients in the `USE_WINDOW_DAYS` before the date, how many went to a
  community service in the directory rather than one of the practice's own services.
* P4, people supported to manage their health and wellbeing: of the people discharged from
  social prescribing in the `OUTCOME_WINDOW_DAYS` before the date, how many had an outcome
  measure recorded at the start and again later (review or end) — the recording that a 2025
  survey found only 57.5% of link workers do regularly.

Counts here are unsuppressed; the tracker suppresses them before showing them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.directory.navigation_models import Signposting
from joinedup.directory.social_prescribing.models import (
    SocialPrescribingMeasure,
    SocialPrescribingOnwardReferral,
    SocialPrescribingReferral,
)

USE_WINDOW_DAYS = 90
OUTCOME_WINDOW_DAYS = 365


@dataclass(frozen=True)
class PracticeKeepingWell:
    """One practice's counts for P2 and P4 as of a date."""

    practice_code: str
    navigations: int  # signposted at first contact + referred on by a link worker
    to_directory: int  # of those, sent to a community service in the directory
    discharged: int  # people discharged from social prescribing
    discharged_with_outcomes: int  # of those, measured at the start and again later


def practice_keeping_well(
    sessions: sessionmaker[Session], as_of: dt.date
) -> list[PracticeKeepingWell]:
    """P2 and P4 counts for every practice with any navigation or discharge in the windows
    ending on `as_of` (inclusive)."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    use_start = end - dt.timedelta(days=USE_WINDOW_DAYS)
    outcome_start = end - dt.timedelta(days=OUTCOME_WINDOW_DAYS)
    with sessions() as session:
        navigations, to_directory = _uses(session, use_start, end)
        discharged, with_outcomes = _discharges(session, outcome_start, end)
    practices = sorted(set(navigations) | set(discharged))
    return [
        PracticeKeepingWell(
            code,
            navigations[code],
            to_directory[code],
            discharged[code],
            with_outcomes[code],
        )
        for code in practices
    ]


def _uses(
    session: Session, start: dt.datetime, end: dt.datetime
) -> tuple[Counter[str], Counter[str]]:
    navigations: Counter[str] = Counter()
    to_directory: Counter[str] = Counter()
    signposts = session.execute(
        select(
            Signposting.practice_code,
            func.count(),
            func.count(Signposting.service_id),
        )
        .where(Signposting.recorded_at >= start, Signposting.recorded_at < end)
        .group_by(Signposting.practice_code)
    ).all()
    for code, total, directory in signposts:
        navigations[code] += total
        to_directory[code] += directory
    # An onward referral always goes to a directory service (its foreign key says so).
    onward = session.execute(
        select(SocialPrescribingReferral.practice_code, func.count())
        .join(
            SocialPrescribingOnwardReferral,
            SocialPrescribingOnwardReferral.referral_id == SocialPrescribingReferral.id,
        )
        .where(
            SocialPrescribingReferral.practice_code.is_not(None),
            SocialPrescribingOnwardReferral.referred_at >= start,
            SocialPrescribingOnwardReferral.referred_at < end,
        )
        .group_by(SocialPrescribingReferral.practice_code)
    ).all()
    for practice, total in onward:
        assert practice is not None  # the query asks only for referrals with a practice
        navigations[practice] += total
        to_directory[practice] += total
    return navigations, to_directory


def _discharges(
    session: Session, start: dt.datetime, end: dt.datetime
) -> tuple[Counter[str], Counter[str]]:
    in_window = (
        SocialPrescribingReferral.status == "discharged",
        SocialPrescribingReferral.practice_code.is_not(None),
        SocialPrescribingReferral.discharged_at >= start,
        SocialPrescribingReferral.discharged_at < end,
    )
    rows = session.execute(
        select(SocialPrescribingReferral.id, SocialPrescribingReferral.practice_code).where(
            *in_window
        )
    ).all()
    timepoints: dict[int, set[str]] = {}
    for referral_id, timepoint in session.execute(
        select(SocialPrescribingMeasure.referral_id, SocialPrescribingMeasure.timepoint)
        .join(
            SocialPrescribingReferral,
            SocialPrescribingReferral.id == SocialPrescribingMeasure.referral_id,
        )
        .where(*in_window)
    ):
        timepoints.setdefault(referral_id, set()).add(timepoint)
    discharged: Counter[str] = Counter()
    with_outcomes: Counter[str] = Counter()
    for referral_id, code in rows:
        assert code is not None  # in_window asks only for referrals with a practice
        discharged[code] += 1
        measured = timepoints.get(referral_id, set())
        if "start" in measured and measured & {"review", "end"}:
            with_outcomes[code] += 1
    return discharged, with_outcomes
