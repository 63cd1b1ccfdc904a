"""`joinedup variation …`: practice variation: load published practice data, list outliers.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

variation_app = typer.Typer(
    help="Practice variation: load published practice data, list outliers.", no_args_is_help=True
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
