"""The care store's health report for /health: reachable, and at the code's head revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from joinedup.carestore.db import make_engine
from joinedup.carestore.health import care_store_health
from joinedup.carestore.migrate import head_revision, upgrade


def test_an_empty_store_needs_upgrading_then_is_ok(care_db_url: str) -> None:
    engine = make_engine(care_db_url)
    engine.connect().close()  # SQLite: the file exists once something has connected
    engine.dispose()

    empty = care_store_health(care_db_url)
    assert empty["reachable"] is True
    assert (empty["status"], empty["revision"], empty["up_to_date"]) == (
        "needs_upgrade",
        None,
        False,
    )

    upgrade(care_db_url)

    assert care_store_health(care_db_url) == {
        "status": "ok",
        "backend": make_url(care_db_url).get_backend_name(),
        "reachable": True,
        "revision": head_revision(),
        "head": head_revision(),
        "up_to_date": True,
        "error": None,
    }


def test_a_store_migrated_by_newer_code_is_reported(care_store: str) -> None:
    engine = make_engine(care_store)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    report = care_store_health(care_store)

    assert (report["status"], report["revision"], report["reachable"]) == (
        "unknown_revision",
        "9999",
        True,
    )


def test_a_missing_sqlite_file_is_unreachable_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "care.db"

    report = care_store_health(f"sqlite:///{path}")

    assert (report["status"], report["reachable"], report["backend"]) == (
        "unreachable",
        False,
        "sqlite",
    )
    assert "does not exist" in report["error"]
    assert not path.exists()


@pytest.mark.postgres
def test_an_unreachable_postgres_is_reported_without_its_password() -> None:
    report = care_store_health("postgresql://joinedup:s3cret-pw@127.0.0.1:1/joinedup")

    assert (report["status"], report["reachable"], report["backend"]) == (
        "unreachable",
        False,
        "postgresql",
    )
    assert report["error"] and "s3cret-pw" not in str(report)
