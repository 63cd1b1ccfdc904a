"""A password an administrator generated must be changed at the next sign-in.

Revision ID: 0015
Revises: 0014
Created: 2026-12-06

ADR 0043: an account added with a generated password, or given a new one because its user
forgot theirs, is flagged; until the user changes it, every page leads to "Change your
password". Existing accounts are not flagged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("must_change_password")
