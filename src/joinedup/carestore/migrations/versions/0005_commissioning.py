"""Commissioning: delivery areas and the versioned delivery-plan submissions.

Revision ID: 0005
Revises: 0004
Created: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_areas",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_code"],
            ["organisations.org_code"],
            name=op.f("fk_delivery_areas_org_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_delivery_areas")),
    )
    op.create_table(
        "delivery_submissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("specification_id", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("element_id", sa.String(length=8), nullable=False),
        sa.Column("quarter", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("planned_percent", sa.Float(), nullable=True),
        sa.Column("actual_percent", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_code"],
            ["delivery_areas.code"],
            name=op.f("fk_delivery_submissions_area_code_delivery_areas"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_submissions")),
        sa.UniqueConstraint(
            "area_code", "element_id", "quarter", "version", name="uq_delivery_submissions_version"
        ),
    )
    with op.batch_alter_table("delivery_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_submissions_area_code"), ["area_code"], unique=False
        )
        batch_op.create_index(
            "ix_delivery_submissions_quarter", ["quarter", "element_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_submissions_quarter")
        batch_op.drop_index(batch_op.f("ix_delivery_submissions_area_code"))

    op.drop_table("delivery_submissions")
    op.drop_table("delivery_areas")
