"""Care navigation at first contact: each caller signposted to a service, with the practice,
the need and the outcome (no caller named).

Revision ID: 0012
Revises: 0010 (virtual ward)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_navigation_signposts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("practice_code", sa.String(length=12), nullable=False),
        sa.Column("need_term_id", sa.String(length=36), nullable=True),
        sa.Column("need", sa.String(length=255), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("practice_service", sa.String(length=40), nullable=True),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_code"],
            ["organisations.org_code"],
            name=op.f("fk_care_navigation_signposts_practice_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_navigation_signposts")),
    )
    op.create_index(
        "ix_care_navigation_signposts_practice_need",
        "care_navigation_signposts",
        ["practice_code", "need"],
        unique=False,
    )
    op.create_index(
        op.f("ix_care_navigation_signposts_service_id"),
        "care_navigation_signposts",
        ["service_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_care_navigation_signposts_service_id"), table_name="care_navigation_signposts"
    )
    op.drop_index(
        "ix_care_navigation_signposts_practice_need", table_name="care_navigation_signposts"
    )
    op.drop_table("care_navigation_signposts")
