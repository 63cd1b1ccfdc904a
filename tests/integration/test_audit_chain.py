"""The audit trail's hash chain: written by the unit of work, checked by `verify_audit_chain`;
tampering behind the ORM's back (plain SQL) is caught and the first bad row named — on SQLite
and PostgreSQL alike. Also the trail's two questions (who viewed a person, what a user saw)
and migration 0003's back-fill."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore import migrate
from joinedup.carestore.audit_chain import seal_pending, share_chain
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import (
    CONTENT_ALTERED,
    FIRST_MISSING,
    HEAD_MISSING,
    PREVIOUS_MISSING,
    record_audit_query,
    verify_audit_chain,
    what_user_saw,
    who_viewed_person,
)

ZEROS = "0" * 64
EVENTS: list[dict[str, Any]] = [
    {"actor": "a.gp", "action": "view.person.scores", "person_id": 101, "entity_id": "101"},
    {"actor": "b.nurse", "action": "care_plan.update", "person_id": 102, "entity_id": None},
    {
        "actor": "a.gp",
        "action": "export.case_finding",
        "person_id": None,
        "entity_id": "frailty",
        "detail": {"rows": 12, "share": 0.25, "whole": 3.0, "scope": ["P81001", "P81002"]},
    },
    {"actor": "c.admin", "action": "audit.query", "person_id": 101, "entity_id": "101"},
    {"actor": "b.nurse", "action": "view.person.scores", "person_id": 101, "entity_id": "101"},
    {
        "actor": "a.gp",
        "action": "break_glass.grant",
        "person_id": 103,
        "entity_id": "1",
        "detail": {"reason": "Seen in the hub: café, naïve ✓", "nested": {"b": 1, "a": None}},
    },
]


def append(sessions: sessionmaker[Session], event: dict[str, Any]) -> None:
    with unit_of_work(
        sessions,
        actor=event["actor"],
        actor_role="gp",
        action=event["action"],
        entity_type="person",
        entity_id=event["entity_id"],
        person_id=event["person_id"],
        purpose="direct care",
        detail=event.get("detail"),
    ):
        pass


@pytest.fixture
def chain(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    for event in EVENTS:
        append(sessions, event)
    # Sealed as the web app's sealer would within a second (ADR 0028): tampering after this.
    assert seal_pending(sessions) == len(EVENTS)
    return sessions


def ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def tamper(sessions: sessionmaker[Session], sql: str, **params: Any) -> None:
    """Change audit rows with plain SQL on the connection, as an intruder with database access
    would: the ORM's append-only guard never sees it."""
    with sessions.begin() as session:
        session.connection().execute(text(sql), params)


def set_column(sessions: sessionmaker[Session], row_id: int, column: str, value: Any) -> None:
    """Set one column with a Core UPDATE on the raw connection (typed, still bypassing the ORM)."""
    with sessions.begin() as session:
        session.connection().execute(
            update(AuditEvent).where(AuditEvent.id == row_id).values({column: value})
        )


# --- Writing the chain -----------------------------------------------------------------------


def test_each_entry_links_to_the_one_before(chain: sessionmaker[Session]) -> None:
    with chain() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == ZEROS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.entry_hash
    assert len({e.entry_hash for e in events}) == len(events)

    report = verify_audit_chain(chain)
    assert report.ok and report.rows_checked == len(EVENTS)
    assert (report.head_id, report.head_hash) == (events[-1].id, events[-1].entry_hash)


def test_the_hash_is_sha256_of_the_documented_canonical_form(
    sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(
        sessions,
        actor="a.gp",
        actor_role="gp",
        action="view.person",
        entity_type="person",
        entity_id="7",
        person_id=7,
        purpose="direct care",
        detail={"z": "é", "a": 2.0},
    ) as uow:
        occurred = uow.now
    seal_pending(sessions)
    with sessions() as session:
        event = session.scalars(select(AuditEvent)).one()
    # Written out by hand: sorted keys, no spaces, ASCII escapes, UTC with microseconds,
    # integral floats as integers.
    expected = (
        '{"action":"view.person","actor":"a.gp","actor_role":"gp","detail":{"a":2,"z":"\\u00e9"},'
        f'"entity_id":"7","entity_type":"person","id":{event.id},'
        f'"occurred_at":"{occurred.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%f}Z",'
        f'"person_id":7,"prev_hash":"{ZEROS}","purpose":"direct care"}}'
    )
    assert event.entry_hash == hashlib.sha256(expected.encode("ascii")).hexdigest()


def test_an_empty_trail_verifies(sessions: sessionmaker[Session]) -> None:
    report = verify_audit_chain(sessions)
    assert report.ok and report.rows_checked == 0 and report.head_hash == ZEROS


def test_concurrent_appends_leave_one_valid_chain(sessions: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(10):
                append(
                    sessions, {"actor": name, "action": "view.x", "person_id": i, "entity_id": None}
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = verify_audit_chain(sessions)
    assert report.ok and report.rows_checked == 40
    with sessions() as session:
        prev_hashes = session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(prev_hashes)) == 40  # no two entries follow the same one: no fork


def test_concurrent_writers_and_sealers_lose_no_event(sessions: sessionmaker[Session]) -> None:
    """Writers append while two sealers seal (as several web workers do): every event is
    sealed exactly once, in one chain that verifies."""
    writers, each = 6, 20
    errors: list[BaseException] = []
    start = threading.Barrier(writers + 2)
    done = threading.Event()

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(each):
                append(
                    sessions, {"actor": name, "action": "view.x", "person_id": i, "entity_id": None}
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    def sealer() -> None:
        try:
            start.wait()
            while not done.is_set():
                seal_pending(sessions, batch=7)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user{n}",)) for n in range(writers)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads + sealers:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()

    assert errors == []
    report = verify_audit_chain(sessions)
    assert report.ok and report.rows_checked == writers * each
    with sessions() as session:
        prev_hashes = session.scalars(select(AuditEvent.prev_hash)).all()
        actors = session.execute(
            select(AuditEvent.actor, func.count()).group_by(AuditEvent.actor)
        ).all()
    assert len(set(prev_hashes)) == writers * each and None not in prev_hashes
    assert dict(actors) == {f"user{n}": each for n in range(writers)}


def test_appenders_do_not_wait_for_each_other_and_a_seal_waits_for_them(
    postgres_server: Any,
) -> None:
    """PostgreSQL, where ids come from a sequence before commit: an event that took a lower id
    but commits later must not be passed over by a seal. A second appender does not wait for
    the first; the sealer waits until the first commits, so both are sealed in id order."""
    url = postgres_server.create_database()
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        sessions = session_factory(engine)
        with sessions() as slow, slow.begin():
            share_chain(slow)
            slow.add(_event("slow.writer"))
            slow.flush()
            quick = threading.Thread(target=append, args=(sessions, EVENTS[0]))
            quick.start()
            quick.join(timeout=30)
            assert not quick.is_alive()  # committed while the first appender is still open
            sealed: list[int] = []
            sealer = threading.Thread(target=lambda: sealed.append(seal_pending(sessions)))
            sealer.start()
            _wait_until_a_lock_is_awaited(engine)
            assert sealer.is_alive() and sealed == []
        sealer.join(timeout=30)
        assert sealed == [2]
        report = verify_audit_chain(sessions)
        assert report.ok and report.rows_checked == 2
        with sessions() as session:
            actors = session.scalars(select(AuditEvent.actor).order_by(AuditEvent.id)).all()
        assert actors == ["slow.writer", EVENTS[0]["actor"]]
    finally:
        engine.dispose()
        postgres_server.drop_database(url)


def _event(actor: str) -> AuditEvent:
    return AuditEvent(
        occurred_at=dt.datetime.now(dt.UTC),
        actor=actor,
        actor_role="gp",
        action="view.x",
        entity_type="person",
        purpose="direct care",
        detail={},
    )


def _wait_until_a_lock_is_awaited(engine: Any) -> None:
    """Poll pg_locks until some session waits for an advisory lock (the sealer)."""
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
            connection.rollback()
            if waiting:
                return
    raise AssertionError("the sealer never waited for the open appender")


# --- Tampering is caught ---------------------------------------------------------------------

TAMPERED_VALUES: dict[str, Any] = {
    "occurred_at": dt.datetime(2020, 1, 1, 12, 0, tzinfo=dt.UTC),
    "actor": "someone.else",
    "actor_role": "administrator",
    "action": "view.nothing",
    "entity_type": "organisation",
    "entity_id": "changed",
    "person_id": 999_999,
    "purpose": "curiosity",
    "detail": {"rows": 13},
    "prev_hash": "f" * 64,
    "entry_hash": "e" * 64,
}


@pytest.mark.parametrize("column", sorted(TAMPERED_VALUES))
def test_changing_any_column_is_caught_at_that_row(
    chain: sessionmaker[Session], column: str
) -> None:
    middle = ids(chain)[2]
    set_column(chain, middle, column, TAMPERED_VALUES[column])

    report = verify_audit_chain(chain)

    assert not report.ok
    assert report.bad_row_id == middle
    assert report.problem == CONTENT_ALTERED
    assert report.rows_checked == 3


def test_changing_a_row_id_is_caught(chain: sessionmaker[Session]) -> None:
    rows = ids(chain)
    tamper(chain, "UPDATE audit_events SET id = :new WHERE id = :old", new=10_000, old=rows[2])

    report = verify_audit_chain(chain)

    # The row has left its place: the next one no longer follows the entry before it.
    assert (report.bad_row_id, report.problem) == (rows[3], PREVIOUS_MISSING)


def test_deleting_a_middle_row_is_caught_at_the_next(chain: sessionmaker[Session]) -> None:
    rows = ids(chain)
    tamper(chain, "DELETE FROM audit_events WHERE id = :id", id=rows[2])

    report = verify_audit_chain(chain)

    assert (report.bad_row_id, report.problem) == (rows[3], PREVIOUS_MISSING)
    assert report.head_id == rows[1]  # the chain holds up to the entry before the gap


def test_deleting_the_first_row_is_caught(chain: sessionmaker[Session]) -> None:
    rows = ids(chain)
    tamper(chain, "DELETE FROM audit_events WHERE id = :id", id=rows[0])

    report = verify_audit_chain(chain)

    assert (report.bad_row_id, report.problem) == (rows[1], FIRST_MISSING)


def test_swapping_two_rows_contents_is_caught(chain: sessionmaker[Session]) -> None:
    rows = ids(chain)
    first, second = rows[1], rows[3]
    # Move every column but the id (hashes included) from one row to the other and back.
    tamper(chain, "UPDATE audit_events SET id = -1 WHERE id = :id", id=first)
    tamper(chain, "UPDATE audit_events SET id = :to WHERE id = :id", to=first, id=second)
    tamper(chain, "UPDATE audit_events SET id = :to WHERE id = -1", to=second)

    report = verify_audit_chain(chain)

    assert (report.bad_row_id, report.problem) == (first, CONTENT_ALTERED)


def test_emptying_a_sealed_entry_is_caught_and_never_resealed(
    chain: sessionmaker[Session],
) -> None:
    middle = ids(chain)[2]
    tamper(chain, "UPDATE audit_events SET entry_hash = NULL WHERE id = :id", id=middle)

    assert seal_pending(chain) == 0  # below the sealed tail: not sealed again at a new place
    report = verify_audit_chain(chain)
    assert (report.bad_row_id, report.problem) == (middle, CONTENT_ALTERED)


def test_events_written_after_the_seal_are_sealed_by_verify(
    chain: sessionmaker[Session],
) -> None:
    append(chain, EVENTS[1])
    with chain() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.entry_hash.is_(None))) == 1

    report = verify_audit_chain(chain)

    assert report.ok and report.rows_checked == len(EVENTS) + 1
    assert report.head_id == ids(chain)[-1]


def test_removing_the_newest_rows_needs_a_recorded_head(chain: sessionmaker[Session]) -> None:
    recorded = verify_audit_chain(chain)
    tamper(chain, "DELETE FROM audit_events WHERE id >= :id", id=ids(chain)[-2])

    # The known limit: a truncated chain is still a valid chain…
    assert verify_audit_chain(chain).ok
    # …which the head recorded elsewhere exposes.
    report = verify_audit_chain(chain, expect_head=recorded.head_hash)
    assert not report.ok and report.problem == HEAD_MISSING and report.bad_row_id is None
    assert report.rows_checked == len(EVENTS) - 2


def test_a_recorded_head_still_in_the_chain_passes(chain: sessionmaker[Session]) -> None:
    earlier = verify_audit_chain(chain)
    append(chain, EVENTS[0])

    assert verify_audit_chain(chain, expect_head=earlier.head_hash).ok
    assert not verify_audit_chain(chain, expect_head="a" * 64).ok


# --- Questions ---------------------------------------------------------------------------


def test_who_viewed_a_person_newest_first(chain: sessionmaker[Session]) -> None:
    rows = who_viewed_person(chain, 101, limit=10)

    assert [(r.who, r.action) for r in rows] == [
        ("b.nurse", "view.person.scores"),
        ("c.admin", "audit.query"),
        ("a.gp", "view.person.scores"),
    ]
    assert rows[0].person_id == 101 and rows[0].entity == "person 101"
    assert rows[0].role == "gp" and rows[0].purpose == "direct care"
    assert len(who_viewed_person(chain, 101, limit=2)) == 2
    assert who_viewed_person(chain, 555, limit=10) == []


def test_what_a_user_saw_since_a_time(chain: sessionmaker[Session]) -> None:
    everything = what_user_saw(chain, "a.gp")
    assert [r.action for r in everything] == [
        "break_glass.grant",
        "export.case_finding",
        "view.person.scores",
    ]
    cutoff = everything[0].when + dt.timedelta(microseconds=1)
    assert what_user_saw(chain, "a.gp", since=cutoff) == []
    assert what_user_saw(chain, "a.gp", since=everything[1].when, limit=1)[0].action == (
        "break_glass.grant"
    )


def test_asking_the_trail_is_itself_recorded(sessions: sessionmaker[Session]) -> None:
    record_audit_query(sessions, actor="c.admin", actor_role="administrator", person_id=101)
    record_audit_query(sessions, actor="c.admin", actor_role="administrator", username="a.gp")

    asked = what_user_saw(sessions, "c.admin")
    assert [(r.action, r.entity, r.person_id) for r in asked] == [
        ("audit.query", "user a.gp", None),
        ("audit.query", "person 101", 101),
    ]
    assert verify_audit_chain(sessions).ok


# --- Migration 0003 --------------------------------------------------------------------------


def test_migration_backfills_the_chain_for_existing_rows(care_db_url: str) -> None:
    migrate.upgrade(care_db_url, "0002")
    engine = make_engine(care_db_url)
    try:
        with engine.begin() as connection:
            for n in range(3):
                connection.execute(
                    text(
                        "INSERT INTO audit_events (id, occurred_at, actor, actor_role, action,"
                        " entity_type, entity_id, person_id, purpose, detail)"
                        " VALUES (:id, :at, 'old.user', 'gp', 'view.person', 'person', :eid,"
                        " :pid, 'direct care', :detail)"
                    ),
                    {
                        "id": 10 + n * 5,
                        "at": dt.datetime(2026, 1, 1 + n, 9, 0, tzinfo=dt.UTC)
                        if engine.dialect.name == "postgresql"
                        else f"2026-01-0{1 + n} 09:00:00.000000",
                        "eid": str(n),
                        "pid": n,
                        "detail": f'{{"n": {n}}}',
                    },
                )
        migrate.upgrade(care_db_url)
        sessions = session_factory(engine)

        report = verify_audit_chain(sessions)
        assert report.ok and report.rows_checked == 3 and report.head_id == 20

        append(sessions, EVENTS[0])  # new entries continue the back-filled chain
        assert verify_audit_chain(sessions).rows_checked == 4
        assert verify_audit_chain(sessions).ok
        with sessions() as session:
            assert (session.scalar(select(func.max(AuditEvent.id))) or 0) > 20
    finally:
        engine.dispose()
