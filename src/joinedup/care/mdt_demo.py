"""Demo MDT meetings: one held (attendance, decisions, actions, minutes) and one upcoming with
its agenda built from the register, so the demo shows the whole loop.

Run after the register has been seeded (the agendas are built from it). Everything goes
through the ordinary write services, so the demo's rows are audited like any others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care import mdt
from joinedup.care.mdt_agenda import CARED_FOR_STATES
from joinedup.care.mdt_people import list_labels
from joinedup.care.models import RegisterEntry
from joinedup.errors import UserError
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal, role_book
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

DEMO_GUEST = mdt.Guest("Sam Okafor", "Housing officer", "Riverside Borough Council")
#: What the held meeting decides for the first people on its agenda: (decision, actions as
#: (title, owner: "organiser" | "guest", days after the meeting it is due)).
DEMO_DECISIONS = (
    (
        "Falls and frailty review at home; check the home is safe for them.",
        (
            ("Home visit for a falls and frailty review", "organiser", 7),
            ("Home safety and adaptations assessment", "guest", 21),
        ),
    ),
    (
        "Structured medication review after the recent admission.",
        (("Structured medication review with the practice pharmacist", "organiser", 14),),
    ),
    ("No change: carry on with the current plan and review at the next meeting.", ()),
)


class DemoError(UserError, RuntimeError):
    """The demo meetings cannot be seeded (e.g. the organiser is unknown)."""


@dataclass(frozen=True)
class DemoMeetings:
    held_id: int
    upcoming_id: int
    decisions: int
    actions: int


def seed_demo_meetings(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    organiser_username: str,
    neighbourhood_code: str | None = None,
    now: dt.datetime | None = None,
) -> DemoMeetings:
    """A held meeting two weeks ago and an upcoming one in two weeks, in the neighbourhood with
    the most people on the register (or `neighbourhood_code`), organised by a user who works
    there. Other users working in the neighbourhood are invited, with one guest."""
    now = now or dt.datetime.now(dt.UTC)
    organiser = _principal(sessions, organiser_username)
    code = neighbourhood_code or _busiest_neighbourhood(sessions)
    invited = _colleagues(sessions, code, organiser.user_id)
    held_id = mdt.schedule_meeting(
        sessions,
        organiser,
        neighbourhood_code=code,
        starts_at=_at_one(now - dt.timedelta(days=14)),
        location="Neighbourhood hub, meeting room 1",
        attendee_user_ids=invited,
        guests=[DEMO_GUEST],
    )
    mdt.regenerate_agenda(sessions, settings, organiser, held_id)
    detail = _detail(sessions, held_id)
    mdt.record_attendance(
        sessions, organiser, held_id, present=[a.id for a in detail.attendees][:-1] or []
    )
    decisions, actions = _decide(sessions, organiser, detail)
    people = {i.person_id for i in detail.agenda}
    labels = list_labels(PopulationStore(settings.population_dir), people)
    upcoming_id = mdt.schedule_meeting(
        sessions,
        organiser,
        neighbourhood_code=code,
        starts_at=_at_one(now + dt.timedelta(days=14)),
        location="Neighbourhood hub, meeting room 1",
        attendee_user_ids=invited,
        guests=[DEMO_GUEST],
    )
    mdt.close_meeting(sessions, organiser, held_id, people=labels)
    mdt.regenerate_agenda(sessions, settings, organiser, upcoming_id)
    return DemoMeetings(held_id, upcoming_id, decisions, actions)


def _at_one(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=13, minute=0, second=0, microsecond=0)


def _principal(sessions: sessionmaker[Session], username: str) -> Principal:
    with sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise DemoError(f"there is no user {username!r} to organise the demo meetings")
        orgs = session.scalars(
            select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
        ).all()
        return Principal(user.id, user.username, user.display_name, user.role, tuple(orgs))


def _busiest_neighbourhood(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        row = session.execute(
            select(RegisterEntry.neighbourhood_code, func.count())
            .where(
                RegisterEntry.neighbourhood_code.is_not(None),
                RegisterEntry.status.in_(CARED_FOR_STATES),
            )
            .group_by(RegisterEntry.neighbourhood_code)
            .order_by(func.count().desc(), RegisterEntry.neighbourhood_code)
            .limit(1)
        ).first()
    if row is None:
        raise DemoError("nobody is on the register yet: seed the register before the meetings")
    return str(row[0])


def _colleagues(sessions: sessionmaker[Session], code: str, organiser_id: int) -> list[int]:
    """Up to four other users who work in the neighbourhood and may see records."""
    with sessions() as session:
        users = session.scalars(
            select(User.id).where(User.active.is_(True), User.id != organiser_id).order_by(User.id)
        ).all()
        return [
            u
            for u in users
            if mdt.works_in_neighbourhood(session, u, code) and _may_attend(session, u)
        ][:4]


def _may_attend(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and "record.view" in role_book().role(user.role).permissions


def _detail(sessions: sessionmaker[Session], meeting_id: int) -> mdt.MeetingDetail:
    detail = mdt.get_meeting(sessions, meeting_id)
    assert detail is not None
    return detail


def _decide(
    sessions: sessionmaker[Session], organiser: Principal, detail: mdt.MeetingDetail
) -> tuple[int, int]:
    day = detail.meeting.starts_at.date()
    me = next(a for a in detail.attendees if a.user_id == organiser.user_id)
    guest = next((a for a in detail.attendees if a.user_id is None), me)
    decisions = actions = 0
    for item, (text, planned) in zip(detail.agenda, DEMO_DECISIONS, strict=False):
        inputs = [
            mdt.ActionInput(
                title,
                (me if owner == "organiser" else guest).name,
                (me if owner == "organiser" else guest).organisation or "Not recorded",
                day + dt.timedelta(days=days),
                me.user_id if owner == "organiser" else None,
            )
            for title, owner, days in planned
        ]
        mdt.record_decision(
            sessions, organiser, detail.meeting.id, item.person_id, text=text, actions=inputs
        )
        decisions += 1
        actions += len(inputs)
    return decisions, actions
