"""Writes are one transaction with their audit event; audit events are append-only; foreign
keys hold — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import seal_pending
from joinedup.carestore.models import AuditEvent, AuditImmutableError, Organisation
from joinedup.carestore.uow import UnitOfWorkError, unit_of_work

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
WRITE = {
    "actor": "u.test",
    "actor_role": "care_coordinator",
    "action": "organisation.add",
    "entity_type": "organisation",
    "purpose": "testing",
}


def organisation(code: str, parent: str | None = None) -> Organisation:
    return Organisation(
        org_code=code, name=f"Org {code}", org_type="practice", parent_code=parent, synced_at=NOW
    )


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_write_commits_with_its_audit_event(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions, **WRITE, person_id=42, detail={"why": "test"}) as uow:
        uow.session.add(organisation("P1"))
        uow.audit.entity_id = "P1"
        started = uow.now

    with sessions() as session:
        assert session.get(Organisation, "P1") is not None
        event = session.scalars(select(AuditEvent)).one()
    assert (event.actor, event.actor_role, event.action) == (
        "u.test",
        "care_coordinator",
        "organisation.add",
    )
    assert (event.entity_type, event.entity_id, event.person_id) == ("organisation", "P1", 42)
    assert event.purpose == "testing" and event.detail == {"why": "test"}
    assert event.occurred_at == started and event.occurred_at.tzinfo == dt.UTC
    # Written unsealed; sealed, the first entry starts the hash chain (test_audit_chain.py).
    assert event.prev_hash is None and event.entry_hash is None
    assert seal_pending(sessions) == 1
    with sessions() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert event.prev_hash == "0" * 64 and event.entry_hash is not None
    assert len(event.entry_hash) == 64


def test_an_error_rolls_back_the_write_and_its_audit_event(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError, match="boom"), unit_of_work(sessions, **WRITE) as uow:
        uow.session.add(organisation("P1"))
        uow.session.flush()  # the row reached the database inside the transaction
        raise RuntimeError("boom")

    assert count(sessions, Organisation) == 0
    assert count(sessions, AuditEvent) == 0


def test_a_database_error_rolls_back_everything(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.add(organisation("P1"))
        uow.session.flush()
        uow.session.add(organisation("P2", parent="NOWHERE"))

    assert count(sessions, Organisation) == 0
    assert count(sessions, AuditEvent) == 0


def test_committing_inside_the_unit_of_work_is_refused(sessions: sessionmaker[Session]) -> None:
    with (
        pytest.raises(UnitOfWorkError, match="commit inside"),
        unit_of_work(sessions, **WRITE) as uow,
    ):
        uow.session.add(organisation("P1"))
        uow.session.commit()

    assert count(sessions, Organisation) == 0


def test_an_audit_event_needs_actor_and_purpose(sessions: sessionmaker[Session]) -> None:
    with (
        pytest.raises(UnitOfWorkError, match="purpose"),
        unit_of_work(sessions, **{**WRITE, "purpose": ""}),
    ):
        pass
    with pytest.raises(UnitOfWorkError, match="actor"), unit_of_work(sessions, **WRITE) as uow:
        uow.session.add(organisation("P1"))
        uow.audit.actor = ""

    assert count(sessions, Organisation) == 0
    assert count(sessions, AuditEvent) == 0


def test_audit_events_cannot_be_changed_or_removed(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions, **WRITE):
        pass

    with pytest.raises(AuditImmutableError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.scalars(select(AuditEvent)).one().actor = "someone else"
    with pytest.raises(AuditImmutableError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.delete(uow.session.scalars(select(AuditEvent)).one())
    with pytest.raises(AuditImmutableError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.execute(update(AuditEvent).values(purpose="rewritten"))
    with pytest.raises(AuditImmutableError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.execute(delete(AuditEvent))

    with sessions() as session:
        events = session.scalars(select(AuditEvent)).all()
    assert [(e.actor, e.purpose) for e in events] == [("u.test", "testing")]


def test_a_child_organisation_needs_its_parent(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.add(organisation("P1", parent="NOWHERE"))

    with unit_of_work(sessions, **WRITE) as uow:
        uow.session.add(organisation("N1"))
        uow.session.flush()
        uow.session.add(organisation("P1", parent="N1"))
    with pytest.raises(IntegrityError), unit_of_work(sessions, **WRITE) as uow:
        uow.session.delete(uow.session.get(Organisation, "N1"))

    assert count(sessions, Organisation) == 2


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    naive = organisation("P1")
    naive.synced_at = dt.datetime(2026, 11, 23, 9, 30)
    with (
        pytest.raises(StatementError, match="naive datetime"),
        unit_of_work(sessions, **WRITE) as uow,
    ):
        uow.session.add(naive)

    assert count(sessions, Organisation) == 0


def test_instants_come_back_in_utc(sessions: sessionmaker[Session]) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    with unit_of_work(sessions, **WRITE) as uow:
        org = organisation("P1")
        org.synced_at = dt.datetime(2026, 11, 23, 11, 30, tzinfo=plus_two)
        uow.session.add(org)

    with sessions() as session:
        synced_at = session.get_one(Organisation, "P1").synced_at
    assert synced_at == NOW and synced_at.tzinfo == dt.UTC


def test_concurrent_writers_all_commit(sessions: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for i in range(10):
                with unit_of_work(sessions, **WRITE) as uow:
                    existing = uow.session.scalar(select(func.count(Organisation.org_code)))
                    uow.session.add(organisation(f"{prefix}{i}"))
                    uow.audit.detail["seen"] = existing
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("A", "B", "C")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert count(sessions, Organisation) == 30
    assert count(sessions, AuditEvent) == 30
