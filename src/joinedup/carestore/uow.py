"""The unit of work: every write to the care store is one transaction with its audit event.

A write service wraps its changes in `unit_of_work`; the audit event describing the change is
inserted in the same transaction just before it commits, so the change and its record are
committed together or, on any error, rolled back together::

    def close_action(sessions, action_id, *, user):
        with unit_of_work(sessions, actor=user.id, actor_role=user.role,
                          action="action.close", entity_type="action",
                          entity_id=str(action_id), purpose="direct care") as uow:
            action = uow.session.get(Action, action_id)
            action.closed_at = uow.now
            uow.audit.detail["previous_status"] = action.status

Rules for write services:

* never call ``session.commit()`` inside the block (it is refused): leaving the block commits;
* fill in what is only known during the work (a new row's id, counts) on ``uow.audit``;
* keep patient-level values out of ``detail``: name the person by ``person_id`` only;
* use ``uow.now`` for timestamps so the rows and their audit event agree on the time.

On SQLite the transaction starts with ``BEGIN IMMEDIATE``, so concurrent writers queue on the
busy timeout instead of failing half-way.

Audit events form a hash chain (`joinedup.carestore.audit_chain`): the event is inserted
unsealed and sealed into the chain shortly after by `seal_pending` (ADR 0028), so appenders do
not queue behind one another; on PostgreSQL each holds the chain's lock *shared* from its insert
to its commit, which only a seal waits for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import share_chain
from joinedup.carestore.db import WRITE_TRANSACTION
from joinedup.carestore.models import AuditEvent

_STATE = "joinedup.unit_of_work"  # Session.info key: "open" inside the block, "sealed" after


class UnitOfWorkError(RuntimeError):
    """A write service broke the unit-of-work rules."""


@dataclass
class AuditRecord:
    """The audit event a unit of work will write; services may amend it during the work."""

    actor: str
    actor_role: str
    action: str
    entity_type: str
    purpose: str
    entity_id: str | None = None
    person_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        required = ("actor", "actor_role", "action", "entity_type", "purpose")
        missing = [name for name in required if not getattr(self, name)]
        if missing:
            raise UnitOfWorkError("an audit event needs " + ", ".join(missing))


@dataclass(frozen=True)
class UnitOfWork:
    """What a write service works with: the session, the audit record and the one instant."""

    session: Session
    audit: AuditRecord
    now: dt.datetime


@contextmanager
def unit_of_work(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    actor_role: str,
    action: str,
    entity_type: str,
    purpose: str,
    entity_id: str | None = None,
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> Iterator[UnitOfWork]:
    """One write transaction that commits its changes and their audit event together."""
    audit = AuditRecord(
        actor, actor_role, action, entity_type, purpose, entity_id, person_id, dict(detail or {})
    )
    audit.check()
    now = dt.datetime.now(dt.UTC)
    # Leaving `session.begin()` commits, or rolls back if the block raised.
    with sessions() as session, session.begin():
        session.connection(execution_options={WRITE_TRANSACTION: True})
        session.info[_STATE] = "open"
        yield UnitOfWork(session, audit, now)
        audit.check()
        _append_audit(session, audit, now)
        session.info[_STATE] = "sealed"


def _append_audit(session: Session, audit: AuditRecord, occurred_at: dt.datetime) -> AuditEvent:
    """Insert the audit event, unsealed, at the end of the trail. The one place events are
    written; `joinedup.carestore.audit_chain.seal_pending` links it into the hash chain."""
    share_chain(session)  # before the insert takes its id: no seal until this commits
    entry = AuditEvent(
        occurred_at=occurred_at,
        actor=audit.actor,
        actor_role=audit.actor_role,
        action=audit.action,
        entity_type=audit.entity_type,
        entity_id=audit.entity_id,
        person_id=audit.person_id,
        purpose=audit.purpose,
        detail=audit.detail,
    )
    session.add(entry)
    session.flush()
    return entry


@event.listens_for(Session, "before_commit")
def _refuse_early_commit(session: Session) -> None:
    if session.info.get(_STATE) == "open":
        raise UnitOfWorkError(
            "commit inside a unit of work: leave the block to commit with the audit event"
        )
