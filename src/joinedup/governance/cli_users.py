"""``joinedup user …``: add, list, disable and enable accounts, change their role and places.

Every change is audited with the operating-system user who ran the command as its actor
(``cli:<os user>``). A generated password is printed once and never stored in clear.

Services are imported inside the commands, so that `joinedup --help` does not wait for
SQLAlchemy and the engines.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_store_url, cli_actor
from joinedup.governance.roles import ROLE_IDS, role_book
from joinedup.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


user_app = typer.Typer(
    help="Add and manage user accounts (roles and organisations).", no_args_is_help=True
)

out = Console()

RoleArgument = Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLE_IDS)}.")]


def _sessions(home: Path | None) -> sessionmaker[Session]:
    from joinedup.carestore.db import make_engine, session_factory

    return session_factory(make_engine(care_store_url(Settings.from_env(home))))


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="The sign-in name, e.g. jsmith.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLE_IDS)}.")],
    name: Annotated[str, typer.Option("--name", help='The person\'s name, e.g. "Jo Smith".')],
    org: Annotated[
        list[str] | None,
        typer.Option("--org", help="An organisation code they work in (repeat for more)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Add a user; prints a generated password once unless --password-stdin gives one."""
    from joinedup.governance import users

    password = _read_password() if password_stdin else None
    user, generated = users.add_user(
        _sessions(home),
        username,
        name,
        role,
        org or [],
        password,
        actor=cli_actor(),
        actor_role="cli",
    )
    out.print(f"Added {user.username} ({role_book().role(user.role).name}).", highlight=False)
    if generated:
        out.print(
            f"Password: {generated}\nIt is shown only this once: give it to them safely. "
            "They choose their own when they first sign in.",
            highlight=False,
            markup=False,
        )


def _read_password() -> str:
    from joinedup.governance import users

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise users.AccountError("--password-stdin: no password on standard input")
    return password


@user_app.command("list")
def list_(home: HomeOption = None) -> None:
    """List every account: role, organisations, and whether it is active or locked."""
    from joinedup.governance import users

    accounts = users.list_users(_sessions(home), dt.datetime.now(dt.UTC))
    if not accounts:
        out.print("No users yet: add one with `joinedup user add`.", markup=False)
        return
    table = Table("username", "name", "role", "organisations", "active", "locked")
    for account in accounts:
        table.add_row(
            account.username,
            account.display_name,
            account.role,
            " ".join(account.organisations) or "-",
            "yes" if account.active else "no",
            "yes" if account.locked else "no",
        )
    out.print(table)


@user_app.command("disable")
def disable(username: str, home: HomeOption = None) -> None:
    """Stop a user signing in and end their sessions (accounts are never deleted)."""
    from joinedup.governance import users

    user = users.disable_user(_sessions(home), username, actor=cli_actor(), actor_role="cli")
    out.print(f"Disabled {user.username}; their sessions have ended.", highlight=False)


@user_app.command("enable")
def enable(username: str, home: HomeOption = None) -> None:
    """Let a user sign in again (also lifts a lock-out)."""
    from joinedup.governance import users

    user = users.enable_user(_sessions(home), username, actor=cli_actor(), actor_role="cli")
    out.print(f"Enabled {user.username}.", highlight=False)


@user_app.command("reset-password")
def reset_password(username: str, home: HomeOption = None) -> None:
    """Give a user who forgot their password a new one (printed once); ends their sessions."""
    from joinedup.governance import users

    password = users.reset_password(_sessions(home), username, actor=cli_actor(), actor_role="cli")
    out.print(
        f"New password for {username}: {password}\nIt is shown only this once: give it to them "
        "safely. They choose their own when they next sign in.",
        highlight=False,
        markup=False,
    )


@user_app.command("role")
def role(username: str, new_role: RoleArgument, home: HomeOption = None) -> None:
    """Give a user another role."""
    from joinedup.governance import users

    user = users.set_role(_sessions(home), username, new_role, actor=cli_actor(), actor_role="cli")
    out.print(f"{user.username} is now {role_book().role(user.role).name}.", highlight=False)


@user_app.command("orgs")
def orgs(
    username: str,
    codes: Annotated[list[str], typer.Argument(help="The organisation codes they work in.")],
    home: HomeOption = None,
) -> None:
    """Set the organisations a user works in (replacing the ones they had)."""
    from joinedup.governance import users

    user = users.set_organisations(
        _sessions(home), username, codes, actor=cli_actor(), actor_role="cli"
    )
    out.print(
        f"{user.username} now works in {' '.join(c.upper() for c in codes)}.", highlight=False
    )
