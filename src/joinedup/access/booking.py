"""Free-slot search and booking with GP Connect Appointment Management semantics.

* `search_free_slots`: free slots that start in the future, lie wholly inside a range of at
  most 14 days (GP Connect's cap) and that the caller's kind may book, optionally of one or
  more hubs, one GPAD category and one mode.
* `book`: claims the slot and writes the appointment in one transaction with its audit event.
  The claim is one conditional statement (``UPDATE slots SET status = 'booked' WHERE id = ? AND
  status = 'free' AND <bookable by the caller now>``) and a partial unique index allows one
  booked appointment per slot, so the database, not Python, refuses a second booking
  (ADR 0017). A refusal raises `SlotUnavailable` (GP Connect's 409 DUPLICATE_REJECTED) and is
  itself audited.
* The hub serves its federation (`joinedup.access.federation`): `book` and `reschedule` take the
  practice the person is registered with and refuse anyone registered outside the hub's
  federation (`OutsideFederation`, audited), in the same transaction as the claim; a practice
  booker's own organisation must belong to that federation too.
* `cancel`: names the version the caller last saw (the FHIR ``If-Match``); a stale version
  raises `VersionMismatch` and changes nothing. The slot is freed in the same transaction.
* `reschedule`: cancel then book in one transaction; if the new slot is taken the whole
  transaction rolls back, so the old booking stands.

Who books (`Booker`) comes from the signed-in user or system token: NHS 111 books as
``nhs111``, everyone else with ``appointments.book`` as a practice of the federation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    false,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.federation import federations_of
from joinedup.access.models import (
    BOOKER_KINDS,
    Appointment,
    Hub,
    HubClinician,
    HubRoom,
    RotaSession,
    Slot,
)
from joinedup.carestore.uow import UnitOfWork, unit_of_work
from joinedup.errors import UserError
from joinedup.governance.roles import Principal

MAX_SEARCH_RANGE = dt.timedelta(days=14)
PURPOSE = "direct care: appointment booking"
NHS111_ROLE = "nhs111"


class BookingError(UserError, ValueError):
    """A booking request that cannot be done as asked."""


class SearchRangeError(BookingError):
    """A free-slot search over a range that is empty, reversed or longer than 14 days."""


class SlotUnavailable(BookingError):
    """The slot is no longer free (or not bookable by this caller now): nothing was booked."""


class OutsideFederation(BookingError):
    """The person is not registered with a practice of the hub's federation: nothing was booked."""


class NotFound(BookingError, LookupError):
    """No slot or appointment with that id."""


class VersionMismatch(BookingError):
    """The appointment changed since the version the caller named: nothing was changed."""


class NotCancellable(BookingError):
    """The appointment is not booked (already cancelled, attended or DNA) or is in the past."""


@dataclass(frozen=True)
class Booker:
    """Who is booking: the user (or system token's user), their kind and their organisation."""

    username: str
    role: str
    kind: str  # practice | nhs111 | person
    organisation: str


def booker_for(principal: Principal, organisation: str | None = None) -> Booker:
    """The booker a principal acts as, for `organisation` (one of theirs; their first if None)."""
    if not principal.organisations:
        raise BookingError("your account works in no organisation, so it cannot book")
    org = organisation or principal.organisations[0]
    if org not in principal.organisations:
        raise BookingError(f"you do not work in {org}, so you cannot book for it")
    kind = "nhs111" if principal.role == NHS111_ROLE else "practice"
    return Booker(principal.actor, principal.role, kind, org)


@dataclass(frozen=True)
class SlotView:
    """A slot with what a booker needs to choose it: its hub, clinician and room."""

    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    category: str
    mode: str
    hub_code: str
    hub_name: str
    hub_address: str
    pcn_code: str
    clinician_id: int
    clinician_name: str
    clinician_role: str
    room: str
    session_id: int


@dataclass(frozen=True)
class AppointmentView:
    """An appointment with its slot."""

    id: int
    person_id: int
    status: str
    version: int
    booked_by: str
    booker_kind: str
    booking_org: str
    description: str | None
    comment: str | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancellation_reason: str | None
    slot: SlotView


_SLOT_COLUMNS = (
    Slot.id,
    Slot.starts_at,
    Slot.ends_at,
    Slot.status,
    Slot.category,
    Slot.mode,
    Hub.code.label("hub_code"),
    Hub.name.label("hub_name"),
    Hub.address.label("hub_address"),
    Hub.pcn_code,
    HubClinician.id.label("clinician_id"),
    HubClinician.name.label("clinician_name"),
    HubClinician.role.label("clinician_role"),
    HubRoom.name.label("room"),
    Slot.session_id,
)


def _slot_query() -> Select[*tuple[Any, ...]]:  # the columns of `SlotView`
    query: Select[*tuple[Any, ...]] = (
        select(*_SLOT_COLUMNS)
        .join(Hub, Hub.id == Slot.hub_id)
        .join(RotaSession, RotaSession.id == Slot.session_id)
        .join(HubClinician, HubClinician.id == RotaSession.clinician_id)
        .join(HubRoom, HubRoom.id == RotaSession.room_id)
    )
    return query


#: One slot with its hub, clinician and room, by ``:slot_id``: built once, as building it cost
#: more than running it (bench/RESULTS.md).
_SLOT_BY_ID = _slot_query().where(Slot.id == bindparam("slot_id"))
#: The hub's network of a slot, by ``:slot_id``.
_HUB_PCN_OF_SLOT = (
    select(Hub.pcn_code).join(Slot, Slot.hub_id == Hub.id).where(Slot.id == bindparam("slot_id"))
)


def _slot_view(session: Session, slot_id: int) -> SlotView | None:
    row = session.connection().execute(_SLOT_BY_ID, {"slot_id": slot_id}).one_or_none()
    return None if row is None else SlotView(*row)


def bookable_by(kind: str, now: dt.datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether a slot may be booked by a caller of `kind` at `now` (the release rule for 111)."""
    if kind == "practice":
        return Slot.bookable_practices.is_(True)
    if kind == "nhs111":
        return or_(Slot.bookable_nhs111.is_(True), Slot.released_to_nhs111_at <= now)
    if kind == "person":
        return Slot.bookable_person.is_(True)
    return false()


def search_free_slots(
    sessions: sessionmaker[Session],
    *,
    kind: str,
    start: dt.datetime,
    end: dt.datetime,
    hubs: Sequence[str] = (),
    category: str | None = None,
    mode: str | None = None,
    clinician_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = 1000,
) -> list[SlotView]:
    """Free future slots wholly inside [start, end] that `kind` may book, earliest first."""
    now = now or dt.datetime.now(dt.UTC)
    if end <= start:
        raise SearchRangeError("the search range ends before it starts")
    if end - start > MAX_SEARCH_RANGE:
        raise SearchRangeError("search at most 14 days at a time")
    conditions = [
        Slot.status == "free",
        Slot.starts_at >= max(start, now),
        Slot.ends_at <= end,
        bookable_by(kind, now),
    ]
    if hubs:
        conditions.append(Slot.hub_id.in_(select(Hub.id).where(Hub.code.in_(hubs))))
    if category:
        conditions.append(Slot.category == category)
    if mode:
        conditions.append(Slot.mode == mode)
    if clinician_id is not None:
        conditions.append(
            Slot.session_id.in_(
                select(RotaSession.id).where(RotaSession.clinician_id == clinician_id)
            )
        )
    # One statement. The slots are chosen (and cut to `limit`) on the slots table alone, by
    # its index, in a subquery that carries every slot column the answer needs, and only then
    # joined to their hub, session, clinician and room (small tables): joining first would
    # join every free slot of the 14 days (60,000 across 30 hubs) before keeping the first
    # few, and joining the chosen ids back to `slots` made PostgreSQL scan the whole table.
    # (A second query with the ids as 1,000 parameters cost more in the driver than the
    # search itself: bench/RESULTS.md.)
    chosen = (
        select(
            Slot.id,
            Slot.starts_at,
            Slot.ends_at,
            Slot.status,
            Slot.category,
            Slot.mode,
            Slot.hub_id,
            Slot.session_id,
        )
        .where(and_(*conditions))
        .order_by(Slot.starts_at, Slot.id)
        .limit(limit)
        .subquery("chosen")
    )
    query = (
        select(
            chosen.c.id,
            chosen.c.starts_at,
            chosen.c.ends_at,
            chosen.c.status,
            chosen.c.category,
            chosen.c.mode,
            Hub.code,
            Hub.name,
            Hub.address,
            Hub.pcn_code,
            HubClinician.id,
            HubClinician.name,
            HubClinician.role,
            HubRoom.name,
            chosen.c.session_id,
        )  # the fields of `SlotView`, in order
        .join(Hub, Hub.id == chosen.c.hub_id)
        .join(RotaSession, RotaSession.id == chosen.c.session_id)
        .join(HubClinician, HubClinician.id == RotaSession.clinician_id)
        .join(HubRoom, HubRoom.id == RotaSession.room_id)
        .order_by(chosen.c.starts_at, chosen.c.id)
    )
    with sessions() as session:
        return [SlotView(*row) for row in session.connection().execute(query).all()]


def get_slot(sessions: sessionmaker[Session], slot_id: int) -> SlotView:
    with sessions() as session:
        slot = _slot_view(session, slot_id)
    if slot is None:
        raise NotFound(f"there is no slot {slot_id}")
    return slot


def book(
    sessions: sessionmaker[Session],
    booker: Booker,
    *,
    slot_id: int,
    person_id: int,
    registered_practice: str | None,
    description: str | None = None,
    comment: str | None = None,
) -> AppointmentView:
    """Book `slot_id` for `person_id`, registered with `registered_practice` (None: with no
    practice of the area); `SlotUnavailable` if the slot is not free for them, and
    `OutsideFederation` if the person is not the hub's to serve (each refusal audited)."""
    try:
        with _booking_work(sessions, booker, "appointment.book", person_id) as uow:
            _check_federation(uow.session, booker, slot_id, registered_practice)
            appointment = _claim_and_book(
                uow.session, booker, slot_id, person_id, description, comment, uow.now
            )
            uow.audit.entity_id = str(appointment.id)
            uow.audit.detail.update(slot_id=slot_id, booking_org=booker.organisation)
            booked = _view(uow.session, appointment)
    except (SlotUnavailable, OutsideFederation) as refused:
        _audit_refusal(sessions, booker, person_id, slot_id, str(refused))
        raise
    return booked


def cancel(
    sessions: sessionmaker[Session],
    booker: Booker,
    appointment_id: int,
    *,
    version: int,
    reason: str | None = None,
) -> AppointmentView:
    """Cancel an appointment at `version` and free its slot; `VersionMismatch` if stale."""
    with sessions() as session:
        person_id = session.scalar(
            select(Appointment.person_id).where(Appointment.id == appointment_id)
        )
    if person_id is None:
        raise NotFound(f"there is no appointment {appointment_id}")
    with _booking_work(sessions, booker, "appointment.cancel", person_id) as uow:
        uow.audit.entity_id = str(appointment_id)
        cancelled = _cancel(uow.session, booker, appointment_id, version, reason, uow.now)
        return _view(uow.session, cancelled)


def reschedule(
    sessions: sessionmaker[Session],
    booker: Booker,
    appointment_id: int,
    *,
    version: int,
    new_slot_id: int,
    registered_practice: str | None,
    reason: str | None = None,
) -> AppointmentView:
    """Cancel the appointment and book `new_slot_id` for the same person, in one transaction:
    if the new slot is not free (or its hub not theirs) the old booking stands (audited)."""
    old = get_appointment(sessions, appointment_id)
    try:
        with _booking_work(sessions, booker, "appointment.reschedule", old.person_id) as uow:
            _check_federation(uow.session, booker, new_slot_id, registered_practice)
            _lock_slots(uow.session, old.slot.id, new_slot_id)
            _cancel(uow.session, booker, appointment_id, version, reason, uow.now)
            new = _claim_and_book(
                uow.session,
                booker,
                new_slot_id,
                old.person_id,
                old.description,
                old.comment,
                uow.now,
            )
            uow.audit.entity_id = str(new.id)
            uow.audit.detail.update(cancelled=appointment_id, slot_id=new_slot_id)
            moved = _view(uow.session, new)
    except (SlotUnavailable, OutsideFederation) as refused:
        _audit_refusal(sessions, booker, old.person_id, new_slot_id, str(refused))
        raise
    return moved


#: What happened at an appointment, recorded once its slot has started.
OUTCOMES = ("attended", "dna")


def record_outcome(
    sessions: sessionmaker[Session],
    booker: Booker,
    appointment_id: int,
    *,
    version: int,
    outcome: str,
) -> AppointmentView:
    """Record that the person attended or did not attend (DNA) a booked appointment whose slot
    has started; `VersionMismatch` if stale, `NotCancellable` if not booked or not yet due."""
    if outcome not in OUTCOMES:
        raise BookingError(f"an outcome is one of {', '.join(OUTCOMES)}")
    current = get_appointment(sessions, appointment_id)
    with _booking_work(sessions, booker, f"appointment.{outcome}", current.person_id) as uow:
        uow.audit.entity_id = str(appointment_id)
        appointment = uow.session.scalar(
            select(Appointment).where(Appointment.id == appointment_id).with_for_update()
        )
        assert appointment is not None
        if appointment.version != version:
            raise VersionMismatch(
                f"appointment {appointment_id} is at version {appointment.version}, not "
                f"{version}: read it again before changing it"
            )
        if appointment.status != "booked":
            raise NotCancellable(f"appointment {appointment_id} is {appointment.status}")
        if current.slot.starts_at > uow.now:
            raise NotCancellable(f"appointment {appointment_id} has not started yet")
        appointment.status, appointment.version = outcome, appointment.version + 1
        uow.session.flush()
        return _view(uow.session, appointment)


def get_appointment(sessions: sessionmaker[Session], appointment_id: int) -> AppointmentView:
    with sessions() as session:
        appointment = session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound(f"there is no appointment {appointment_id}")
        return _view(session, appointment)


def _view(session: Session, appointment: Appointment | Row[Any]) -> AppointmentView:
    """The appointment (a mapped row, or the row a booking's INSERT returned) with its slot."""
    slot = _slot_view(session, appointment.slot_id)
    assert slot is not None  # an appointment's slot is never deleted
    return AppointmentView(
        id=appointment.id,
        person_id=appointment.person_id,
        status=appointment.status,
        version=appointment.version,
        booked_by=appointment.booked_by,
        booker_kind=appointment.booker_kind,
        booking_org=appointment.booking_org,
        description=appointment.description,
        comment=appointment.comment,
        created_at=appointment.created_at,
        cancelled_at=appointment.cancelled_at,
        cancellation_reason=appointment.cancellation_reason,
        slot=slot,
    )


# --- inside the transaction ----------------------------------------------------------------


def _booking_work(
    sessions: sessionmaker[Session], booker: Booker, action: str, person_id: int
) -> AbstractContextManager[UnitOfWork]:
    return unit_of_work(
        sessions,
        actor=booker.username,
        actor_role=booker.role,
        action=action,
        entity_type="appointment",
        person_id=person_id,
        purpose=PURPOSE,
        detail={"booker_kind": booker.kind},
    )


def _check_federation(
    session: Session, booker: Booker, slot_id: int, registered_practice: str | None
) -> None:
    """Refuse a person registered outside the federation of the slot's hub, and a practice
    booker whose own organisation is outside it (the hub is the federation's shared capacity;
    NHS 111 books for the whole area)."""
    hub_pcn = session.connection().scalar(_HUB_PCN_OF_SLOT, {"slot_id": slot_id})
    if hub_pcn is None:
        raise NotFound(f"there is no slot {slot_id}")
    # One statement for the three walks up the organisations mirror (bench/RESULTS.md).
    federations = federations_of(session, (hub_pcn, booker.organisation, registered_practice))
    federation = federations[hub_pcn]
    if federation is None:
        raise OutsideFederation(
            f"the hub's network {hub_pcn} belongs to no federation of the area, "
            "so it serves no one yet"
        )
    if booker.kind == "practice" and federations.get(booker.organisation) != federation:
        raise OutsideFederation(
            f"your organisation {booker.organisation} is not part of the hub's federation, "
            "so it cannot book there"
        )
    if registered_practice is None:
        raise OutsideFederation("the person is not registered with a practice of the area")
    if federations[registered_practice] != federation:
        raise OutsideFederation(
            "the person is registered with a practice outside the hub's federation"
        )


def _claim_and_book(
    session: Session,
    booker: Booker,
    slot_id: int,
    person_id: int,
    description: str | None,
    comment: str | None,
    now: dt.datetime,
) -> Row[Any]:
    """Claim the slot and insert its appointment; the new appointment's row. Core statements
    on the session's connection: the ORM's unit of work cost more than the two statements
    themselves (bench/RESULTS.md)."""
    connection = session.connection()
    claimed = connection.execute(_CLAIM[booker.kind], {"slot_id": slot_id, "now": now})
    if claimed.rowcount != 1:
        raise _why_not_claimed(session, booker, slot_id, now)
    try:
        return connection.execute(
            _INSERT_APPOINTMENT,
            {
                "slot_id": slot_id,
                "person_id": person_id,
                "booked_by": booker.username,
                "booker_kind": booker.kind,
                "booking_org": booker.organisation,
                "status": "booked",
                "version": 1,
                "description": description,
                "comment": comment,
                "created_at": now,
            },
        ).one()
    except IntegrityError:  # the partial unique index: another booking of this slot is live
        raise SlotUnavailable(f"slot {slot_id} is already booked") from None


#: The claim of ``:slot_id`` at ``:now`` by each kind of booker: one conditional UPDATE that
#: changes the row only while it is free, not started and open to that kind (ADR 0017).
_NOW = bindparam("now", type_=Slot.__table__.c.starts_at.type)
_CLAIM = {
    kind: update(Slot)
    .where(
        Slot.id == bindparam("slot_id"),
        Slot.status == "free",
        Slot.starts_at > _NOW,
        bookable_by(kind, _NOW),
    )
    .values(status="booked")
    for kind in BOOKER_KINDS
}
_INSERT_APPOINTMENT = insert(Appointment).returning(*Appointment.__table__.columns)


def _why_not_claimed(
    session: Session, booker: Booker, slot_id: int, now: dt.datetime
) -> BookingError:
    slot = session.get(Slot, slot_id)
    if slot is None:
        return NotFound(f"there is no slot {slot_id}")
    if slot.status != "free":
        return SlotUnavailable(f"slot {slot_id} is already booked")
    if slot.starts_at <= now:
        return SlotUnavailable(f"slot {slot_id} has already started")
    return SlotUnavailable(f"slot {slot_id} is not open to {booker.kind} booking now")


def _cancel(
    session: Session,
    booker: Booker,
    appointment_id: int,
    version: int,
    reason: str | None,
    now: dt.datetime,
) -> Appointment:
    appointment = session.scalar(
        select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    )
    if appointment is None:
        raise NotFound(f"there is no appointment {appointment_id}")
    if appointment.version != version:
        raise VersionMismatch(
            f"appointment {appointment_id} is at version {appointment.version}, not {version}: "
            "read it again before changing it"
        )
    if appointment.status != "booked":
        raise NotCancellable(f"appointment {appointment_id} is {appointment.status}, not booked")
    slot = session.get(Slot, appointment.slot_id)
    assert slot is not None
    if slot.starts_at <= now:
        raise NotCancellable(f"appointment {appointment_id} has already started")
    appointment.status = "cancelled"
    appointment.version += 1
    appointment.cancelled_at, appointment.cancelled_by = now, booker.username
    appointment.cancellation_reason = reason
    session.flush()
    session.execute(
        update(Slot)
        .where(Slot.id == appointment.slot_id)
        .values(status="free")
        .execution_options(synchronize_session=False)
    )
    return appointment


def _lock_slots(session: Session, *slot_ids: int) -> None:
    """Lock the slots a reschedule touches in id order, so two crossing reschedules queue
    instead of deadlocking (no-op on SQLite, whose write transaction locks everything)."""
    session.execute(
        select(Slot.id).where(Slot.id.in_(slot_ids)).order_by(Slot.id).with_for_update()
    ).all()


def _audit_refusal(
    sessions: sessionmaker[Session], booker: Booker, person_id: int, slot_id: int, why: str
) -> None:
    with _booking_work(sessions, booker, "appointment.book_refused", person_id) as uow:
        uow.audit.entity_type = "slot"
        uow.audit.entity_id = str(slot_id)
        uow.audit.detail["reason"] = why
