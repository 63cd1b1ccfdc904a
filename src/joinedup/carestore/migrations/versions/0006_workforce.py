"""Workforce baseline: import batches and FTE by role per practice and PCN.

Revision ID: 0006
Revises: 0005
Created: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workforce_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("lines_read", sa.Integer(), nullable=False),
        sa.Column("lines_loaded", sa.Integer(), nullable=False),
        sa.Column("lines_rejected", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_batches")),
        sa.UniqueConstraint("version", name=op.f("uq_workforce_batches_version")),
    )
    with op.batch_alter_table("workforce_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_batches_checksum"), ["checksum"], unique=False
        )

    op.create_table(
        "workforce_figures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.Column("pcn_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("fte", sa.Float(), nullable=False),
        sa.Column("list_size", sa.Integer(), nullable=True),
        sa.Column("imd_quintile", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["workforce_batches.id"],
            name=op.f("fk_workforce_figures_batch_id_workforce_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_figures")),
        sa.UniqueConstraint(
            "batch_id", "org_code", "period", "role", name="uq_workforce_figures_role"
        ),
    )
    with op.batch_alter_table("workforce_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_figures_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workforce_figures_org_code"), ["org_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("workforce_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_figures_org_code"))
        batch_op.drop_index(batch_op.f("ix_workforce_figures_batch_id"))

    op.drop_table("workforce_figures")
    with op.batch_alter_table("workforce_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_batches_checksum"))

    op.drop_table("workforce_batches")
