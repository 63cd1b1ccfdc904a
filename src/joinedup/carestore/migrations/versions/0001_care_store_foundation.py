"""Care store foundation: organisations and the audit trail.

Revision ID: 0001
Revises:
Created: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("org_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_type", sa.String(length=32), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["organisations.org_code"],
            name=op.f("fk_organisations_parent_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("org_code", name=op.f("pk_organisations")),
    )
    op.create_index(op.f("ix_organisations_org_type"), "organisations", ["org_type"])
    op.create_index(op.f("ix_organisations_parent_code"), "organisations", ["parent_code"])

    op.create_table(
        "audit_events",
        sa.Column("id", BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        # The tamper-evident chain (governance) fills these; NULL until then.
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("entry_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"])
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index(op.f("ix_audit_events_person_id"), "audit_events", ["person_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("organisations")
