"""Alembic environment of the care store: runs on the connection `joinedup.carestore.migrate`
hands over, inside the transaction it opened (there is no alembic.ini and no offline mode).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

from joinedup.carestore.models import load_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run care-store migrations through joinedup.carestore.migrate")


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write our column types as the plain SQLAlchemy types they store as, so migrations do
    not import application code (`UTCDateTime` is `sa.DateTime(timezone=True)` on disk)."""
    if kind == "type" and isinstance(item, TypeDecorator):
        impl = item.impl_instance
        if type(impl).__module__ == "sqlalchemy.sql.sqltypes":
            return f"sa.{impl!r}"
    return False


context.configure(
    connection=connection,
    target_metadata=load_metadata(),
    compare_type=True,
    # SQLite cannot ALTER most things: autogenerate batch operations, which rebuild the table
    # on SQLite and are plain ALTERs on PostgreSQL.
    render_as_batch=connection.dialect.name == "sqlite",
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
