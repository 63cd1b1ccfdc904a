"""MDT meetings on both backends: scheduling, the agenda and its reasons, decisions that become
actions, attendance, closing with minutes and carry-over, and the audit trail.

The register rows are written directly (the register's own services are tested with it); the
risers come from two small stratification runs written by hand in the settings' home.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care import mdt
from joinedup.care.actions import (
    ActionError,
    complete_action,
    create_action,
    get_action,
    open_actions,
)
from joinedup.care.models import CareAction, CarePlan, MdtMeeting, RegisterEntry
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal

START = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC)
DAY = START.date()


def _user(sessions: sessionmaker[Session], name: str, role: str, org: str | None) -> Principal:
    with sessions() as session, session.begin():
        user = User(
            username=name, display_name=name.title(), role=role, created_at=dt.datetime.now(dt.UTC)
        )
        session.add(user)
        session.flush()
        if org:
            session.add(UserOrganisation(user_id=user.id, org_code=org))
        user_id = int(user.id)
    return principal(role, user_id=user_id, username=name)


def _enter(
    sessions: sessionmaker[Session],
    by: Principal,
    person_id: int,
    *,
    added: dt.datetime,
    neighbourhood: str = "NBH01",
    status: str = "active",
    review_due_on: dt.date | None = None,
) -> None:
    with sessions() as session, session.begin():
        session.add(
            RegisterEntry(
                person_id=person_id,
                practice_code="P81001" if neighbourhood == "NBH01" else "P81003",
                neighbourhood_code=neighbourhood,
                status=status,
                source="referral",
                reason="test",
                added_by=by.user_id,
                added_at=added,
                status_changed_at=added,
                review_due_on=review_due_on,
            )
        )


@pytest.fixture
def settings(tmp_path: Path, care_store: str) -> Settings:
    return Settings(home=tmp_path, database_url=care_store)


@pytest.fixture
def gp(sessions: sessionmaker[Session], area_store: PopulationStore) -> Principal:
    sync_organisations(area_store, sessions)
    return _user(sessions, "dr-ada", "gp", "NBH01")


def write_run(
    home: Path,
    run_id: str,
    created: str,
    frailty: dict[int, str],
    risk: dict[int, float] | None = None,
) -> None:
    """A minimal stratification run (what `compare_runs` and the person summary read)."""
    folder = home / "runs" / run_id
    folder.mkdir(parents=True)
    segments = [
        {"id": "well", "name": "Largely healthy", "level": 1},
        {"id": "emerging", "name": "Emerging frailty", "level": 2},
    ]
    (folder / "run.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "created_at": created,
                "index_date": created[:10],
                "engine": "duckdb",
                "parameters": {"schemes": ["frailty_four_group"]},
                "segmentations": {
                    "frailty_four_group": {"name": "Four-group frailty model", "segments": segments}
                },
                "risk_columns": ["risk"] if risk else [],
            }
        )
    )
    ids = sorted(frailty)
    extra = {"risk": pa.array([risk[i] for i in ids], pa.float64())} if risk else {}
    pq.write_table(
        pa.table(
            {
                **extra,
                "person_id": pa.array(ids, pa.int64()),
                "practice_code": ["P81001"] * len(ids),
                "neighbourhood_code": ["NBH01"] * len(ids),
                "efi_category": ["fit"] * len(ids),
                "hfrs_category": ["low"] * len(ids),
                "frailty_four_group": [frailty[i] for i in ids],
            }
        ),
        folder / "person_results.parquet",
    )


def test_scheduling_needs_a_neighbourhood_member_and_invites_users_and_guests(
    sessions: sessionmaker[Session], gp: Principal
) -> None:
    nurse = _user(sessions, "nurse-ned", "nurse", "P81003")
    with pytest.raises(mdt.MdtNotAllowed):
        mdt.schedule_meeting(sessions, nurse, neighbourhood_code="NBH01", starts_at=START)
    with pytest.raises(mdt.MdtError, match="no neighbourhood"):
        mdt.schedule_meeting(sessions, gp, neighbourhood_code="P81001", starts_at=START)
    meeting_id = mdt.schedule_meeting(
        sessions,
        gp,
        neighbourhood_code="NBH01",
        starts_at=START,
        location="Mill Lane, room 2",
        attendee_user_ids=[nurse.user_id],
        guests=[mdt.Guest("Sam Patel", "Housing officer", "Riverside Council")],
    )
    detail = mdt.get_meeting(sessions, meeting_id)
    assert detail is not None
    assert detail.meeting.neighbourhood_name == "North Riverside Neighbourhood"
    assert [(a.name, a.user_id is None) for a in detail.attendees] == [
        ("Dr-Ada", False),
        ("Nurse-Ned", False),
        ("Sam Patel", True),
    ]
    assert detail.attendees[0].organisation == "North Riverside Neighbourhood"
    assert detail.attendees[0].role == "GP"
    with sessions() as session:
        row = session.get(MdtMeeting, meeting_id)
        assert row is not None
        assert mdt.may_run(session, nurse, row)  # invited, though not a member


def test_the_agenda_gives_each_kind_of_reason_and_keeps_discussed_items(
    sessions: sessionmaker[Session], gp: Principal, settings: Settings
) -> None:
    long_ago = START - dt.timedelta(days=200)
    earlier = mdt.schedule_meeting(
        sessions, gp, neighbourhood_code="NBH01", starts_at=START - dt.timedelta(days=60)
    )
    _enter(sessions, gp, 1, added=long_ago)
    # Added after the earlier meeting was set, and on its agenda (review due): not new later.
    _enter(
        sessions, gp, 9, added=START - dt.timedelta(days=50),
        review_due_on=(START - dt.timedelta(days=61)).date(),
    )  # fmt: skip
    mdt.regenerate_agenda(sessions, settings, gp, earlier)
    mdt.close_meeting(sessions, gp, earlier)
    _enter(sessions, gp, 2, added=START - dt.timedelta(days=10))  # new since the last meeting
    _enter(sessions, gp, 3, added=long_ago, review_due_on=DAY - dt.timedelta(days=1))
    _enter(sessions, gp, 4, added=long_ago)
    _enter(sessions, gp, 5, added=long_ago)
    _enter(sessions, gp, 6, added=long_ago, neighbourhood="NBH02")  # another neighbourhood
    _enter(sessions, gp, 7, added=START - dt.timedelta(days=5), status="declined")  # left
    _enter(sessions, gp, 8, added=long_ago)
    with sessions() as session, session.begin():
        session.add(
            CarePlan(
                person_id=4,
                version=1,
                status="agreed",
                review_due_on=DAY,
                created_at=long_ago,
                updated_at=long_ago,
                updated_by=gp.user_id,
            )
        )
    create_action(
        sessions,
        gp,
        person_id=5,
        title="Chase bloods",
        source="register",
        owner_user_id=gp.user_id,
        owner_name="Dr Ada",
        owner_org="Mill Lane",
        due_on=DAY - dt.timedelta(days=7),
    )
    write_run(settings.home, "r1", "2026-01-01T00:00:00", {8: "well", 1: "well"})
    write_run(settings.home, "r2", "2026-02-01T00:00:00", {8: "emerging", 1: "well"})

    meeting_id = mdt.schedule_meeting(sessions, gp, neighbourhood_code="NBH01", starts_at=START)
    change = mdt.regenerate_agenda(sessions, settings, gp, meeting_id)
    detail = mdt.get_meeting(sessions, meeting_id)
    assert detail is not None
    reasons = {i.person_id: " | ".join(i.reasons) for i in detail.agenda}
    assert set(reasons) == {2, 3, 4, 5, 8, 9}, reasons
    assert "New on the register since the last meeting" in reasons[2]
    assert "New on the register" not in reasons[9] and "Register review due" in reasons[9]
    assert "Register review due on 2 December 2026" in reasons[3]
    assert "Care plan review due on 3 December 2026" in reasons[4]
    assert "1 action is overdue (the oldest was due on 26 November 2026)" in reasons[5]
    assert "Rising need" in reasons[8] and "Largely healthy to Emerging frailty" in reasons[8]
    assert detail.agenda[0].person_id == 5  # overdue actions come first
    assert change.people == 6 and change.new == 6

    mdt.mark_discussed(sessions, gp, meeting_id, 2, note="Seen by the nurse")
    with sessions() as session, session.begin():  # person 2 leaves the register
        entry = session.scalars(select(RegisterEntry).where(RegisterEntry.person_id == 2)).one()
        entry.status = "discharged"
        session.delete(
            session.scalars(select(RegisterEntry).where(RegisterEntry.person_id == 3)).one()
        )
    change = mdt.regenerate_agenda(sessions, settings, gp, meeting_id)
    detail = mdt.get_meeting(sessions, meeting_id)
    assert detail is not None
    assert detail.agenda[0].person_id == 2  # discussed: kept, and first
    assert detail.item(2) is not None and detail.item(2).note == "Seen by the nurse"  # type: ignore[union-attr]
    assert detail.item(3) is None
    assert (change.discussed_kept, change.dropped) == (1, 1)
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mdt.agenda").order_by(AuditEvent.id)
        ).all()
    assert events[-1].detail["reasons"]["riser"] == 1
    assert "Chase" not in json.dumps([e.detail for e in events])


def test_decisions_become_actions_in_one_transaction_and_bad_ones_write_nothing(
    sessions: sessionmaker[Session], gp: Principal, settings: Settings
) -> None:
    _enter(sessions, gp, 21, added=START - dt.timedelta(days=3))
    meeting_id = mdt.schedule_meeting(sessions, gp, neighbourhood_code="NBH01", starts_at=START)
    mdt.regenerate_agenda(sessions, settings, gp, meeting_id)
    good = mdt.ActionInput("Refer to falls clinic", "Dr Ada", "Mill Lane", DAY, gp.user_id)
    bad = mdt.ActionInput("   ", "Dr Ada", "Mill Lane", DAY, gp.user_id)
    with pytest.raises(ActionError, match="Enter the action"):
        mdt.record_decision(sessions, gp, meeting_id, 21, text="Falls review", actions=[good, bad])
    assert open_actions(sessions, person_id=21) == []
    with pytest.raises(mdt.MdtError, match="not on the meeting's agenda"):
        mdt.record_decision(sessions, gp, meeting_id, 99, text="Who?")
    decision_id = mdt.record_decision(
        sessions, gp, meeting_id, 21, text="Falls review <b>now</b>", actions=[good]
    )
    [action] = open_actions(sessions, person_id=21)
    assert (action.source, action.mdt_decision_id, action.mdt_meeting_id) == (
        "mdt_decision",
        decision_id,
        meeting_id,
    )
    assert action.owner_user_id == gp.user_id
    detail = mdt.get_meeting(sessions, meeting_id)
    assert detail is not None
    assert detail.item(21).discussed  # type: ignore[union-attr]
    assert [d.text for d in detail.decisions_for(21)] == ["Falls review <b>now</b>"]
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mdt.decision")).one()
    assert event.person_id == 21 and event.detail["action_ids"] == [action.id]
    assert "Falls" not in json.dumps(event.detail)


def test_closing_writes_minutes_and_carries_open_actions_to_the_next_meeting(
    sessions: sessionmaker[Session], gp: Principal, settings: Settings
) -> None:
    _enter(sessions, gp, 31, added=START - dt.timedelta(days=3))
    _enter(sessions, gp, 32, added=START - dt.timedelta(days=3))
    nurse = _user(sessions, "nurse-ned", "nurse", "NBH01")
    first = mdt.schedule_meeting(
        sessions,
        gp,
        neighbourhood_code="NBH01",
        starts_at=START,
        location="Room 2",
        attendee_user_ids=[nurse.user_id],
        guests=[mdt.Guest("Sam Patel", "Housing officer", "Riverside Council")],
    )
    mdt.regenerate_agenda(sessions, settings, gp, first)
    detail = mdt.get_meeting(sessions, first)
    assert detail is not None
    ada, _ned, sam = detail.attendees
    mdt.record_attendance(sessions, gp, first, present=[ada.id, sam.id])
    mdt.record_decision(
        sessions,
        gp,
        first,
        31,
        text="Housing assessment",
        actions=[
            mdt.ActionInput("Assess housing", sam.name, sam.organisation, DAY + dt.timedelta(7)),
            mdt.ActionInput(
                "Review medicines", ada.name, "Mill Lane", DAY + dt.timedelta(14), gp.user_id
            ),
        ],
    )
    done = next(a for a in open_actions(sessions, person_id=31) if a.title == "Review medicines")
    complete_action(sessions, gp, done.id, outcome="Stopped two", expected_version=1)
    later = START + dt.timedelta(days=28)
    second = mdt.schedule_meeting(sessions, gp, neighbourhood_code="NBH01", starts_at=later)

    minutes = mdt.close_meeting(sessions, gp, first, people={31: "NHS number 999 000 0031"})
    assert "North Riverside Neighbourhood multidisciplinary team meeting" in minutes
    assert (
        "Present: Dr-Ada (GP, North Riverside Neighbourhood); Sam Patel (Housing officer, "
        "Riverside Council)" in minutes
    )
    assert "Apologies: Nurse-Ned" in minutes
    assert "NHS number 999 000 0031 (discussed)" in minutes
    assert "Person 32 (not discussed)" in minutes
    assert "DECISION: Housing assessment" in minutes
    assert (
        "ACTION: Assess housing — owner Sam Patel (Riverside Council), due 10 December "
        "2026 [open]" in minutes
    )
    assert "[done]" in minutes
    assert (
        "1 open action(s) carry over to the next meeting (31 December 2026 at 13:00 (UK time))"
        in minutes
    )
    held = mdt.get_meeting(sessions, first)
    assert held is not None and held.meeting.status == "held" and held.meeting.minutes == minutes
    [carried] = open_actions(sessions, person_id=31)
    assert carried.title == "Assess housing" and carried.mdt_meeting_id == second
    nxt = mdt.get_meeting(sessions, second)
    assert nxt is not None
    assert [a.id for a in nxt.carried_in] == [carried.id]
    assert nxt.item(31) is not None and "carried over" in nxt.item(31).reasons[0]  # type: ignore[union-attr]
    mdt.regenerate_agenda(sessions, settings, gp, second)
    again = mdt.get_meeting(sessions, second)
    assert again is not None and "carried over" in again.item(31).reasons[0]  # type: ignore[union-attr]
    with pytest.raises(mdt.MdtError, match="held"):
        mdt.record_decision(sessions, gp, first, 31, text="Too late")
    # the meeting's record still lists the action it raised
    assert carried.id in [a.id for a in held.actions]
    got = get_action(sessions, carried.id)
    assert got is not None and got.status == "open"


def test_a_third_meeting_picks_up_actions_when_none_was_scheduled_at_closing(
    sessions: sessionmaker[Session], gp: Principal, settings: Settings
) -> None:
    _enter(sessions, gp, 41, added=START - dt.timedelta(days=3))
    first = mdt.schedule_meeting(sessions, gp, neighbourhood_code="NBH01", starts_at=START)
    mdt.regenerate_agenda(sessions, settings, gp, first)
    mdt.record_decision(
        sessions,
        gp,
        first,
        41,
        text="Call",
        actions=[mdt.ActionInput("Phone carer", "Dr Ada", "Mill Lane", DAY, gp.user_id)],
    )
    minutes = mdt.close_meeting(sessions, gp, first)
    assert "carry over to the neighbourhood's next meeting when it is scheduled" in minutes
    nxt = mdt.schedule_meeting(
        sessions, gp, neighbourhood_code="NBH01", starts_at=START + dt.timedelta(days=30)
    )
    with sessions() as session:
        moved = session.scalars(select(CareAction).where(CareAction.person_id == 41)).one()
    assert moved.mdt_meeting_id == nxt


def test_only_neighbourhood_members_or_attendees_may_run_a_meeting(
    sessions: sessionmaker[Session], gp: Principal, settings: Settings
) -> None:
    meeting_id = mdt.schedule_meeting(sessions, gp, neighbourhood_code="NBH01", starts_at=START)
    outsider = _user(sessions, "nurse-out", "nurse", "P81003")
    with pytest.raises(mdt.MdtNotAllowed):
        mdt.regenerate_agenda(sessions, settings, outsider, meeting_id)
    with pytest.raises(mdt.MdtNotAllowed):
        mdt.close_meeting(sessions, outsider, meeting_id)
    with pytest.raises(mdt.MdtNotAllowed):
        mdt.close_meeting(sessions, principal("manager", user_id=gp.user_id), meeting_id)
    with pytest.raises(mdt.MeetingNotFound):
        mdt.close_meeting(sessions, gp, 9_999)
