"""``joinedup audit``: check the audit trail's hash chain and read it from the command line.

    joinedup audit verify [--expect-head HASH]
    joinedup audit anchor
    joinedup audit show --person 123 | --user j.smith [--since 2026-11-01] [--limit 50]

`verify` exits 1 naming the first bad row when the chain is broken, and naming the anchor
when the chain no longer matches one written before (`joinedup.governance.audit_anchor`: a
chain rebuilt after an edit, or cut short). When all holds it appends the head to the anchors
file. `anchor` appends the head without re-reading the whole chain. Keep a copy of the
anchors file, or the head hash, where the database's administrators cannot write (a ticket,
a signed e-mail, another system); ``--expect-head`` checks a hash recorded that way.

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
#: Mismatched anchors `verify` lists before saying how many more there are.
ANCHOR_PROBLEMS_SHOWN = 5


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
    """Check every audit entry's hash and link, and the chain against every anchor written
    before (JOINEDUP_AUDIT_ANCHORS); when all hold, anchor the head and print it."""
    from joinedup.governance.audit import verify_audit_chain
    from joinedup.governance.audit_anchor import append_anchor, check_anchors, read_anchors

    settings = Settings.from_env(home)
    sessions = _sessions(home)
    anchors_path = settings.audit_anchors_path
    anchors = read_anchors(anchors_path)
    report = verify_audit_chain(sessions, expect_head=expect_head)
    mismatched = check_anchors(sessions, anchors)
    if report.bad_row_id is not None:
        err.print(
            f"[red]Audit chain broken at entry {report.bad_row_id}[/red]: {report.problem}.",
            highlight=False,
        )
        err.print(f"{report.rows_checked - 1:,} entries before it hold.", highlight=False)
    elif not report.ok:
        err.print(f"[red]Audit chain check failed[/red]: {report.problem}.", highlight=False)
        err.print(f"Expected head: {expect_head}", highlight=False)
    for problem in mismatched[:ANCHOR_PROBLEMS_SHOWN]:
        err.print(f"[red]Audit chain does not match its {problem}[/red].", highlight=False)
    if len(mismatched) > ANCHOR_PROBLEMS_SHOWN:
        err.print(f"… and {len(mismatched) - ANCHOR_PROBLEMS_SHOWN:,} more anchors.")
    if report.bad_row_id is not None:
        raise typer.Exit(1)
    summary = f"{report.rows_checked:,} audit entries checked against {len(anchors):,} anchors"
    if report.ok and not mismatched:
        out.print(f"[green]Audit chain intact[/green]: {summary}.", highlight=False)
    out.print(f"Head entry: {report.head_id or '-'}", highlight=False)
    out.print(f"Head hash: {report.head_hash}", highlight=False)
    if not report.ok or mismatched:
        raise typer.Exit(1)
    if report.head_id is not None:
        append_anchor(anchors_path, report.head_id, report.head_hash, dt.datetime.now(dt.UTC))
        out.print(f"Anchored the head in {anchors_path}.", highlight=False)


@audit_app.command("anchor")
def anchor(home: HomeOption = None) -> None:
    """Append the chain's head to the anchors file (after checking the anchors before it)."""
    from joinedup.governance.audit_anchor import anchor_head

    settings = Settings.from_env(home)
    written = anchor_head(_sessions(home), settings.audit_anchors_path, dt.datetime.now(dt.UTC))
    if written is None:
        out.print("The audit trail is empty: nothing to anchor yet.")
        return
    out.print(
        f"Anchored entry {written.entry_id} ({written.entry_hash}) in "
        f"{settings.audit_anchors_path}.",
        highlight=False,
    )


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
