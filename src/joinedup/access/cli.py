"""``joinedup access …``: load a hub rota definition (YAML or JSON) into the care store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from joinedup.cli_common import HomeOption, care_sessions, cli_actor
from joinedup.settings import Settings

access_app = typer.Typer(
    help="Extended-access hubs: load rotas of sessions and bookable slots.", no_args_is_help=True
)

out = Console()


@access_app.command("load-rota")
def load_rota_command(
    definition: Annotated[Path, typer.Argument(help="The rota definition (.yaml or .json).")],
    home: HomeOption = None,
) -> None:
    """Create or update hubs and add their sessions and slots; all or nothing."""
    from joinedup.access.rota import load_rota, read_definition

    data = read_definition(definition)
    with care_sessions(Settings.from_env(home)) as sessions:
        summary = load_rota(sessions, data, actor=cli_actor(), actor_role="cli")
    out.print(f"Loaded {summary}.", highlight=False)
