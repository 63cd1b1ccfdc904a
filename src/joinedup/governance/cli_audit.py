"""``joinedup audit``: check the audit trail's hash chain and read it from the command line.

    joinedup audit verify [--expect-head HASH]
    joinedup audit show --person 123 | --user j.smith [--since 2026-11-01] [--limit 50]

`verify` exits 1 naming the first bad row when the chain is broken. It prints the head hash
and the number of entries: record them somewhere the database's administrators cannot write
(a ticket, a signed e-mail, another system), because removing the newest entries leaves a
shorter chain that still holds; ``--expect-head`` with a recorded hash detects that.

`show` is itself audited (action ``audit.query``, actor ``cli:<operating-system user>``).

Services are imported inside the commands, so that `joinedup --help` does not wait for
SQLAlchemy and the engines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_store_url, cli_actor
from joinedup.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from joinedup.governance.audit import AuditRow

#: Entries `audit show` lists unless told otherwise (the services import lazily: `joinedup
#: --help` must not wait for SQLAlchemy).
SHOW_LIMIT = 100


audit_app = typer.Typer(
    help="Check the audit trail's hash chain and ask who saw what.", no_args_is_help=True
)

out = Console()
err = Console(stderr=True)

CLI_ROLE = "command line"


def _sessions(home: Path | None) -> sessionmaker[Session]:
    from joinedup.carestore.db import make_engine, session_factory

    return session_factory(make_engine(care_store_url(Settings.from_env(home))))


@audit_app.command("verify")
def verify(
    home: HomeOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="An entry hash recorded earlier: fail unless it is still in the chain.",
        ),
    ] = None,
) -> None:
    """Check every audit entry's hash and link; print the head hash and count to record."""
    from joinedup.governance.audit import verify_audit_chain

    report = verify_audit_chain(_sessions(home), expect_head=expect_head)
    if report.bad_row_id is not None:
        err.print(
            f"[red]Audit chain broken at entry {report.bad_row_id}[/red]: {report.problem}.",
            highlight=False,
        )
        err.print(f"{report.rows_checked - 1:,} entries before it hold.", highlight=False)
        raise typer.Exit(1)
    if not report.ok:
        err.print(f"[red]Audit chain check failed[/red]: {report.problem}.", highlight=False)
        err.print(f"Expected head: {expect_head}", highlight=False)
    summary = f"{report.rows_checked:,} audit entries checked"
    if report.ok:
        out.print(f"[green]Audit chain intact[/green]: {summary}.", highlight=False)
    out.print(f"Head entry: {report.head_id or '-'}", highlight=False)
    out.print(f"Head hash: {report.head_hash}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
    out.print("Record the head hash elsewhere: `--expect-head` checks it later.", highlight=False)


def _table(rows: list[AuditRow], title: str) -> Table:
    table = Table(title=title)
    for heading in ("When (UTC)", "Who", "Role", "Action", "Purpose", "Entity", "Person"):
        table.add_column(heading)
    for row in rows:
        table.add_row(
            row.when.strftime("%Y-%m-%d %H:%M:%S"),
            row.who,
            row.role,
            row.action,
            row.purpose,
            row.entity,
            "" if row.person_id is None else str(row.person_id),
        )
    return table


@audit_app.command("show")
def show(
    person: Annotated[
        int | None, typer.Option("--person", help="Who looked at this person (person id).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="What this user (username) saw and did.")
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option("--since", formats=["%Y-%m-%d"], help="With --user: from this day (UTC)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many entries.")
    ] = SHOW_LIMIT,
    home: HomeOption = None,
) -> None:
    """Show the audit entries about a person, or by a user, newest first."""
    from joinedup.governance.audit import record_audit_query, what_user_saw, who_viewed_person

    if (person is None) == (user is None):
        raise typer.BadParameter("give either --person or --user", param_hint="--person/--user")
    sessions = _sessions(home)
    record_audit_query(
        sessions,
        actor=cli_actor(),
        actor_role=CLI_ROLE,
        person_id=person,
        username=user,
    )
    if person is not None:
        rows = who_viewed_person(sessions, person, limit)
        title = f"Audit entries about person {person}"
    else:
        assert user is not None
        start = since.replace(tzinfo=dt.UTC) if since is not None else None
        rows = what_user_saw(sessions, user, start, limit)
        title = f"Audit entries by {user}"
    if not rows:
        out.print(f"{title}: none.", highlight=False)
        return
    out.print(_table(rows, title))


if __name__ == "__main__":
    audit_app(prog_name="joinedup audit")
