"""`joinedup care …`: coordinated care: the register, care plans and MDT meetings.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

from typing import Annotated

import typer

from joinedup.cli_common import HomeOption, care_store_url
from joinedup.settings import Settings

care_app = typer.Typer(
    help="Coordinated care: the register, care plans and MDT meetings.", no_args_is_help=True
)


@care_app.command("register")
def register_command(home: HomeOption = None) -> None:
    """How many people are on the coordinated care register, by state (no one is named)."""
    from rich.console import Console
    from rich.table import Table

    from joinedup.care.register import STATE_LABELS, counts_by_state
    from joinedup.carestore.db import make_engine, session_factory

    settings = Settings.from_env(home)
    sessions = session_factory(make_engine(care_store_url(settings)))
    table = Table("state", "people", title="Coordinated care register")
    for state, count in counts_by_state(sessions).items():
        table.add_row(STATE_LABELS[state], f"{count:,}")
    Console().print(table)


@care_app.command("seed-demo-register")
def seed_demo_command(
    home: HomeOption = None,
    people: Annotated[int, typer.Option("--people", min=1, max=500)] = 27,
) -> None:
    """Put some of the latest run's top-risk people on the register, in every state, with the
    demo users as named professionals (needs `joinedup demo` or the demo users and a run)."""
    from joinedup.care.demo import seed_demo_register
    from joinedup.carestore.db import make_engine, session_factory

    settings = Settings.from_env(home)
    sessions = session_factory(make_engine(care_store_url(settings)))
    summary = seed_demo_register(sessions, settings, people=people)
    typer.echo(f"Added {summary.added} people to the register ({summary.already} already on it).")
