"""``joinedup user …`` through Typer's CliRunner, on a migrated temporary SQLite care store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent, Organisation
from joinedup.governance import users
from joinedup.governance.cli_users import user_app
from joinedup.governance.sessions import principal_for_token, start_session
from joinedup.governance.users import AccountError, SignInFailed, UserNotFound
from tests.carestore_support import migrated

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JOINEDUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOINEDUP_HOME", raising=False)
    migrated(f"sqlite:///{tmp_path / 'care.db'}")
    sessions = session_factory(make_engine(f"sqlite:///{tmp_path / 'care.db'}"))
    with sessions() as session, session.begin():
        session.add(
            Organisation(org_code="FED01", name="Federation", org_type="federation", synced_at=NOW)
        )
        session.flush()
        for code in ("NBH01", "NBH02"):
            session.add(
                Organisation(
                    org_code=code,
                    name=f"Neighbourhood {code}",
                    org_type="neighbourhood",
                    parent_code="FED01",
                    synced_at=NOW,
                )
            )
    return tmp_path


@pytest.fixture
def sessions(home: Path) -> sessionmaker[Session]:
    return session_factory(make_engine(f"sqlite:///{home / 'care.db'}"))


def table_rows(output: str) -> dict[str, list[str]]:
    """The Rich table's rows by username: [username, name, role, organisations, active, locked]."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 6 and cells[0] and cells[0] != "username":
            rows[cells[0]] = cells
    return rows


def run(home: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(user_app, [*args, "--home", str(home)], input=input)


def test_add_prints_a_generated_password_once_that_signs_in(
    home: Path, sessions: sessionmaker[Session]
) -> None:
    result = run(
        home,
        "add",
        "jsmith",
        "--role",
        "gp",
        "--name",
        "Jo Smith",
        "--org",
        "NBH01",
        "--org",
        "nbh02",
    )

    assert result.exit_code == 0, result.output
    assert "Added jsmith (GP)" in result.output
    password = next(
        line.removeprefix("Password: ")
        for line in result.output.splitlines()
        if line.startswith("Password: ")
    )
    assert users.authenticate(sessions, "jsmith", password, NOW).display_name == "Jo Smith"
    [record] = users.list_users(sessions, NOW)
    assert record.organisations == ("NBH01", "NBH02")
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.add")).one()
    assert event.actor.startswith("cli:") and event.actor_role == "cli"
    assert password not in str(event.detail)


def test_add_with_password_on_stdin_prints_no_password(
    home: Path, sessions: sessionmaker[Session]
) -> None:
    result = run(
        home,
        "add",
        "nurse1",
        "--role",
        "nurse",
        "--name",
        "Ann",
        "--password-stdin",
        input="Blue kettle 42 sings\n",
    )

    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    assert users.authenticate(sessions, "nurse1", "Blue kettle 42 sings", NOW).role == "nurse"


def test_add_refuses_unknown_organisations_and_weak_passwords(home: Path) -> None:
    unknown = run(home, "add", "jsmith", "--role", "gp", "--name", "Jo", "--org", "ZZZ99")
    weak = run(
        home, "add", "jsmith", "--role", "gp", "--name", "Jo", "--password-stdin", input="short\n"
    )
    no_role = run(home, "add", "jsmith", "--role", "surgeon", "--name", "Jo")

    assert isinstance(unknown.exception, AccountError)
    assert "no organisation ZZZ99" in str(unknown.exception)
    assert "at least 12 characters" in str(weak.exception)
    assert "no role 'surgeon'" in str(no_role.exception)
    assert "No users yet" in run(home, "list").output


def test_list_disable_enable_role_and_orgs(home: Path, sessions: sessionmaker[Session]) -> None:
    run(home, "add", "jsmith", "--role", "gp", "--name", "Jo Smith", "--org", "NBH01")
    run(home, "add", "amanager", "--role", "manager", "--name", "Al Manager", "--org", "FED01")

    assert run(home, "disable", "jsmith").exit_code == 0
    assert run(home, "role", "amanager", "analyst").exit_code == 0
    assert run(home, "orgs", "amanager", "NBH01", "NBH02").exit_code == 0
    listing = run(home, "list")

    assert listing.exit_code == 0
    rows = table_rows(listing.output)
    assert rows["amanager"] == ["amanager", "Al Manager", "analyst", "NBH01 NBH02", "yes", "no"]
    assert rows["jsmith"] == ["jsmith", "Jo Smith", "gp", "NBH01", "no", "no"]
    [jsmith] = [u for u in users.list_users(sessions, NOW) if u.username == "jsmith"]
    assert not jsmith.active

    assert run(home, "enable", "jsmith").exit_code == 0
    assert [u.active for u in users.list_users(sessions, NOW)] == [True, True]


def test_enable_lifts_a_lock_out(home: Path, sessions: sessionmaker[Session]) -> None:
    run(
        home,
        "add",
        "jsmith",
        "--role",
        "gp",
        "--name",
        "Jo",
        "--password-stdin",
        input="Blue kettle 42 sings\n",
    )
    now = dt.datetime.now(dt.UTC)  # `user list` says who is locked now
    for _ in range(5):
        with pytest.raises(SignInFailed):
            users.authenticate(sessions, "jsmith", "Wrong password 1", now)
    assert table_rows(run(home, "list").output)["jsmith"][5] == "yes"

    run(home, "enable", "jsmith")

    assert table_rows(run(home, "list").output)["jsmith"][5] == "no"
    assert users.authenticate(sessions, "jsmith", "Blue kettle 42 sings", now).username == "jsmith"


def test_changing_an_unknown_user_is_a_clear_error(home: Path) -> None:
    result = run(home, "disable", "nobody")

    assert isinstance(result.exception, UserNotFound)
    assert str(result.exception) == "there is no user called 'nobody'"


def test_reset_password_gives_a_locked_out_user_a_new_one_and_ends_their_sessions(
    home: Path, sessions: sessionmaker[Session]
) -> None:
    old = "Blue kettle 42 sings"
    run(home, "add", "jsmith", "--role", "gp", "--name", "Jo", "--password-stdin", input=old)
    now = dt.datetime.now(dt.UTC)
    user = users.authenticate(sessions, "jsmith", old, now)
    token, _ = start_session(sessions, user, now)
    for _ in range(5):  # forgot it, and tried until locked out
        with pytest.raises(SignInFailed):
            users.authenticate(sessions, "jsmith", "Wrong password 1", now)

    result = run(home, "reset-password", "jsmith")

    assert result.exit_code == 0, result.output
    new = result.output.split("New password for jsmith: ", 1)[1].split()[0]
    assert users.authenticate(sessions, "jsmith", new, now).username == "jsmith"  # unlocked
    with pytest.raises(SignInFailed):
        users.authenticate(sessions, "jsmith", old, now)
    assert principal_for_token(sessions, token, now) is None  # their session ended
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.reset_password")
        ).one()
    assert event.detail["was_locked"] is True and event.detail["sessions_ended"] == 1
    assert new not in str(event.detail)
