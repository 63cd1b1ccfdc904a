"""Multidisciplinary team (MDT) meetings of a neighbourhood: schedule, agenda, decisions, minutes.

The loop (C5): a neighbourhood member schedules a meeting with attendees from each
organisation (joinedup users and named guests); `regenerate_agenda` builds its agenda from the
register (`joinedup.care.mdt_agenda`: who and why), keeping every item already discussed; in
the meeting each decision is recorded with its actions in one transaction
(`record_decision`), people are marked discussed and attendance recorded; `close_meeting`
writes the minutes and carries every action still open to the neighbourhood's next meeting,
where it shows on the agenda.

Who may run a meeting: a user who works in the neighbourhood (or the federation above it), or
an invited attendee. Who may see the people on its agenda: see `joinedup.care.mdt_people`.
Every write is one `unit_of_work`; audit details hold counts and ids, never what was said.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.actions import ActionRecord, action_record, new_action_row
from joinedup.care.mdt_agenda import agenda_candidates
from joinedup.care.mdt_minutes import write_minutes
from joinedup.care.mdt_records import (
    AgendaItemRecord,
    AttendeeRecord,
    DecisionRecord,
    MeetingDetail,
    MeetingRecord,
)
from joinedup.care.models import (
    CareAction,
    MdtAgendaItem,
    MdtAttendee,
    MdtDecision,
    MdtMeeting,
)
from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import UnitOfWork, unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered, user_practices
from joinedup.governance.roles import Principal, role_book
from joinedup.settings import Settings

DECISION_MAX = 4_000
NOTE_MAX = 2_000
LOCATION_MAX = 200


class MdtError(UserError, ValueError):
    """A meeting cannot be scheduled or changed as asked; the message says why."""


class MdtNotAllowed(UserError, PermissionError):
    """The user may not run this neighbourhood's meetings."""


class MeetingNotFound(MdtError, LookupError):
    """There is no meeting with that id."""


@dataclass(frozen=True)
class Guest:
    """An attendee who does not sign in to joinedup (a hospice nurse, a housing officer …)."""

    name: str
    role: str
    organisation: str


@dataclass(frozen=True)
class ActionInput:
    """One action a decision creates."""

    title: str
    owner_name: str
    owner_org: str
    due_on: dt.date
    owner_user_id: int | None = None


# --- reads ---------------------------------------------------------------------------------


def _names(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(Organisation.org_code, Organisation.name).where(
            Organisation.org_type == "neighbourhood"
        )
    ).all()
    return {code: name for code, name in rows}


def _meeting_record(row: MdtMeeting, names: dict[str, str], agenda_size: int = 0) -> MeetingRecord:
    return MeetingRecord(
        row.id,
        row.neighbourhood_code,
        names.get(row.neighbourhood_code, row.neighbourhood_code),
        row.starts_at,
        row.location,
        row.status,
        row.held_at,
        row.minutes,
        agenda_size,
    )


def list_meetings(
    sessions: sessionmaker[Session], neighbourhood_code: str | None = None
) -> list[MeetingRecord]:
    """Meetings by neighbourhood, then start (newest last), with their agenda sizes."""
    query = select(MdtMeeting).order_by(MdtMeeting.neighbourhood_code, MdtMeeting.starts_at)
    if neighbourhood_code is not None:
        query = query.where(MdtMeeting.neighbourhood_code == neighbourhood_code)
    with sessions() as session:
        names = _names(session)
        sizes: dict[int, int] = dict(
            session.execute(
                select(MdtAgendaItem.meeting_id, func.count()).group_by(MdtAgendaItem.meeting_id)
            ).all()
        )
        return [_meeting_record(m, names, sizes.get(m.id, 0)) for m in session.scalars(query)]


def neighbourhoods(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Active neighbourhoods: code → name, by name."""
    with sessions() as session:
        rows = session.execute(
            select(Organisation.org_code, Organisation.name)
            .where(Organisation.org_type == "neighbourhood", Organisation.active.is_(True))
            .order_by(Organisation.name)
        ).all()
    return {code: name for code, name in rows}


def get_meeting(sessions: sessionmaker[Session], meeting_id: int) -> MeetingDetail | None:
    with sessions() as session:
        row = session.get(MdtMeeting, meeting_id)
        if row is None:
            return None
        return _detail(session, row)


def _detail(session: Session, row: MdtMeeting) -> MeetingDetail:
    attendees = [
        AttendeeRecord(a.id, a.user_id, a.name, a.role, a.organisation, a.attended)
        for a in session.scalars(
            select(MdtAttendee).where(MdtAttendee.meeting_id == row.id).order_by(MdtAttendee.id)
        )
    ]
    agenda = [
        AgendaItemRecord(i.id, i.person_id, i.position, tuple(i.reasons), i.discussed, i.note)
        for i in session.scalars(
            select(MdtAgendaItem)
            .where(MdtAgendaItem.meeting_id == row.id)
            .order_by(MdtAgendaItem.position, MdtAgendaItem.id)
        )
    ]
    decisions = [
        DecisionRecord(d.id, d.person_id, d.text, d.recorded_at, name or "")
        for d, name in session.execute(
            select(MdtDecision, User.display_name)
            .join(User, User.id == MdtDecision.recorded_by)
            .where(MdtDecision.meeting_id == row.id)
            .order_by(MdtDecision.id)
        )
    ]
    decision_ids = {d.id for d in decisions}
    raised: list[ActionRecord] = []
    carried: list[ActionRecord] = []
    for action in session.scalars(
        select(CareAction)
        .where(CareAction.mdt_meeting_id == row.id)
        .order_by(CareAction.due_on, CareAction.id)
    ):
        (raised if action.mdt_decision_id in decision_ids else carried).append(
            action_record(action)
        )
    # Actions raised here and since carried on still belong to this meeting's record.
    if decision_ids:
        raised += [
            action_record(a)
            for a in session.scalars(
                select(CareAction).where(
                    CareAction.mdt_decision_id.in_(decision_ids),
                    CareAction.mdt_meeting_id != row.id,
                )
            )
        ]
    carried = [a for a in carried if a.is_open]
    meeting = _meeting_record(row, _names(session), len(agenda))
    return MeetingDetail(meeting, attendees, agenda, decisions, raised, carried)


# --- who may run a meeting -----------------------------------------------------------------


def works_in_neighbourhood(session: Session, user_id: int, neighbourhood_code: str) -> bool:
    """Whether the user works in the neighbourhood (or above it): every practice of it is theirs."""
    practices = practices_covered(session, [neighbourhood_code])
    return bool(practices) and practices <= user_practices(session, user_id)


def may_run(session: Session, principal: Principal, meeting: MdtMeeting) -> bool:
    """A neighbourhood member or an invited attendee may change the meeting."""
    if works_in_neighbourhood(session, principal.user_id, meeting.neighbourhood_code):
        return True
    attendee = session.scalar(
        select(MdtAttendee.id).where(
            MdtAttendee.meeting_id == meeting.id, MdtAttendee.user_id == principal.user_id
        )
    )
    return attendee is not None


def may_run_meeting(sessions: sessionmaker[Session], principal: Principal, meeting_id: int) -> bool:
    """`may_run` for the meeting `meeting_id` (False if there is none)."""
    with sessions() as session:
        row = session.get(MdtMeeting, meeting_id)
        return row is not None and may_run(session, principal, row)


def neighbourhoods_worked_in(
    sessions: sessionmaker[Session], user_id: int, codes: Sequence[str]
) -> list[str]:
    """Those of the neighbourhoods `codes` the user works in, in the same order."""
    with sessions() as session:
        return [c for c in codes if works_in_neighbourhood(session, user_id, c)]


def _check_can_write(principal: Principal) -> None:
    if not principal.can("care.write"):
        raise MdtNotAllowed(f"the {principal.role_name} role may not change MDT meetings")


def _open_meeting(session: Session, principal: Principal, meeting_id: int) -> MdtMeeting:
    """The meeting, if it exists, is still open and `principal` may run it."""
    meeting = session.get(MdtMeeting, meeting_id)
    if meeting is None:
        raise MeetingNotFound(f"there is no meeting {meeting_id}")
    if not may_run(session, principal, meeting):
        raise MdtNotAllowed("only members of the neighbourhood and invited attendees may do that")
    if meeting.status != "scheduled":
        raise MdtError(f"this meeting is {meeting.status}: it can no longer be changed")
    return meeting


def _unit(
    sessions: sessionmaker[Session],
    principal: Principal,
    verb: str,
    meeting_id: int | None = None,
    person_id: int | None = None,
) -> AbstractContextManager[UnitOfWork]:
    """The unit of work of one MDT write, audited as ``mdt.<verb>`` on the meeting."""
    return unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"mdt.{verb}",
        entity_type="mdt_meeting",
        entity_id=None if meeting_id is None else str(meeting_id),
        person_id=person_id,
        purpose=DIRECT_CARE,
    )


# --- scheduling ----------------------------------------------------------------------------


def schedule_meeting(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    neighbourhood_code: str,
    starts_at: dt.datetime,
    location: str = "",
    attendee_user_ids: Sequence[int] = (),
    guests: Sequence[Guest] = (),
) -> int:
    """Schedule a meeting of a neighbourhood with its attendees; its id.

    The scheduler must work in the neighbourhood, and is invited too. Open actions of the
    neighbourhood's held meetings carry to it if it is the next meeting.
    """
    _check_can_write(principal)
    if starts_at.tzinfo is None:
        raise MdtError("Enter the date and start time of the meeting")
    place = " ".join(location.split())
    if len(place) > LOCATION_MAX:
        raise MdtError(f"Where the meeting is must be {LOCATION_MAX} characters or fewer")
    with _unit(sessions, principal, "schedule") as uow:
        session = uow.session
        org = session.get(Organisation, neighbourhood_code)
        if org is None or org.org_type != "neighbourhood" or not org.active:
            raise MdtError(f"there is no neighbourhood {neighbourhood_code!r}")
        if not works_in_neighbourhood(session, principal.user_id, neighbourhood_code):
            raise MdtNotAllowed("only people who work in a neighbourhood may schedule its meetings")
        meeting = MdtMeeting(
            neighbourhood_code=neighbourhood_code,
            starts_at=starts_at,
            location=place or None,
            status="scheduled",
            created_by=principal.user_id,
            created_at=uow.now,
        )
        session.add(meeting)
        session.flush()
        users = list(dict.fromkeys([principal.user_id, *attendee_user_ids]))
        for user_id in users:
            session.add(_user_attendee(session, meeting.id, user_id))
        for guest in guests:
            session.add(_guest_attendee(meeting.id, guest))
        carried = carry_outstanding(session, neighbourhood_code)
        uow.audit.entity_id = str(meeting.id)
        uow.audit.detail.update(
            neighbourhood=neighbourhood_code,
            users=len(users),
            guests=len(guests),
            actions_carried=carried,
        )
        return int(meeting.id)


def _user_attendee(session: Session, meeting_id: int, user_id: int) -> MdtAttendee:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise MdtError("an attendee is not an active joinedup user: add them as a guest")
    org_name = session.scalar(
        select(Organisation.name)
        .join(UserOrganisation, UserOrganisation.org_code == Organisation.org_code)
        .where(UserOrganisation.user_id == user_id)
        .order_by(Organisation.name)
        .limit(1)
    )
    role = role_book().roles.get(user.role)
    return MdtAttendee(
        meeting_id=meeting_id,
        user_id=user_id,
        name=user.display_name,
        role=role.name if role else user.role,
        organisation=org_name or "",
    )


def _guest_attendee(meeting_id: int, guest: Guest) -> MdtAttendee:
    name, role, org = (" ".join(v.split()) for v in (guest.name, guest.role, guest.organisation))
    if not name or not org:
        raise MdtError("Enter each guest's name and organisation")
    if max(len(name), len(org)) > 200 or len(role) > 100:
        raise MdtError("Each guest's name, role and organisation must be shorter")
    return MdtAttendee(meeting_id=meeting_id, user_id=None, name=name, role=role, organisation=org)


def carry_outstanding(session: Session, neighbourhood_code: str) -> int:
    """Move open actions of the neighbourhood's held meetings to its next scheduled meeting
    (the earliest), if it starts after them; how many moved. Inside the caller's unit of work.
    """
    target = session.scalars(
        select(MdtMeeting)
        .where(
            MdtMeeting.neighbourhood_code == neighbourhood_code,
            MdtMeeting.status == "scheduled",
        )
        .order_by(MdtMeeting.starts_at, MdtMeeting.id)
        .limit(1)
    ).first()
    if target is None:
        return 0
    held = select(MdtMeeting.id).where(
        MdtMeeting.neighbourhood_code == neighbourhood_code,
        MdtMeeting.status == "held",
        MdtMeeting.starts_at <= target.starts_at,
    )
    moving = session.scalars(
        select(CareAction).where(CareAction.status == "open", CareAction.mdt_meeting_id.in_(held))
    ).all()
    for action in moving:
        action.mdt_meeting_id = target.id
    _agenda_for_carried(session, target, {a.person_id for a in moving})
    return len(moving)


def _agenda_for_carried(session: Session, meeting: MdtMeeting, people: set[int]) -> None:
    """Put people with carried actions on the target meeting's agenda (it may be generated)."""
    if not people:
        return
    items = {
        i.person_id: i
        for i in session.scalars(
            select(MdtAgendaItem).where(MdtAgendaItem.meeting_id == meeting.id)
        )
    }
    words = "Actions carried over from an earlier meeting"
    position = max((i.position for i in items.values()), default=0)
    for person_id in sorted(people):
        item = items.get(person_id)
        if item is None:
            position += 1
            session.add(
                MdtAgendaItem(
                    meeting_id=meeting.id,
                    person_id=person_id,
                    position=position,
                    reasons=[words],
                    discussed=False,
                )
            )
        elif not any(
            r.startswith("Actions carried over") or "carried over" in r for r in item.reasons
        ):
            item.reasons = [words, *item.reasons]
    session.flush()


# --- the agenda ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaChange:
    """What regenerating an agenda did."""

    people: int  # on the agenda now
    new: int  # not on it before
    dropped: int  # undiscussed items whose reasons no longer hold
    discussed_kept: int


def regenerate_agenda(
    sessions: sessionmaker[Session],
    settings: Settings | None,
    principal: Principal,
    meeting_id: int,
) -> AgendaChange:
    """Build the agenda from the register again; items already discussed are kept as they are.

    Undiscussed items are replaced by the current candidates (`mdt_agenda.agenda_candidates`),
    so the agenda can be regenerated as often as wanted before and during the meeting.
    """
    _check_can_write(principal)
    with sessions() as session:
        meeting = _open_meeting(session, principal, meeting_id)
        session.expunge(meeting)
    candidates = agenda_candidates(sessions, settings, meeting)  # reads outside the write
    with _unit(sessions, principal, "agenda", meeting_id) as uow:
        _open_meeting(uow.session, principal, meeting_id)
        existing = {
            i.person_id: i
            for i in uow.session.scalars(
                select(MdtAgendaItem).where(MdtAgendaItem.meeting_id == meeting_id)
            )
        }
        kept = sorted((i for i in existing.values() if i.discussed), key=lambda i: i.position)
        for item in existing.values():
            if not item.discussed:
                uow.session.delete(item)
        uow.session.flush()  # the (meeting, person) pairs are free to be added again
        for position, item in enumerate(kept, start=1):
            item.position = position
        discussed = {i.person_id for i in kept}
        fresh = [c for c in candidates if c.person_id not in discussed]
        for position, candidate in enumerate(fresh, start=len(kept) + 1):
            uow.session.add(
                MdtAgendaItem(
                    meeting_id=meeting_id,
                    person_id=candidate.person_id,
                    position=position,
                    reasons=candidate.texts(),
                    discussed=False,
                )
            )
        wanted = {c.person_id for c in candidates}
        change = AgendaChange(
            people=len(kept) + len(fresh),
            new=len(wanted - set(existing)),
            dropped=len(set(existing) - discussed - wanted),
            discussed_kept=len(kept),
        )
        kinds = Counter(kind for c in fresh for kind in {k for k, _ in c.reasons})
        uow.audit.detail.update(
            people=change.people, new=change.new, dropped=change.dropped, reasons=dict(kinds)
        )
        return change


# --- in the meeting ------------------------------------------------------------------------


def record_decision(
    sessions: sessionmaker[Session],
    principal: Principal,
    meeting_id: int,
    person_id: int,
    *,
    text: str,
    actions: Sequence[ActionInput] = (),
) -> int:
    """Record a decision about a person on the agenda and create its actions, in one
    transaction; the person is marked discussed. The decision's id."""
    _check_can_write(principal)
    words = text.strip()
    if not words:
        raise MdtError("Enter the decision")
    if len(words) > DECISION_MAX:
        raise MdtError(f"The decision must be {DECISION_MAX:,} characters or fewer")
    with _unit(sessions, principal, "decision", meeting_id, person_id) as uow:
        _open_meeting(uow.session, principal, meeting_id)
        item = _agenda_item(uow.session, meeting_id, person_id)
        decision = MdtDecision(
            meeting_id=meeting_id,
            person_id=person_id,
            text=words,
            recorded_at=uow.now,
            recorded_by=principal.user_id,
        )
        uow.session.add(decision)
        uow.session.flush()
        action_ids = [
            new_action_row(
                uow.session,
                principal,
                uow.now,
                person_id=person_id,
                title=a.title,
                source="mdt_decision",
                owner_user_id=a.owner_user_id,
                owner_name=a.owner_name,
                owner_org=a.owner_org,
                due_on=a.due_on,
                mdt_decision_id=decision.id,
                mdt_meeting_id=meeting_id,
            ).id
            for a in actions
        ]
        item.discussed = True
        uow.audit.detail.update(decision_id=decision.id, action_ids=action_ids)
        return int(decision.id)


def _agenda_item(session: Session, meeting_id: int, person_id: int) -> MdtAgendaItem:
    item = session.scalars(
        select(MdtAgendaItem).where(
            MdtAgendaItem.meeting_id == meeting_id, MdtAgendaItem.person_id == person_id
        )
    ).first()
    if item is None:
        raise MdtError("this person is not on the meeting's agenda")
    return item


def mark_discussed(
    sessions: sessionmaker[Session],
    principal: Principal,
    meeting_id: int,
    person_id: int,
    *,
    discussed: bool = True,
    note: str = "",
) -> None:
    """Mark a person on the agenda discussed (or not), with an optional note."""
    _check_can_write(principal)
    text = note.strip()
    if len(text) > NOTE_MAX:
        raise MdtError(f"The note must be {NOTE_MAX:,} characters or fewer")
    with _unit(sessions, principal, "discussed", meeting_id, person_id) as uow:
        _open_meeting(uow.session, principal, meeting_id)
        item = _agenda_item(uow.session, meeting_id, person_id)
        item.discussed = discussed
        if text:
            item.note = text
        uow.audit.detail.update(discussed=discussed, has_note=bool(text))


def record_attendance(
    sessions: sessionmaker[Session],
    principal: Principal,
    meeting_id: int,
    *,
    present: Sequence[int],
) -> None:
    """Attendees whose ids are in `present` attended; every other invitee sent apologies."""
    _check_can_write(principal)
    with _unit(sessions, principal, "attendance", meeting_id) as uow:
        _open_meeting(uow.session, principal, meeting_id)
        attendees = uow.session.scalars(
            select(MdtAttendee).where(MdtAttendee.meeting_id == meeting_id)
        ).all()
        unknown = set(present) - {a.id for a in attendees}
        if unknown:
            raise MdtError("an attendee named is not invited to this meeting")
        for attendee in attendees:
            attendee.attended = attendee.id in set(present)
        uow.audit.detail.update(present=len(set(present)), invited=len(attendees))


# --- closing -------------------------------------------------------------------------------


def close_meeting(
    sessions: sessionmaker[Session],
    principal: Principal,
    meeting_id: int,
    *,
    people: dict[int, str] | None = None,
) -> str:
    """Mark the meeting held, write and keep its minutes, and carry open actions to the
    neighbourhood's next meeting. `people` names each agenda person in the minutes (e.g. by
    NHS number); by default they are named by person number. The minutes."""
    _check_can_write(principal)
    with _unit(sessions, principal, "close", meeting_id) as uow:
        meeting = _open_meeting(uow.session, principal, meeting_id)
        meeting.status = "held"
        meeting.held_at = uow.now
        uow.session.flush()
        detail = _detail(uow.session, meeting)
        next_meeting = _next_meeting(uow.session, meeting)
        minutes = write_minutes(detail, people or {}, next_meeting)
        meeting.minutes = minutes
        carried = carry_outstanding(uow.session, meeting.neighbourhood_code)
        uow.audit.detail.update(
            decisions=len(detail.decisions),
            actions=len(detail.actions),
            actions_carried=carried,
            next_meeting_id=next_meeting.id if next_meeting else None,
        )
        return minutes


def _next_meeting(session: Session, meeting: MdtMeeting) -> MeetingRecord | None:
    row = session.scalars(
        select(MdtMeeting)
        .where(
            MdtMeeting.neighbourhood_code == meeting.neighbourhood_code,
            MdtMeeting.status == "scheduled",
            MdtMeeting.id != meeting.id,
        )
        .order_by(MdtMeeting.starts_at, MdtMeeting.id)
        .limit(1)
    ).first()
    return None if row is None else _meeting_record(row, _names(session))
