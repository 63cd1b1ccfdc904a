"""The migrations build exactly the models' schema, in one transaction, on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from joinedup.carestore import migrate
from joinedup.carestore.db import make_engine
from joinedup.carestore.models import load_metadata

FAILING_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_made", sa.Column("id", sa.Integer(), primary_key=True))
    raise RuntimeError("this migration fails half-way")


def downgrade() -> None:
    pass
"""


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head(care_db_url: str) -> None:
    assert migrate.current_revision(care_db_url) is None

    migrate.upgrade(care_db_url)

    assert migrate.current_revision(care_db_url) == migrate.head_revision()
    assert table_names(care_db_url) == {"alembic_version", *load_metadata().tables}


def test_migrated_schema_matches_the_models(care_store: str) -> None:
    engine = make_engine(care_store)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, load_metadata())
    finally:
        engine.dispose()
    assert differences == []


def test_constraints_have_the_same_names_on_both_backends(care_store: str) -> None:
    engine = make_engine(care_store)
    try:
        inspector = inspect(engine)
        foreign_keys = {fk["name"] for fk in inspector.get_foreign_keys("organisations")}
        indexes = {ix["name"] for ix in inspector.get_indexes("audit_events")}
    finally:
        engine.dispose()
    assert foreign_keys == {"fk_organisations_parent_code_organisations"}
    assert indexes == {
        "ix_audit_events_actor_occurred_at",
        "ix_audit_events_entity",
        "ix_audit_events_occurred_at",
        "ix_audit_events_person_id",
        "ix_audit_events_unsealed",  # partial: the events not yet sealed (ADR 0028)
    }


def test_upgrade_twice_and_downgrade_to_empty(care_store: str) -> None:
    migrate.upgrade(care_store)  # already at head: nothing to do
    assert migrate.current_revision(care_store) == migrate.head_revision()

    migrate.downgrade(care_store, "base")
    assert migrate.current_revision(care_store) is None
    assert table_names(care_store) <= {"alembic_version"}

    migrate.upgrade(care_store)
    assert migrate.current_revision(care_store) == migrate.head_revision()


def test_a_failing_migration_changes_nothing(care_store: str, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (scripts / "versions" / "9999_fails.py").write_text(FAILING_MIGRATION.format(head=head))

    with pytest.raises(RuntimeError, match="fails half-way"):
        migrate.upgrade(care_store, script_location=scripts)

    assert migrate.current_revision(care_store) == head
    assert "half_made" not in table_names(care_store)


def test_new_revision_drafts_the_next_numbered_migration(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))

    head = migrate.head_revision(scripts)
    following = f"{int(head) + 1:04d}"

    drafted = migrate.new_revision("nothing changed", script_location=scripts)

    assert drafted.name == f"{following}_nothing_changed.py"
    text = drafted.read_text()
    assert f"down_revision = '{head}'" in text or f'down_revision = "{head}"' in text
    assert "op." not in text  # the models match head, so the draft has no operations
    assert migrate.head_revision(scripts) == following
