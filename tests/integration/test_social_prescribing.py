"""Social prescribing's services on both backends: a referral needs consent and a relationship
and is one open per person, a decline re-codes it, a bad measure is refused whole; the link
worker's journey from first contact to discharge; and the report's paired change and its
interval against an independent computation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent, Organisation
from joinedup.directory.keeping_well import PracticeKeepingWell, practice_keeping_well
from joinedup.directory.models import DirectoryImportBatch, DirectoryService
from joinedup.directory.social_prescribing import caseload, referrals
from joinedup.directory.social_prescribing.models import (
    DECLINED_CODE,
    REFERRED_CODE,
    SocialPrescribingMeasure,
    SocialPrescribingReferral,
)
from joinedup.directory.social_prescribing.reports import social_prescribing_report
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from tests.integration.test_virtual_ward import add_user, person

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SERVICE = "00000000-0000-4000-8000-000000000001"
SWEMWBS_START = [2, 3, 2, 3, 2, 3, 2]  # raw 17 → metric 16.88
SWEMWBS_END = [3, 4, 3, 4, 3, 4, 3]  # raw 24 → metric 21.54


def _area(sessions: sessionmaker[Session]) -> tuple[Principal, Principal]:
    with sessions() as session, session.begin():
        for code, kind, parent in (
            ("NBH01", "neighbourhood", None),
            ("P81001", "practice", "NBH01"),
            ("P81009", "practice", None),
        ):
            session.add(
                Organisation(
                    org_code=code, name=code, org_type=kind, parent_code=parent, synced_at=NOW
                )
            )
        batch = DirectoryImportBatch(
            source_name="test",
            records_read=1,
            created=1,
            updated=0,
            unchanged=0,
            rejected=0,
            imported_at=NOW,
            imported_by="test",
        )
        session.add(batch)
        session.flush()
        session.add(
            DirectoryService(
                id=SERVICE,
                name="Riverside walking group",
                status="active",
                content_hash="0" * 64,
                batch_id=batch.id,
            )
        )
    gp = add_user(sessions, "dr-gita", "gp", "NBH01")
    link = add_user(sessions, "lw-lena", "link_worker", "NBH01")
    return gp, link


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _refer(sessions: sessionmaker[Session], actor: Principal, person_id: int) -> int:
    return referrals.refer(
        sessions,
        actor,
        person(person_id),
        source="professional",
        needs=["loneliness", "low_mood"],
        reason="Lives alone since bereavement",
        consent=True,
    )


def test_referral_consent_relationship_decline_and_refused_input(
    sessions: sessionmaker[Session],
) -> None:
    gp, link = _area(sessions)
    with pytest.raises(referrals.SocialPrescribingError, match="consent") as refused:
        referrals.refer(sessions, gp, person(11), source="self", needs=[], reason="", consent=False)
    # Every reason at once: the GP cannot record a self-referral, no need, no consent.
    assert len(refused.value.problems) == 3
    with pytest.raises(referrals.SocialPrescribingNotAllowed):
        referrals.refer(
            sessions,
            gp,
            person(12, practice="P81009"),
            source="professional",
            needs=["housing"],
            reason="",
            consent=True,
        )
    before = _audit_count(sessions)
    referral_id = _refer(sessions, gp, 11)
    with pytest.raises(referrals.SocialPrescribingError, match="already has an open"):
        _refer(sessions, link, 11)
    with sessions() as session:
        row = session.get(SocialPrescribingReferral, referral_id)
        assert row is not None and (row.snomed_code, row.status) == (REFERRED_CODE, "referred")
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "sp_referral.refer"
        assert event.person_id == 11 and "bereavement" not in str(event.detail)
        assert "loneliness" not in str(event.detail)
    assert _audit_count(sessions) == before + 1

    # Declining at first contact closes the referral and re-codes it.
    first = _refer(sessions, gp, 31)
    referrals.first_contact(sessions, link, first, contact_at=_now(), mode="video", accepted=False)
    with sessions() as session:
        row = session.get(SocialPrescribingReferral, first)
        assert row is not None and (row.status, row.snomed_code) == ("declined", DECLINED_CODE)
    second = _refer(sessions, gp, 31)  # a declined referral is closed: the person may be again
    referrals.first_contact(sessions, link, second, contact_at=_now(), mode="phone", accepted=True)
    before = _audit_count(sessions)
    with pytest.raises(referrals.SocialPrescribingError) as refused:
        referrals.record_measure(
            sessions,
            link,
            second,
            instrument="wemwbs",
            timepoint="start",
            answers=[3] * 12 + [6, None],
        )
    assert refused.value.problems == [
        "question 13 is answered 1 to 5, not 6",
        "question 14 is not answered",
    ]
    with pytest.raises(referrals.SocialPrescribingError, match="in the future"):
        referrals.follow_up(
            sessions,
            link,
            second,
            contact_at=_now() + dt.timedelta(days=2),
            mode="phone",
            note="x",
        )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SocialPrescribingMeasure)) == 0
    assert _audit_count(sessions) == before


def test_a_link_worker_takes_a_referral_from_first_contact_to_discharge(
    sessions: sessionmaker[Session],
) -> None:
    gp, link = _area(sessions)
    referral_id = _refer(sessions, gp, 21)
    assert [r.person_id for r in caseload.caseload(sessions, link.user_id, NOW)] == [21]
    with pytest.raises(referrals.SocialPrescribingNotAllowed):
        referrals.first_contact(
            sessions, gp, referral_id, contact_at=_now(), mode="phone", accepted=True
        )
    with pytest.raises(referrals.SocialPrescribingError, match="first contact"):
        referrals.record_plan(sessions, link, referral_id, what_matters="x", plan="y")
    referrals.first_contact(
        sessions, link, referral_id, contact_at=_now(), mode="phone", accepted=True
    )
    referrals.record_plan(
        sessions,
        link,
        referral_id,
        what_matters="Getting out of the house",
        plan="Walking group weekly",
    )
    referrals.record_measure(
        sessions, link, referral_id, instrument="swemwbs", timepoint="start", answers=SWEMWBS_START
    )
    referrals.record_measure(
        sessions, link, referral_id, instrument="ons4", timepoint="start", answers=[4, 5, 4, 7]
    )
    onward = referrals.refer_onward(sessions, link, referral_id, service_id=SERVICE)
    with pytest.raises(referrals.SocialPrescribingError, match="every onward referral"):
        referrals.discharge(sessions, link, referral_id, reason="goals_met")
    referrals.record_onward_outcome(sessions, link, onward, outcome="attended")
    referrals.follow_up(
        sessions, link, referral_id, contact_at=_now(), mode="in_person", note="Enjoying the walks"
    )
    referrals.record_measure(
        sessions, link, referral_id, instrument="swemwbs", timepoint="end", answers=SWEMWBS_END
    )
    referrals.discharge(sessions, link, referral_id, reason="goals_met")

    (record,) = caseload.person_record(sessions, 21)
    assert record.referral.status == "discharged" and not record.is_open
    assert [(o.service_name, o.outcome) for o in record.onward] == [
        ("Riverside walking group", "attended")
    ]
    swemwbs = [(m.timepoint, m.raw_score, m.score) for m in record.measures if m.raw_score]
    assert swemwbs == [("start", 17, 16.88), ("end", 24, 21.54)]
    assert [c.note for c in record.contacts] == ["Enjoying the walks"]
    assert caseload.caseload(sessions, link.user_id, NOW) == []
    with pytest.raises(referrals.SocialPrescribingError, match="discharged"):
        referrals.follow_up(sessions, link, referral_id, contact_at=_now(), mode="phone", note="x")

    # P2 and P4 of the delivery tracker count this practice's onward referral and discharge;
    # a second person discharged with a start measure only is discharged without outcomes.
    second = _refer(sessions, gp, 22)
    referrals.first_contact(sessions, link, second, contact_at=_now(), mode="phone", accepted=True)
    referrals.record_measure(
        sessions, link, second, instrument="swemwbs", timepoint="start", answers=SWEMWBS_START
    )
    referrals.discharge(sessions, link, second, reason="disengaged")
    (counts,) = practice_keeping_well(sessions, _now().date())
    assert counts == PracticeKeepingWell(
        record.referral.practice_code or "",
        navigations=1,
        to_directory=1,
        discharged=2,
        discharged_with_outcomes=1,
    )
    assert practice_keeping_well(sessions, _now().date() - dt.timedelta(days=400)) == []


def test_the_report_pairs_start_and_end_and_gives_the_t_interval(
    sessions: sessionmaker[Session], small_store: PopulationStore
) -> None:
    """Twelve referrals with known WEMWBS changes; the report's mean change and interval match
    scipy's t interval worked out here, and the counts are suppressed (12 → 10)."""
    before = [40, 38, 45, 36, 42, 39, 41, 37, 44, 35, 43, 40]
    change = [5, 3, 8, -2, 6, 4, 7, 1, 9, 2, 5, 6]
    _, link = _area(sessions)
    with sessions() as session, session.begin():
        for index, (start, delta) in enumerate(zip(before, change, strict=True)):
            referral = SocialPrescribingReferral(
                person_id=index + 1,
                practice_code=None,
                source="professional" if index % 3 else "self",
                needs=["loneliness"],
                reason="",
                consent=True,
                snomed_code=REFERRED_CODE,
                status="discharged",
                referred_at=NOW - dt.timedelta(days=90),
                first_contact_at=_now() - dt.timedelta(days=90 - index),
            )
            session.add(referral)
            session.flush()
            for timepoint, score, days in (("start", start, 80), ("end", start + delta, 10)):
                session.add(
                    SocialPrescribingMeasure(
                        referral_id=referral.id,
                        instrument="wemwbs",
                        timepoint=timepoint,
                        items=[],
                        score=float(score),
                        recorded_at=NOW - dt.timedelta(days=days),
                        recorded_by=link.user_id,
                    )
                )
    report = social_prescribing_report(sessions, small_store)
    (wemwbs,) = [o for o in report.outcomes if o.key == "wemwbs"]
    mean = float(np.mean(change))
    low, high = stats.t.interval(0.95, len(change) - 1, loc=mean, scale=stats.sem(change))
    assert wemwbs.overall.people == 10  # 12 rounded to the nearest 5
    assert wemwbs.overall.mean_change == pytest.approx(mean, abs=0.01)
    assert (wemwbs.overall.low, wemwbs.overall.high) == (
        pytest.approx(low, abs=0.01),
        pytest.approx(high, abs=0.01),
    )
    assert report.referrals == 10
    assert {c.label: c.count for c in report.by_source} == {
        "professional": 10,  # 8 → 10
        "register": 0,
        "mdt": 0,
        "self": None,  # 4: withheld
    }
    assert report.wait.median_days == pytest.approx(5.5)
    # Every group's people add up to at most everyone (suppressed groups withheld).
    for rows in wemwbs.by.values():
        assert all(c.mean_change is None or (c.people or 0) >= 10 for c in rows)
    assert not math.isnan(wemwbs.overall.mean_change or 0)
