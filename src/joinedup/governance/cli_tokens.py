"""``joinedup token …``: issue, list and revoke the bearer tokens of system clients.

A token acts as one user (e.g. an ``nhs111`` account added with ``joinedup user add``) with
exactly that user's role and organisations. ``issue`` prints the token once: only its hash is
kept. Every issue and revocation is audited with the operating-system user as the actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions, cli_actor
from joinedup.settings import Settings

token_app = typer.Typer(
    help="Issue, list and revoke bearer tokens for system clients (NHS 111, practice systems).",
    no_args_is_help=True,
)

out = Console()


@token_app.command("issue")
def issue(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    days: Annotated[int, typer.Option("--days", help="Days until it expires (1-365).")] = 90,
    home: HomeOption = None,
) -> None:
    """Issue a token for USERNAME and print it once (only its hash is kept)."""
    from joinedup.governance.system_tokens import issue_token

    with care_sessions(Settings.from_env(home)) as sessions:
        token, record = issue_token(
            sessions, username, days=days, actor=cli_actor(), actor_role="cli"
        )
    out.print(
        f"Token {record.id} for {record.username} ({record.role}), "
        f"expires {record.expires_at:%Y-%m-%d %H:%M} UTC:\n{token}\n"
        "It is shown only this once: give it to the system's operator safely.",
        highlight=False,
        markup=False,
    )


@token_app.command("list")
def list_(home: HomeOption = None) -> None:
    """List every token: its user, when it was issued and expires, and whether it works."""
    from joinedup.governance.system_tokens import list_tokens

    with care_sessions(Settings.from_env(home)) as sessions:
        tokens = list_tokens(sessions)
    if not tokens:
        out.print("No tokens yet: issue one with `joinedup token issue USERNAME`.", markup=False)
        return
    now = dt.datetime.now(dt.UTC)
    table = Table("id", "user", "role", "issued", "by", "expires", "state")
    for t in tokens:
        table.add_row(
            str(t.id),
            t.username,
            t.role,
            f"{t.issued_at:%Y-%m-%d %H:%M}",
            t.issued_by,
            f"{t.expires_at:%Y-%m-%d %H:%M}",
            t.state(now),
        )
    out.print(table)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `joinedup token list`).")],
    home: HomeOption = None,
) -> None:
    """Stop a token working at once."""
    from joinedup.governance.system_tokens import revoke_token

    with care_sessions(Settings.from_env(home)) as sessions:
        record = revoke_token(sessions, token_id, actor=cli_actor(), actor_role="cli")
    out.print(f"Revoked token {record.id} of {record.username}.", highlight=False)
