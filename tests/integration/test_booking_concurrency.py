"""Booking under contention: the database, not Python, keeps one booking per slot.

On PostgreSQL, 100 threads (each with its own session and connection) book at once, through
the service and through the HTTP API (a TestClient per thread): one slot gives exactly one
booking and 99 clear refusals; ten slots give exactly one booking each. Then the losers move
on: one retries on another free slot and succeeds; concurrent cancels of one version let one
through. SQLite, in one process, behaves the same. Counts are checked with plain SQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import (
    BookingError,
    SlotUnavailable,
    VersionMismatch,
    book,
    cancel,
    search_free_slots,
)
from joinedup.access.rota import load_rota, local_instant
from joinedup.carestore.db import make_engine, normalise_url, session_factory
from joinedup.settings import Settings
from tests.access_support import (
    IN_FEDERATION,
    PRACTICE,
    appointment_body,
    bearer,
    booking_world,
    load_small_rota,
    rota_day,
    session_line,
)
from tests.carestore_support import migrated

CLIENTS = 100
# Connections at once: the shared server allows 100 in all, and other work uses some.
POOL = 30


def _engine(url: str) -> Engine:
    """A PostgreSQL engine with room for `POOL` connections at once."""
    return create_engine(normalise_url(url), pool_size=POOL, max_overflow=0, pool_timeout=120)


@pytest.fixture
def pg_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    migrated(postgres_url)
    engine = _engine(postgres_url)
    sessions = session_factory(engine)
    load_small_rota(sessions)
    # Four more slots, so there is somewhere to go after ten are taken.
    extra = session_line(clinician="Sam Okoro", room="Room 2", start="11:00", end="12:00")
    load_rota(sessions, {"sessions": [extra]}, actor="test", actor_role="manager")
    try:
        yield sessions
    finally:
        engine.dispose()


def _all_at_once(work: Callable[[int], Any], clients: int = CLIENTS) -> list[Any]:
    """Run work(0..clients-1) in as many threads, released together; results or exceptions."""
    start = threading.Barrier(clients)

    def run(n: int) -> Any:
        start.wait()
        try:
            return work(n)
        except BookingError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(run, range(clients)))


def _slot_ids(sessions: sessionmaker[Session]) -> list[int]:
    """The free slots of the rota day, earliest first."""
    day = rota_day()
    start, end = local_instant(day, dt.time(0)), local_instant(day, dt.time(23, 59))
    return [s.id for s in search_free_slots(sessions, kind="practice", start=start, end=end)]


def _booked_per_slot(sessions: sessionmaker[Session]) -> dict[int, int]:
    """Live bookings per slot, counted by SQL independent of the services."""
    with sessions() as session:
        rows = session.execute(
            text(
                "SELECT slot_id, count(*) FROM appointments"
                " WHERE status = 'booked' GROUP BY slot_id"
            )
        )
        return {int(slot): int(count) for slot, count in rows}


def _booked_slots(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as session:
        return set(session.scalars(text("SELECT id FROM slots WHERE status = 'booked'")))


@pytest.mark.postgres
def test_100_at_one_slot_through_the_service(pg_sessions: sessionmaker[Session]) -> None:
    slot = _slot_ids(pg_sessions)[0]
    results = _all_at_once(
        lambda n: book(
            pg_sessions,
            PRACTICE,
            slot_id=slot,
            person_id=1000 + n,
            registered_practice=IN_FEDERATION,
        )
    )
    refused = [r for r in results if isinstance(r, SlotUnavailable)]
    assert len(refused) == CLIENTS - 1
    assert all("already booked" in str(r) for r in refused)
    assert _booked_per_slot(pg_sessions) == {slot: 1}
    assert _booked_slots(pg_sessions) == {slot}


@pytest.mark.postgres
def test_100_at_ten_slots_then_a_loser_books_another(pg_sessions: sessionmaker[Session]) -> None:
    slots = _slot_ids(pg_sessions)
    ten, spare = slots[:10], slots[10:]
    assert spare, "the rota needs a free slot beyond the ten"
    results = _all_at_once(
        lambda n: book(
            pg_sessions,
            PRACTICE,
            slot_id=ten[n % 10],
            person_id=1000 + n,
            registered_practice=IN_FEDERATION,
        )
    )
    won = Counter(r.slot.id for r in results if not isinstance(r, BookingError))
    assert won == Counter({slot: 1 for slot in ten})
    assert sum(isinstance(r, SlotUnavailable) for r in results) == CLIENTS - 10
    assert _booked_per_slot(pg_sessions) == {slot: 1 for slot in ten}

    loser = next(n for n, r in enumerate(results) if isinstance(r, SlotUnavailable))
    retry = _slot_ids(pg_sessions)[0]
    assert retry not in ten
    again = book(
        pg_sessions,
        PRACTICE,
        slot_id=retry,
        person_id=1000 + loser,
        registered_practice=IN_FEDERATION,
    )
    assert again.status == "booked"
    assert _booked_per_slot(pg_sessions) == {slot: 1 for slot in [*ten, retry]}


@pytest.mark.postgres
def test_cancel_then_rebook_under_contention(pg_sessions: sessionmaker[Session]) -> None:
    slot = _slot_ids(pg_sessions)[0]
    booked = book(
        pg_sessions, PRACTICE, slot_id=slot, person_id=1, registered_practice=IN_FEDERATION
    )
    # Twenty cancels of the same version: one goes through, the rest are stale.
    cancels = _all_at_once(
        lambda n: cancel(pg_sessions, PRACTICE, booked.id, version=1), clients=20
    )
    assert sum(not isinstance(r, BookingError) for r in cancels) == 1
    assert all(isinstance(r, VersionMismatch) for r in cancels if isinstance(r, BookingError))
    # The freed slot: 100 rebook at once, one wins.
    results = _all_at_once(
        lambda n: book(
            pg_sessions,
            PRACTICE,
            slot_id=slot,
            person_id=2000 + n,
            registered_practice=IN_FEDERATION,
        )
    )
    assert sum(not isinstance(r, BookingError) for r in results) == 1
    assert _booked_per_slot(pg_sessions) == {slot: 1}


@pytest.mark.postgres
def test_100_at_one_slot_through_the_http_api(small_area: Settings, postgres_url: str) -> None:
    world = booking_world(small_area, postgres_url)
    engine = _engine(postgres_url)
    world.app.state.care_sessions = sessions = session_factory(engine)
    token = bearer(world.tokens["reception"])
    try:
        free = TestClient(world.app).get(
            f"/api/fhir/Slot?start=ge{rota_day()}&end=le{rota_day()}", headers=token
        )
        slot = free.json()["entry"][0]["resource"]
        body = appointment_body(slot, world.person_ids[0])

        def post(_: int) -> tuple[int, str]:
            answer = TestClient(world.app).post("/api/fhir/Appointment", json=body, headers=token)
            coding = answer.json().get("issue", [{}])[0].get("details", {}).get("coding", [{}])
            return answer.status_code, coding[0].get("code", "")

        results = Counter(_all_at_once(post))
        assert results == Counter({(201, ""): 1, (409, "DUPLICATE_REJECTED"): CLIENTS - 1})
        assert _booked_per_slot(sessions) == {int(slot["id"]): 1}
    finally:
        engine.dispose()
        world.sessions.kw["bind"].dispose()


def test_sqlite_in_one_process_books_each_slot_once(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'care.db'}"
    migrated(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        load_small_rota(sessions)
        slots = _slot_ids(sessions)[:4]
        results = _all_at_once(
            lambda n: book(
                sessions,
                PRACTICE,
                slot_id=slots[n % 4],
                person_id=n,
                registered_practice=IN_FEDERATION,
            ),
            clients=20,
        )
        assert sum(not isinstance(r, BookingError) for r in results) == 4
        assert _booked_per_slot(sessions) == {slot: 1 for slot in slots}
    finally:
        engine.dispose()
