"""A one-shot message on the server-side session (`web_sessions.flash`): what a page says after
a redirect comes from the server, never from the web address (issue 14, ADR 0007).

Revision ID: 0009
Revises: 0008 (extended access)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flash", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("flash")
