"""The care store: the operational database (SQLite embedded, PostgreSQL in production).

Modules: `db` (engines, sessions, the shared `Base`), `models` (shared tables and the rule for
domain models), `uow` (one transaction per write, with its audit event), `migrate` (Alembic
from code), `organisations` (the mirrored organisations), `health` (for ``/health``).
"""

from joinedup.carestore.db import Base, make_engine, session_factory
from joinedup.carestore.uow import UnitOfWork, unit_of_work

__all__ = ["Base", "UnitOfWork", "make_engine", "session_factory", "unit_of_work"]
