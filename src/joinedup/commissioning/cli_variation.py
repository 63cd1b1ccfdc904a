"""`joinedup variation …`: practice variation: prepare its inputs, load published practice data.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joinedup.cli_common import HomeOption, care_sessions

variation_app = typer.Typer(
    help="Practice variation: prepare its inputs, load published practice data.",
    no_args_is_help=True,
)


@variation_app.command("load-published")
def load_published_command(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders holding the published files (default: the two shared data folders "
            "gp_practice_payments_fingertips_heec and gp_practice_structures_qof_wylie102)."
        ),
    ] = None,
) -> None:
    """Load real published figures for every English practice into JOINEDUP_HOME/published/."""
    from joinedup.commissioning.published import default_sources, load_published, summary_lines
    from joinedup.settings import Settings

    settings = Settings.from_env()
    summary = load_published(settings, list(folders) if folders else default_sources())
    for line in summary_lines(summary):
        typer.echo(line)


@variation_app.command("prepare")
def prepare_command(
    home: HomeOption = None,
) -> None:
    """Work out the practice-variation inputs for the stored area now (every year end), so the
    first person to open the practice pages does not wait; run after generate or ingest."""
    from joinedup.analytics.variation.matrix import prepare, year_ends
    from joinedup.carestore.migrate import upgrade
    from joinedup.governance.objections import active_objectors
    from joinedup.population.store import PopulationStore
    from joinedup.settings import Settings

    settings = Settings.from_env(home)
    store = PopulationStore(settings.population_dir)
    store.metadata()  # a clear error when there is no store yet
    upgrade(settings.database_url)  # the objections in force live in the care store
    with care_sessions(settings) as sessions:
        objectors = active_objectors(sessions)
    prepare(store, objectors=objectors)
    typer.echo(f"Practice variation prepared for {len(year_ends(store))} year ends.")
