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
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


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


def demo_care_store(area: Settings, folder: Path) -> tuple[Settings, sessionmaker[Session]]:
    """A SQLite care store in `folder` over `area`'s population, seeded as the demo seeds its
    care loop: organisations, one demo user per role, the register, plans and MDT meetings."""
    from joinedup.care.demo import seed_demo_care
    from joinedup.governance.users import create_demo_users
    from joinedup.population.organisation_mirror import sync_organisations

    url = migrated(f"sqlite:///{folder / 'care.db'}")
    sessions = session_factory(make_engine(url))
    sync_organisations(PopulationStore(area.population_dir), sessions)
    create_demo_users(sessions)
    settings = Settings(home=area.home, database_url=url)
    seed_demo_care(sessions, settings)
    return settings, sessions


def care_home(
    area: Settings, folder: Path
) -> tuple[Settings, sessionmaker[Session], PopulationStore]:
    """A home in `folder` over `area`'s population (linked, read only) with an empty care store
    at head whose organisations mirror the area's: its settings, sessions and store."""
    from joinedup.population.organisation_mirror import sync_organisations

    (folder / "population").symlink_to(area.population_dir)
    settings = Settings(home=folder, database_url=migrated(f"sqlite:///{folder / 'care.db'}"))
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    return settings, sessions, store
