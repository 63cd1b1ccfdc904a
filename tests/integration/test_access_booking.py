"""Booking services on SQLite and PostgreSQL: rota loading, free-slot search, book, cancel
(version checked) and reschedule (cancel then book, or nothing), each with its audit event."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import (
    Booker,
    NotCancellable,
    OutsideFederation,
    SearchRangeError,
    SlotUnavailable,
    VersionMismatch,
    book,
    cancel,
    get_appointment,
    reschedule,
    search_free_slots,
)
from joinedup.access.models import Appointment, Slot
from joinedup.access.rota import RotaError, load_rota, local_instant
from joinedup.carestore.models import AuditEvent
from tests.access_support import (
    IN_FEDERATION,
    NHS111,
    OUTSIDE_FEDERATION,
    PRACTICE,
    definition,
    load_small_rota,
    rota_day,
)


def _window() -> tuple[dt.datetime, dt.datetime]:
    day = rota_day()
    return local_instant(day, dt.time(0)), local_instant(day + dt.timedelta(days=1), dt.time(0))


def _actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_rota_becomes_sessions_and_slots(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    slots = search_free_slots(sessions, kind="practice", start=start, end=end)
    # 18:30-20:00 in 15-minute slots (6) and 09:00-10:00 in 15-minute slots (4).
    assert len(slots) == 10
    first = slots[0]
    assert first.starts_at == local_instant(rota_day(), dt.time(9, 0))
    assert (first.clinician_name, first.room, first.mode) == ("Sam Okoro", "Room 2", "telephone")
    assert slots[-1].ends_at == local_instant(rota_day(), dt.time(20, 0))
    assert _actions(sessions) == ["rota.load"]


def test_a_bad_rota_reports_every_problem_and_loads_nothing(
    sessions: sessionmaker[Session],
) -> None:
    bad = definition()
    bad["sessions"][0]["start"] = "07:00"  # before the hub opens
    bad["sessions"][1]["category"] = "Chat"  # not a GPAD national category
    bad["sessions"].append(dict(bad["sessions"][0], slot_minutes=7))  # 07:00-20:00 into 7-min slots
    with pytest.raises(RotaError) as raised:
        load_rota(sessions, bad, actor="test", actor_role="manager")
    # Field problems come first: the layout is checked once every field is right.
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("sessions.1.category: ")
    bad["sessions"][1]["category"] = "Planned Clinics"
    with pytest.raises(RotaError) as raised:
        load_rota(sessions, bad, actor="test", actor_role="manager")
    assert raised.value.problems == [
        "sessions.2: a 780-minute session does not divide into 7-minute slots"
    ]
    bad["sessions"].pop()
    with pytest.raises(RotaError, match="open 08:00-20:00"):
        load_rota(sessions, bad, actor="test", actor_role="manager")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Slot)) == 0
    assert _actions(sessions) == []


def test_a_clinician_cannot_be_on_the_rota_twice_at_once(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    again = {"sessions": [definition()["sessions"][0] | {"room": "Room 2"}]}
    with pytest.raises(RotaError, match="the clinician already has a session then"):
        load_rota(sessions, again, actor="test", actor_role="manager")


def test_search_filters_and_the_14_day_cap(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    assert (
        len(search_free_slots(sessions, kind="practice", start=start, end=end, mode="telephone"))
        == 4
    )
    assert (
        len(search_free_slots(sessions, kind="practice", start=start, end=end, hubs=["NOPE"])) == 0
    )
    assert (
        len(
            search_free_slots(
                sessions, kind="practice", start=start, end=end, category="Planned Clinics"
            )
        )
        == 4
    )
    with pytest.raises(SearchRangeError):
        search_free_slots(sessions, kind="practice", start=start, end=start + dt.timedelta(days=15))
    with pytest.raises(SearchRangeError):
        search_free_slots(sessions, kind="practice", start=end, end=start)


def test_nhs111_sees_its_own_slots_and_released_ones(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    # The GP slots are released to 111 two hours before they start: 16:30 onwards that day.
    assert len(search_free_slots(sessions, kind="nhs111", start=start, end=end)) == 4
    # At 17:00 the nurse's morning slots have passed and the GP slots starting by 19:00 are
    # released; at 18:00 all six GP slots (the last starts 19:45) are.
    for at, released in ((dt.time(17, 0), 3), (dt.time(18, 0), 6)):
        now = local_instant(rota_day(), at)
        found = search_free_slots(sessions, kind="nhs111", start=start, end=end, now=now)
        assert [s.clinician_role for s in found] == ["gp"] * released
    assert search_free_slots(sessions, kind="person", start=start, end=end) == []


def test_book_then_the_slot_is_gone_and_a_second_booking_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    load_small_rota(sessions)
    start, end = _window()
    slot = search_free_slots(sessions, kind="practice", start=start, end=end)[0]
    booked = book(
        sessions,
        PRACTICE,
        slot_id=slot.id,
        person_id=42,
        registered_practice=IN_FEDERATION,
        description="Asthma review",
    )
    assert (booked.status, booked.version, booked.booking_org) == ("booked", 1, "P81001")
    assert slot.id not in {
        s.id for s in search_free_slots(sessions, kind="practice", start=start, end=end)
    }
    with pytest.raises(SlotUnavailable, match="already booked"):
        book(sessions, NHS111, slot_id=slot.id, person_id=43, registered_practice=IN_FEDERATION)
    assert _actions(sessions)[-2:] == ["appointment.book", "appointment.book_refused"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_a_slot_not_open_to_the_caller_is_refused(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    gp_slot = search_free_slots(
        sessions, kind="practice", start=start, end=end, mode="face_to_face"
    )[0]
    with pytest.raises(SlotUnavailable, match="not open to nhs111"):
        book(sessions, NHS111, slot_id=gp_slot.id, person_id=42, registered_practice=IN_FEDERATION)


def test_the_database_refuses_a_second_live_booking_of_a_slot(
    sessions: sessionmaker[Session],
) -> None:
    """The partial unique index holds even against code that skips the slot claim."""
    load_small_rota(sessions)
    start, end = _window()
    slot = search_free_slots(sessions, kind="practice", start=start, end=end)[0]
    book(sessions, PRACTICE, slot_id=slot.id, person_id=42, registered_practice=IN_FEDERATION)
    now = dt.datetime.now(dt.UTC)
    row = {
        "slot_id": slot.id,
        "booked_by": "x",
        "booker_kind": "practice",
        "booking_org": "P81001",
        "version": 1,
        "created_at": now,
    }
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(Appointment(person_id=43, status="booked", **row))
    with sessions() as session, session.begin():  # a cancelled one beside it is history, allowed
        session.add(Appointment(person_id=43, status="cancelled", **row))


def test_cancel_checks_the_version_and_frees_the_slot(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    slot = search_free_slots(sessions, kind="practice", start=start, end=end)[0]
    booked = book(
        sessions, PRACTICE, slot_id=slot.id, person_id=42, registered_practice=IN_FEDERATION
    )
    with pytest.raises(VersionMismatch):
        cancel(sessions, PRACTICE, booked.id, version=2)
    cancelled = cancel(sessions, PRACTICE, booked.id, version=1, reason="Patient request")
    assert (cancelled.status, cancelled.version) == ("cancelled", 2)
    with pytest.raises(NotCancellable):
        cancel(sessions, PRACTICE, booked.id, version=2)
    again = book(
        sessions,
        NHS111 if slot.mode == "telephone" else PRACTICE,
        slot_id=slot.id,
        person_id=43,
        registered_practice=IN_FEDERATION,
    )
    assert again.status == "booked" and again.id != booked.id


def test_reschedule_moves_the_booking_or_leaves_it(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions)
    start, end = _window()
    first, second, third = search_free_slots(sessions, kind="practice", start=start, end=end)[:3]
    booked = book(
        sessions, PRACTICE, slot_id=first.id, person_id=42, registered_practice=IN_FEDERATION
    )
    book(sessions, PRACTICE, slot_id=third.id, person_id=99, registered_practice=IN_FEDERATION)
    with pytest.raises(SlotUnavailable):
        reschedule(
            sessions,
            PRACTICE,
            booked.id,
            version=1,
            new_slot_id=third.id,
            registered_practice=IN_FEDERATION,
        )
    assert get_appointment(sessions, booked.id).status == "booked"  # the old booking stands
    moved = reschedule(
        sessions,
        PRACTICE,
        booked.id,
        version=1,
        new_slot_id=second.id,
        registered_practice=IN_FEDERATION,
    )
    assert (moved.slot.id, moved.person_id, moved.status) == (second.id, 42, "booked")
    assert get_appointment(sessions, booked.id).status == "cancelled"
    with pytest.raises(VersionMismatch):  # a stale If-Match after the reschedule
        cancel(sessions, PRACTICE, booked.id, version=1)
    free = {s.id for s in search_free_slots(sessions, kind="practice", start=start, end=end)}
    assert first.id in free and second.id not in free


def test_only_people_of_the_hubs_federation_are_booked(sessions: sessionmaker[Session]) -> None:
    """The hub serves the registered patients of its federation: anyone else is refused, by
    every kind of booker, and the refusal is audited; a reschedule to such a hub leaves the
    booking where it was."""
    load_small_rota(sessions)
    start, end = _window()
    phone = search_free_slots(sessions, kind="nhs111", start=start, end=end)[0]
    for booker, practice in ((PRACTICE, OUTSIDE_FEDERATION), (NHS111, OUTSIDE_FEDERATION)):
        with pytest.raises(OutsideFederation, match="outside the hub's federation"):
            book(sessions, booker, slot_id=phone.id, person_id=7, registered_practice=practice)
    with pytest.raises(OutsideFederation, match="not registered"):
        book(sessions, PRACTICE, slot_id=phone.id, person_id=7, registered_practice=None)
    assert _actions(sessions)[-3:] == ["appointment.book_refused"] * 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
        assert session.get(Slot, phone.id).status == "free"  # type: ignore[union-attr]
    booked = book(
        sessions, PRACTICE, slot_id=phone.id, person_id=7, registered_practice=IN_FEDERATION
    )
    assert booked.status == "booked"


def test_a_practice_outside_the_hubs_federation_cannot_book_there(
    sessions: sessionmaker[Session],
) -> None:
    """Even for a patient of the hub's federation, a practice booker of another federation is
    refused (audited) and nothing is booked; NHS 111 books for the whole area."""
    load_small_rota(sessions)
    start, end = _window()
    phone = search_free_slots(sessions, kind="nhs111", start=start, end=end)[0]
    outsider = Booker("reception-p99001", "receptionist", "practice", OUTSIDE_FEDERATION)
    with pytest.raises(OutsideFederation, match=f"your organisation {OUTSIDE_FEDERATION}"):
        book(sessions, outsider, slot_id=phone.id, person_id=7, registered_practice=IN_FEDERATION)
    assert _actions(sessions)[-1] == "appointment.book_refused"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
    booked = book(
        sessions, NHS111, slot_id=phone.id, person_id=7, registered_practice=IN_FEDERATION
    )
    assert booked.status == "booked"


def test_a_hub_whose_network_is_unknown_serves_no_one(sessions: sessionmaker[Session]) -> None:
    load_small_rota(sessions, pcn="NBH99")  # not an organisation of the area
    start, end = _window()
    slot = search_free_slots(sessions, kind="practice", start=start, end=end)[0]
    with pytest.raises(OutsideFederation, match="belongs to no federation"):
        book(sessions, PRACTICE, slot_id=slot.id, person_id=7, registered_practice=IN_FEDERATION)
