"""Care stores for tests, migrated to head without running every migration each time.

Hundreds of tests each need an empty care store at the newest schema. Running the migrations
costs ~0.3 CPU-seconds a store on SQLite (more on PostgreSQL), so each process migrates one
SQLite file once and copies it: the copy is the same bytes a fresh migration writes. The
migrations themselves are tested from empty in `tests/integration/test_carestore_migrations.py`.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

from sqlalchemy.engine import make_url

from joinedup.carestore.migrate import upgrade


@cache
def migrated_sqlite_file() -> Path:
    """A SQLite care store migrated to head once in this process (read only: copy it)."""
    path = Path(tempfile.mkdtemp(prefix="joinedup-migrated-")) / "care.db"
    upgrade(f"sqlite:///{path}")
    return path


def migrated(url: str) -> str:
    """Bring the care store at `url` to head, as `upgrade` does; a SQLite file that does not
    exist yet becomes a copy of this process's migrated one. The URL, for chaining."""
    database = make_url(url).database
    if url.startswith("sqlite") and database and not Path(database).exists():
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite_file(), database)
    else:
        upgrade(url)
    return url
