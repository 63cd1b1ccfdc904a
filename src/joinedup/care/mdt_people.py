"""The people of an MDT meeting: who a user may see on its agenda, and each one's one-page summary.

**Who may see whom.** A neighbourhood MDT discusses the neighbourhood's people. A user sees a
person on the agenda when the legitimate-relationship rule allows it
(`joinedup.governance.relationships.person_access`: they work in the person's practice,
neighbourhood or federation, are on the care team, or broke glass), **or** when they are an
invited attendee of this meeting (a hospice nurse or social worker from outside the
neighbourhood's organisations joins the team for the people it discusses). The second basis
holds only inside the meeting's own pages, while the meeting is not cancelled. People a user
may not see are left off what they are shown and counted, never named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import latest_run
from joinedup.care.actions import ActionRecord, open_actions
from joinedup.care.mdt_agenda import activity_window_end, recent_activity
from joinedup.care.mdt_records import MeetingDetail
from joinedup.care.models import CarePlan, MdtAttendee, MdtMeeting, RegisterEntry
from joinedup.care.named_professionals import NamedProfessionalRecord, current_named_professional
from joinedup.care.person_record import RunPlace, run_place
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import PersonIdentity, find_person, person_labels, practices_of
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

SUMMARY_ACTIVITY_DAYS = 365


def is_attendee(sessions: sessionmaker[Session], principal: Principal, meeting_id: int) -> bool:
    with sessions() as session:
        meeting = session.get(MdtMeeting, meeting_id)
        if meeting is None or meeting.status == "cancelled":
            return False
        found = session.scalar(
            select(MdtAttendee.id).where(
                MdtAttendee.meeting_id == meeting_id, MdtAttendee.user_id == principal.user_id
            )
        )
    return found is not None


def visible_people(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    principal: Principal,
    meeting_id: int,
    person_ids: Iterable[int],
) -> set[int]:
    """The people of `person_ids` (on the meeting's agenda) that `principal` may see."""
    ids = set(person_ids)
    if not ids or not principal.can("record.view"):
        return set()
    if is_attendee(sessions, principal, meeting_id):
        return ids
    practices = practices_of(store, ids)
    return {p for p in ids if person_access(sessions, principal, p, practices.get(p)).allowed}


def list_labels(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, str]:
    """How lists and minutes name each person: "WEBB, Kim (NHS number 935 611 4935, aged
    91)", aged today."""
    labels = person_labels(store, person_ids, dt.date.today())
    return {person_id: str(label) for person_id, label in labels.items()}


@dataclass(frozen=True)
class PersonMdtSummary:
    """One page about a person for the meeting."""

    person: PersonIdentity
    nhs_number: str
    age: int
    register_status: str | None
    register_review_due_on: dt.date | None
    named_professional: NamedProfessionalRecord | None
    plan_status: str | None
    plan_review_due_on: dt.date | None
    run: RunPlace | None
    open_actions: list[ActionRecord]
    activity: list[str]
    activity_from: dt.date
    activity_to: dt.date


def person_summary(
    sessions: sessionmaker[Session],
    settings: Settings,
    detail: MeetingDetail,
    person_id: int,
) -> PersonMdtSummary | None:
    """The one-page summary of a person on the meeting's agenda; None if unknown."""
    store = PopulationStore(settings.population_dir)
    person = find_person(store, person_id)
    if person is None:
        return None
    meeting_day = detail.meeting.starts_at.date()
    end = activity_window_end(settings, meeting_day)
    with sessions() as session:
        entry = session.scalars(
            select(RegisterEntry).where(RegisterEntry.person_id == person_id)
        ).first()
        plan = session.scalars(select(CarePlan).where(CarePlan.person_id == person_id)).first()
    run = latest_run(settings)
    activity = recent_activity(settings, [person_id], end, SUMMARY_ACTIVITY_DAYS)
    return PersonMdtSummary(
        person=person,
        nhs_number=format_nhs_number(person.nhs_number),
        age=person.age_on(min(meeting_day, end)),
        register_status=entry.status if entry else None,
        register_review_due_on=entry.review_due_on if entry else None,
        named_professional=current_named_professional(sessions, person_id),
        plan_status=plan.status if plan else None,
        plan_review_due_on=plan.review_due_on if plan else None,
        run=run_place(run, person_id) if run is not None else None,
        open_actions=open_actions(sessions, person_id=person_id),
        activity=[words for _, words in activity],
        activity_from=end - dt.timedelta(days=SUMMARY_ACTIVITY_DAYS),
        activity_to=end,
    )
