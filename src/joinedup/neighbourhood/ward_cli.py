"""`joinedup ward …`: the virtual ward's clock for cron, and device readings from FHIR files.

* ``joinedup ward tick`` raises missed readings and escalates overdue alerts once
  (`ward_tick.tick`; safe to run from cron beside a server that also ticks);
* ``joinedup ward ingest FILE… --as USER`` records device Observations (one Observation or a
  Bundle as ``.json``, bulk ``.ndjson``) into the admitted people's wards (`ward_ingest`):
  every rejected record with its reason, and nothing stored if there is any.

Wired into the main app by `joinedup.cli`; heavy imports stay inside the commands.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from joinedup.cli_common import HomeOption, care_sessions
from joinedup.errors import UserError
from joinedup.settings import Settings

ward_app = typer.Typer(
    help="The virtual ward: run its clock (missed readings, escalation), ingest device readings.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_REJECTS = 50


@ward_app.command("tick")
def tick_command(home: HomeOption = None) -> None:
    """Raise every missed reading now due and escalate every overdue alert, once."""
    from joinedup.neighbourhood.ward_tick import tick

    with care_sessions(Settings.from_env(home)) as sessions:
        result = tick(sessions, dt.datetime.now(dt.UTC))
    out.print(
        f"{result.missed_raised:,} missed-reading alerts raised, "
        f"{result.escalated:,} overdue alerts escalated"
    )


@ward_app.command("ingest")
def ingest_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="FHIR R4 Observations: .json (one or a Bundle) or .ndjson (bulk)."),
    ],
    as_user: Annotated[
        str, typer.Option("--as", help="The joinedup user the readings are recorded by.")
    ],
    home: HomeOption = None,
) -> None:
    """Record device readings into the wards of the people they are about (by NHS number)."""
    from joinedup.neighbourhood import readings
    from joinedup.neighbourhood.ward_ingest import ingest
    from joinedup.population.store import PopulationStore

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    settings = Settings.from_env(home)
    batch = readings.read_paths(files)
    with care_sessions(settings) as sessions:
        actor = _principal(sessions, as_user)
        result = ingest(sessions, PopulationStore(settings.population_dir), actor, batch)
    for reject in result.rejects[:SHOWN_REJECTS]:
        err.print(f"{reject.location}: {reject.reason}", markup=False)
    if len(result.rejects) > SHOWN_REJECTS:
        err.print(f"... and {len(result.rejects) - SHOWN_REJECTS:,} more rejected", markup=False)
    if not result.committed:
        why = f"{len(result.rejects):,} rejected" if result.rejects else "no reading sets found"
        raise UserError(
            f"nothing was stored ({result.readings_read:,} readings read, {why}): correct them and "
            "ingest the files again"
        )
    out.print(
        f"{result.readings_read:,} readings read ({result.skipped:,} resources skipped): "
        f"{result.sets:,} sets recorded, {result.alerts_raised:,} alerts raised"
    )


def _principal(sessions, username: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from joinedup.governance.models import User, UserOrganisation
    from joinedup.governance.roles import Principal

    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise UserError(f"there is no active joinedup user {username!r}")
        organisations = tuple(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
            )
        )
        return Principal(user.id, user.username, user.display_name, user.role, organisations)
