"""Audit events sealed in batches: the hash columns may be empty until the event is sealed.

Revision ID: 0014
Revises: 0013
Created: 2026-12-06

ADR 0028: a write inserts its audit event unsealed and `seal_pending` fills in ``prev_hash``
and ``entry_hash`` later, so both columns become nullable and a partial index finds the
unsealed events. On PostgreSQL the id sequence is moved past the newest id (rows restored or
back-filled with explicit ids leave it behind), because appenders now take their id from the
sequence without first reading the chain's tail.

Downgrade needs every event sealed: run ``joinedup audit verify`` (which seals) first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UNSEALED = sa.text("entry_hash IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=True)
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        sqlite_where=UNSEALED,
        postgresql_where=UNSEALED,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'),"
            " GREATEST(COALESCE(MAX(id), 0), 1), MAX(id) IS NOT NULL) FROM audit_events"
        )


def downgrade() -> None:
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
