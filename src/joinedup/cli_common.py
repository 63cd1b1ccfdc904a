"""What every `joinedup` command group shares: the --home option, the care store for one
command, the actor a command-line write is recorded as, keeping the care store's organisations
in step with the population store, and how an import reports the lines it could not take (one
table of line numbers and reasons, what happened under --strict, exit 1).

Kept free of heavy imports, so `joinedup --help` stays fast.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table

from joinedup.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from joinedup.settings import Settings

# The role a command-line write is recorded under in the audit trail.
CLI_ROLE = "command line"

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Folder for joinedup's data [default: $JOINEDUP_HOME or ./var]."),
]


def cli_actor() -> str:
    """Who a write from the command line is recorded as in the audit trail."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. some containers)
        who = "unknown"
    return f"cli:{who}"


def care_store_url(settings: Settings) -> str:
    """The care store's URL, once it is known to be set up at this joinedup's schema; a store
    never migrated, or migrated by an older joinedup, is a one-line error saying what to run."""
    from joinedup.carestore.migrate import current_revision, head_revision

    if current_revision(settings.database_url) != head_revision():
        home = f" --home {settings.home}" if settings.home else ""
        raise UserError(
            "the care store is not set up for this version of joinedup: "
            f"run `joinedup db upgrade{home}` first"
        )
    return settings.database_url


@contextmanager
def care_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the (set-up) care store for one command; its connections closed after."""
    from joinedup.carestore.db import make_engine, session_factory

    engine = make_engine(care_store_url(settings))
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


class RejectedLine(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def reason(self) -> str: ...


class RejectedLines(Protocol):
    """What an import reports of the lines it could not take (`ImportReport` is one)."""

    @property
    def rejected(self) -> Sequence[RejectedLine]: ...
    @property
    def committed(self) -> bool: ...


def report_rejected_lines(out: Console, report: RejectedLines, *, heading: str = "Line") -> None:
    """Print an import's rejected lines and exit with 1 if there are any; return if none.
    `heading` names the line column (a JSON import reports the line each record starts on)."""
    if not report.rejected:
        return
    rejects = Table(title="Rejected lines" if heading == "Line" else "Rejected records")
    rejects.add_column(heading, justify="right")
    rejects.add_column("Reason")
    for rejection in report.rejected:
        rejects.add_row(str(rejection.line), rejection.reason)
    out.print(rejects)
    if not report.committed:
        what = "lines" if heading == "Line" else "records"
        out.print(f"Nothing was loaded (--strict): correct the {what} above and load again.")
    raise typer.Exit(1)
