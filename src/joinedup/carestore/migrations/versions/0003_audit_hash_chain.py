"""Audit hash chain: back-fill prev_hash/entry_hash for existing rows, then require them.

Revision ID: 0003
Revises: 0002
Created: 2026-11-23

The hash is computed by `joinedup.carestore.audit_chain.entry_hash`, the one definition the
unit of work and `joinedup audit verify` also use, so a back-filled chain verifies exactly
like one written row by row. Rows are read in id order in batches (keyset pagination), so a
large trail is never held in memory at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from joinedup.carestore.audit_chain import GENESIS_HASH, HASHED_COLUMNS, entry_hash, lock_chain

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 1_000
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("actor_role", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("person_id", sa.BigInteger()),
    sa.column("purpose", sa.String()),
    sa.column("detail", JSON_DOCUMENT),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back the stored UTC instant without a zone.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _backfill(connection: sa.Connection) -> None:
    lock_chain(connection)
    prev_hash, last_id = GENESIS_HASH, None
    columns = [audit_events.c[name] for name in HASHED_COLUMNS if name != "prev_hash"]
    while True:
        query = sa.select(*columns).order_by(audit_events.c.id).limit(BATCH)
        if last_id is not None:
            query = query.where(audit_events.c.id > last_id)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            fields: dict[str, Any] = {**row, "prev_hash": prev_hash}
            fields["occurred_at"] = _utc(row["occurred_at"])
            this_hash = entry_hash(fields)
            connection.execute(
                audit_events.update()
                .where(audit_events.c.id == row["id"])
                .values(prev_hash=prev_hash, entry_hash=this_hash)
            )
            prev_hash, last_id = this_hash, row["id"]


def upgrade() -> None:
    _backfill(op.get_bind())
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    # "What did this user see": the audit page and `audit show --user` search by actor and time.
    op.create_index("ix_audit_events_actor_occurred_at", "audit_events", ["actor", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor_occurred_at", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
