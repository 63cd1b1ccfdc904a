"""`joinedup export …`: export what joinedup holds: FHIR R4 resources and analytic outputs
(governance applied).

Every command runs *as* a named joinedup user (``--as USERNAME``): their role and legitimate
relationships decide what they get, as on the web, and the export is audited as
"<username> via cli" (`joinedup.interop.exports`).

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from joinedup.cli_common import HomeOption, care_sessions
from joinedup.errors import UserError
from joinedup.settings import Settings

if TYPE_CHECKING:
    from joinedup.governance.roles import Principal
    from joinedup.interop.exports import Export

export_app = typer.Typer(
    help="Export what joinedup holds: FHIR R4 resources and analytic outputs (governance applied).",
    no_args_is_help=True,
)

err = Console(stderr=True)
AsOption = Annotated[
    str,
    typer.Option("--as", help="The joinedup user exporting: their role decides what they get."),
]
OutOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="File to write [default: standard output].")
]
FormatOption = Annotated[str, typer.Option("--format", help="csv or parquet.")]


@contextmanager
def _as_user(home: Path | None, username: str) -> Iterator[tuple[Settings, Any, Principal]]:
    from joinedup.interop.exports import cli_principal

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        yield settings, sessions, cli_principal(sessions, username)


def _store(settings: Settings) -> Any:
    from joinedup.population.store import PopulationStore

    store = PopulationStore(settings.population_dir)
    if not store.exists():
        raise UserError(f"there is no population store in {settings.home}: run joinedup generate")
    return store


def _write(export: Export, output: Path | None, fmt: str = "csv") -> None:
    if output is None:
        if fmt == "parquet":
            raise UserError("Parquet is binary: give a file with -o")
        sys.stdout.buffer.write(export.body)
        sys.stdout.flush()
    else:
        output.write_bytes(export.body)
    where = output or "standard output"
    err.print(f"exported {export.rows:,} row(s) to {where} (audited)", highlight=False)
    if export.withheld:
        err.print(
            f"{export.withheld:,} pseudonymised row(s) withheld: still in a group smaller than "
            "the disclosure threshold after age banding and place generalisation",
            highlight=False,
        )


def _check_format(fmt: str) -> None:
    if fmt not in ("csv", "parquet"):
        raise UserError(f"unknown format {fmt!r}: use csv or parquet")


def _aggregate(kind: str) -> Callable[..., None]:
    def command(
        as_user: AsOption,
        fmt: FormatOption = "csv",
        output: OutOption = None,
        home: HomeOption = None,
    ) -> None:
        from joinedup.interop.exports import export_scores, export_segments

        _check_format(fmt)
        with _as_user(home, as_user) as (settings, sessions, user):
            if kind == "scores":
                export = export_scores(settings, sessions, user, fmt=fmt)
            else:
                export = export_segments(settings, sessions, user, fmt=fmt)
        _write(export, output, fmt)

    return command


export_app.command(
    "scores", help="Score distributions of the latest run (objectors out, counts suppressed)."
)(_aggregate("scores"))
export_app.command(
    "segments", help="Segments and cost concentration of the latest run (suppressed)."
)(_aggregate("segments"))


@export_app.command("case-finding")
def case_finding(
    list_id: Annotated[str, typer.Argument(help="A case-finding list id (see /case-finding).")],
    as_user: AsOption,
    practice: Annotated[str | None, typer.Option(help="Only this practice.")] = None,
    neighbourhood: Annotated[str | None, typer.Option(help="Only this neighbourhood.")] = None,
    output: OutOption = None,
    home: HomeOption = None,
) -> None:
    """A case-finding list: named people for direct care, else pseudonymised."""
    from joinedup.interop.exports import export_case_finding

    with _as_user(home, as_user) as (settings, sessions, user):
        export = export_case_finding(
            _store(settings),
            settings,
            sessions,
            user,
            list_id,
            practice=practice,
            neighbourhood=neighbourhood,
        )
    _write(export, output)


@export_app.command("fhir")
def fhir(
    person_id: Annotated[int, typer.Argument(help="The person's joinedup id.")],
    as_user: AsOption,
    output: OutOption = None,
    home: HomeOption = None,
) -> None:
    """One person's record as a FHIR R4 Bundle (needs a legitimate relationship)."""
    from joinedup.interop.exports import export_person_fhir

    with _as_user(home, as_user) as (settings, sessions, user):
        export = export_person_fhir(_store(settings), sessions, user, person_id)
    _write(export, output)
