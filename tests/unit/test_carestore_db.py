"""Care-store engine settings and schema rules that need no database server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from joinedup.carestore.db import (
    POSTGRES_MAX_NAME,
    UTCDateTime,
    make_engine,
    normalise_url,
    sqlite_path,
)
from joinedup.carestore.models import load_metadata


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db.example/joinedup", "postgresql+psycopg://u:p@db.example/joinedup"),
        (
            "postgres://u@db.example:6543/joinedup",
            "postgresql+psycopg://u@db.example:6543/joinedup",
        ),
        ("postgresql+psycopg://u@h/j", "postgresql+psycopg://u@h/j"),
        ("sqlite:///var/care.db", "sqlite:///var/care.db"),
    ],
)
def test_postgres_urls_use_psycopg_3(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="use SQLite or PostgreSQL"):
        make_engine("mysql://u@h/j")


def test_sqlite_engine_enforces_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'care.db'}"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 15_000}
    assert sqlite_path(url) == tmp_path / "new" / "care.db"
    assert sqlite_path("sqlite://") is None


def test_every_constraint_and_index_name_fits_postgres() -> None:
    metadata = load_metadata()
    names = [str(ix.name) for table in metadata.tables.values() for ix in table.indexes]
    names += [str(c.name) for table in metadata.tables.values() for c in table.constraints]
    assert names and all(len(name) <= POSTGRES_MAX_NAME for name in names), names


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_instants_are_stored_as_utc(dialect: object) -> None:
    column = UTCDateTime()
    plus_one = dt.datetime(2026, 6, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    stored = column.process_bind_param(plus_one, dialect)  # type: ignore[arg-type]
    read = column.process_result_value(stored, dialect)  # type: ignore[arg-type]

    assert read == plus_one and read is not None and read.tzinfo == dt.UTC
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(dt.datetime(2026, 6, 1), dialect)  # type: ignore[arg-type]
