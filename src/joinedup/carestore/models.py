"""Care-store tables shared by every domain: organisations and the audit trail.

How care-store models are organised
-----------------------------------
* Each domain folder owns its tables in its own ``models.py`` (``joinedup/care/models.py``,
  ``joinedup/access/models.py`` …), subclassing the one shared `joinedup.carestore.db.Base`.
  Domains may point foreign keys at tables here (``organisations.org_code``) or at another
  domain's tables, never at the population store.
* Every models module is listed in `MODEL_MODULES` below. Alembic (``migrations/env.py``) and
  the schema tests load the metadata through `load_metadata()`, so a table whose module is not
  listed is invisible to migrations — and the schema test fails when its migration exists.
* Every schema change ships with an Alembic migration (``python -m joinedup.carestore.migrate
  revision "message"`` drafts one); the test suite checks the migrations produce exactly these
  models on SQLite and PostgreSQL.
* Column types: `UTCDateTime` for instants, `JSONDocument` for JSON, bounded ``String(n)``
  for codes. Constraints and indexes take their names from the naming convention.
* Tables are changed only through write services that run in a `unit_of_work`, which writes
  the audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String, event, text
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime

# Modules that define care-store tables; add a domain's models module here when it gains one.
MODEL_MODULES: tuple[str, ...] = (
    "joinedup.carestore.models",
    "joinedup.governance.models",
    "joinedup.care.models",
    "joinedup.commissioning.models",
    "joinedup.commissioning.workforce_models",
    "joinedup.directory.models",
    "joinedup.directory.social_prescribing.models",
    "joinedup.directory.navigation_models",
    "joinedup.access.models",
    "joinedup.neighbourhood.models",
    "joinedup.neighbourhood.caseload_models",
)


def load_metadata() -> MetaData:
    """The metadata of every care-store table, from every module in `MODEL_MODULES`."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


# Integer keys that grow without bound: BIGINT on PostgreSQL, and SQLite's INTEGER PRIMARY KEY
# (which is 64-bit already and the only type SQLite auto-increments).
BigKey = BigInteger().with_variant(Integer(), "sqlite")

ORG_CODE = String(12)


class Organisation(Base):
    """An organisation of the area, mirrored from the population store's `organisations`.

    Care records point here to say which practice, neighbourhood or hub they belong to.
    Organisations that leave the population store are made inactive, never deleted, so the
    records that point at them keep their meaning.
    """

    __tablename__ = "organisations"

    org_code: Mapped[str] = mapped_column(ORG_CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[str] = mapped_column(String(32), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ORG_CODE, ForeignKey("organisations.org_code"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    # When the synchronisation last changed this row (unchanged rows keep their time).
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One entry of the append-only audit trail: who did what, to what, for which purpose.

    Rows are only ever inserted, by `unit_of_work`, in the same transaction as the change
    they record; the ORM refuses to update or delete them (see the guards below).

    The rows form a tamper-evident hash chain: `entry_hash` is the SHA-256 of every other
    column (the id and `prev_hash` included) and `prev_hash` is the `entry_hash` of the row
    before it in id order (64 zeros for the first). Changing, deleting or reordering rows
    behind the ORM's back breaks the chain at the first row affected, which
    `joinedup.governance.audit.verify_audit_chain` (``joinedup audit verify``) reports. The
    hash is computed in `joinedup.carestore.audit_chain`, where `seal_pending` seals the
    events the unit of work inserted unsealed (ADR 0028); migration 0003 back-filled the rows
    written before the chain existed.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_actor_occurred_at", "actor", "occurred_at"),
        Index(
            "ix_audit_events_unsealed",
            "id",
            sqlite_where=text("entry_hash IS NULL"),
            postgresql_where=text("entry_hash IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # Empty until the event is sealed into the chain (ADR 0028); the partial index finds those.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditImmutableError(RuntimeError):
    """Something tried to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise AuditImmutableError(f"audit event {target.id} is append-only: it cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_bulk_change(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and AuditEvent.__mapper__ in state.all_mappers:
        raise AuditImmutableError("audit events are append-only: bulk UPDATE/DELETE refused")
