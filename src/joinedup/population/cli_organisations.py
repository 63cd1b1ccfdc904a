"""Keeping the care store's organisations in step with the population store, for the commands
that change either store (`generate`, `ingest`, `db upgrade`, `db sync-organisations`).

Kept free of heavy imports at module level, so `joinedup --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from joinedup.cli_common import CLI_ROLE, care_sessions, cli_actor
from joinedup.errors import UserError

if TYPE_CHECKING:
    from joinedup.settings import Settings


def sync_organisations_now(settings: Settings, console: Console) -> None:
    """Mirror the population store's organisations into the care store (`joinedup db
    sync-organisations`): both stores must exist, else a one-line error says what to run."""
    from joinedup.population.organisation_mirror import sync_organisations
    from joinedup.population.store import PopulationStore

    store = PopulationStore(settings.population_dir)
    if not store.exists():
        raise UserError(
            f"no population store in {settings.population_dir}: run `joinedup generate` or "
            "`joinedup ingest` first"
        )
    with care_sessions(settings) as sessions:
        summary = sync_organisations(store, sessions, actor=cli_actor(), actor_role=CLI_ROLE)
    console.print(f"Organisations in the care store: {summary}", soft_wrap=True, highlight=False)


def keep_organisations_in_step(settings: Settings, console: Console) -> None:
    """After the population store changed (generate, ingest) or the care store was set up (db
    upgrade): mirror the organisations when both stores exist, so `user add --org`, the register
    and the care pages know every practice. With either store missing there is nothing to keep
    in step yet (the other command will do it); a care store that cannot be reached is a note."""
    from sqlalchemy.exc import SQLAlchemyError

    from joinedup.carestore.db import sqlite_path
    from joinedup.carestore.migrate import current_revision, head_revision
    from joinedup.population.store import PopulationStore

    if not PopulationStore(settings.population_dir).exists():
        return
    database = sqlite_path(settings.database_url)
    if database is not None and not database.exists():
        return  # not set up: `joinedup db upgrade` mirrors them
    try:
        if current_revision(settings.database_url, connect_timeout=5) != head_revision():
            return
    except SQLAlchemyError:
        console.print(
            "note: the care store cannot be reached, so its organisations were not brought in "
            "step: run `joinedup db sync-organisations` when it can",
            soft_wrap=True,
            markup=False,
        )
        return
    sync_organisations_now(settings, console)
