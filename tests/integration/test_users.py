"""User accounts on both care-store backends: every change audited, sign-in and lock-out."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.governance import users
from joinedup.governance.models import User, WebSession
from joinedup.governance.passwords import PasswordPolicyError, verify_password
from joinedup.governance.roles import UnknownRoleError, role_book
from joinedup.governance.sessions import principal_for_token, start_session
from joinedup.governance.users import (
    AccountError,
    SignInFailed,
    UserNotFound,
    WrongCurrentPassword,
)
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore

Sessions = sessionmaker[Session]
PASSWORD = "Blue kettle 42 sings"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def area(sessions: Sessions, area_store: PopulationStore) -> Sessions:
    sync_organisations(area_store, sessions)
    return sessions


def audit(sessions: Sessions, action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def row(sessions: Sessions, username: str) -> User:
    with sessions() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def add_gp(sessions: Sessions, username: str = "jsmith", password: str | None = PASSWORD) -> User:
    user, _ = users.add_user(
        sessions, username, "Jo Smith", "gp", ["NBH01"], password, actor="cli:admin"
    )
    return user


def test_add_user_stores_an_argon2id_hash_and_audits_without_the_password(area: Sessions) -> None:
    user, generated = users.add_user(
        area, "JSmith", " Jo  Smith ", "gp", ["nbh01", "P81003"], PASSWORD, actor="cli:admin"
    )

    assert generated is None
    stored = row(area, "jsmith")
    assert stored.id == user.id and stored.display_name == "Jo Smith"
    assert stored.password_hash is not None and stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, PASSWORD)
    [listed] = users.list_users(area, T0)
    assert listed.organisations == ("NBH01", "P81003")
    assert (listed.active, listed.locked, listed.role) == (True, False, "gp")
    [event] = audit(area, "user.add")
    assert (event.actor, event.entity_id) == ("cli:admin", str(user.id))
    assert event.detail == {
        "username": "jsmith",
        "role": "gp",
        "organisations": ["NBH01", "P81003"],
    }
    assert PASSWORD not in str(event.detail)


def test_add_user_generates_a_strong_password_when_none_is_given(area: Sessions) -> None:
    user, generated = users.add_user(area, "nurse1", "Ann Nurse", "nurse", ["NBH02"])

    assert generated is not None and len(generated) >= 12
    assert users.authenticate(area, "nurse1", generated, T0).id == user.id


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"role": "surgeon"}, UnknownRoleError, "no role 'surgeon'"),
        ({"organisations": ["NOPE1"]}, AccountError, "no organisation NOPE1"),
        ({"username": "a b"}, AccountError, "not a valid username"),
        ({"password": "tooshort1"}, PasswordPolicyError, "at least 12"),
        ({"password": "jsmith"}, PasswordPolicyError, "not be your username"),
    ],
)
def test_add_user_refuses_with_a_clear_message_and_writes_nothing(
    area: Sessions, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {
        "username": "jsmith",
        "display_name": "Jo Smith",
        "role": "gp",
        "organisations": ["NBH01"],
        "password": PASSWORD,
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        users.add_user(area, **args)  # type: ignore[arg-type]

    assert users.list_users(area) == []
    assert audit(area, "user.add") == []


def test_usernames_are_unique_whatever_their_case(area: Sessions) -> None:
    add_gp(area)
    with pytest.raises(AccountError, match="already a user called 'jsmith'"):
        add_gp(area, "JSMITH")


def test_disabled_users_cannot_sign_in_and_lose_their_sessions(area: Sessions) -> None:
    user = add_gp(area)
    token, _ = start_session(area, user, T0)

    users.disable_user(area, "jsmith", actor="admin", actor_role="administrator")

    assert principal_for_token(area, token, T0) is None
    with pytest.raises(SignInFailed):
        users.authenticate(area, "jsmith", PASSWORD, T0)
    [event] = audit(area, "user.disable")
    assert (event.actor, event.actor_role, event.detail["sessions_ended"]) == (
        "admin",
        "administrator",
        1,
    )

    users.enable_user(area, "jsmith", actor="admin")
    assert users.authenticate(area, "jsmith", PASSWORD, T0).id == user.id


def test_changing_role_and_organisations_is_audited_and_checked(area: Sessions) -> None:
    user = add_gp(area)

    users.set_role(area, "jsmith", "care_coordinator", actor="admin")
    users.set_organisations(area, "jsmith", ["NBH02", "HUB01"], actor="admin")

    [listed] = users.list_users(area)
    assert (listed.role, listed.organisations) == ("care_coordinator", ("HUB01", "NBH02"))
    [role_event] = audit(area, "user.set_role")
    assert role_event.detail["previous_role"] == "gp"
    assert role_event.entity_id == str(user.id)
    [org_event] = audit(area, "user.set_organisations")
    assert org_event.detail["previous_organisations"] == ["NBH01"]
    with pytest.raises(UnknownRoleError):
        users.set_role(area, "jsmith", "king", actor="admin")
    with pytest.raises(AccountError, match="no organisation ZZZ"):
        users.set_organisations(area, "jsmith", ["ZZZ"], actor="admin")
    with pytest.raises(UserNotFound):
        users.disable_user(area, "nobody", actor="admin")
    assert users.list_users(area)[0].organisations == ("HUB01", "NBH02")
    assert audit(area, "user.disable") == []


def test_sign_in_failures_all_give_the_same_message(area: Sessions) -> None:
    add_gp(area)
    add_gp(area, "retired")
    users.disable_user(area, "retired", actor="admin")

    messages = set()
    for username, password in [
        ("nobody", PASSWORD),  # unknown user
        ("jsmith", "Wrong password 1"),  # wrong password
        ("retired", PASSWORD),  # disabled
        ("", ""),
    ]:
        with pytest.raises(SignInFailed) as failed:
            users.authenticate(area, username, password, T0)
        messages.add(str(failed.value))

    assert messages == {users.SIGN_IN_FAILED}
    assert "nobody" not in users.SIGN_IN_FAILED


def test_five_failures_lock_the_account_for_fifteen_minutes(area: Sessions) -> None:
    add_gp(area)
    for attempt in range(5):
        with pytest.raises(SignInFailed):
            users.authenticate(
                area, "jsmith", "Wrong password 1", T0 + dt.timedelta(seconds=attempt)
            )

    locked = row(area, "jsmith")
    assert locked.failed_attempts == 5
    assert locked.locked_until == T0 + dt.timedelta(seconds=4) + users.LOCK_DURATION
    assert users.list_users(area, T0 + dt.timedelta(minutes=1))[0].locked
    # Locked: even the right password fails, with the same message.
    with pytest.raises(SignInFailed, match="Enter a correct username and password"):
        users.authenticate(area, "jsmith", PASSWORD, T0 + dt.timedelta(minutes=14))
    failures = audit(area, "session.sign_in_failed")
    assert [e.detail["failed_attempts"] for e in failures] == [1, 2, 3, 4, 5]
    assert failures[-1].detail["locked"] is True

    user = users.authenticate(area, "jsmith", PASSWORD, T0 + dt.timedelta(minutes=15, seconds=5))

    assert user.username == "jsmith"
    after = row(area, "jsmith")
    assert (after.failed_attempts, after.locked_until) == (0, None)


def test_a_success_resets_the_count_of_failures(area: Sessions) -> None:
    add_gp(area)
    for _ in range(4):
        with pytest.raises(SignInFailed):
            users.authenticate(area, "jsmith", "Wrong password 1", T0)
    users.authenticate(area, "jsmith", PASSWORD, T0)
    for _ in range(4):
        with pytest.raises(SignInFailed):
            users.authenticate(area, "jsmith", "Wrong password 1", T0)

    assert row(area, "jsmith").locked_until is None
    assert [e.detail["failed_attempts_cleared"] for e in audit(area, "user.sign_in_reset")] == [4]


def test_change_password_checks_the_old_one_and_ends_other_sessions(area: Sessions) -> None:
    user = add_gp(area)
    here, here_session = start_session(area, user, T0)
    elsewhere, _ = start_session(area, user, T0)
    new = "Green teapot 17 hums"

    with pytest.raises(WrongCurrentPassword):
        users.change_password(area, "jsmith", "Not my password 1", new)
    with pytest.raises(PasswordPolicyError, match="different from your current"):
        users.change_password(area, "jsmith", PASSWORD, PASSWORD)
    with pytest.raises(PasswordPolicyError, match="at least 12"):
        users.change_password(area, "jsmith", PASSWORD, "short")
    assert audit(area, "user.change_password") == []

    users.change_password(area, "jsmith", PASSWORD, new, keep_session_id=here_session.id)

    assert principal_for_token(area, here, T0) is not None
    assert principal_for_token(area, elsewhere, T0) is None
    with pytest.raises(SignInFailed):
        users.authenticate(area, "jsmith", PASSWORD, T0)
    assert users.authenticate(area, "jsmith", new, T0).id == user.id
    [event] = audit(area, "user.change_password")
    assert (event.actor, event.actor_role, event.detail["other_sessions_ended"]) == (
        "jsmith",
        "gp",
        1,
    )


@pytest.mark.usefixtures("production_password_hashes")
def test_an_old_hash_is_upgraded_at_the_next_sign_in(area: Sessions) -> None:
    from argon2 import PasswordHasher

    add_gp(area)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with area() as session, session.begin():
        session.scalars(select(User)).one().password_hash = weak

    users.authenticate(area, "jsmith", PASSWORD, T0)

    upgraded = row(area, "jsmith").password_hash
    assert upgraded != weak and upgraded is not None and "m=65536" in upgraded
    [event] = audit(area, "user.sign_in_reset")
    assert event.detail["password_rehashed"] is True


def test_demo_users_one_per_role_in_the_right_places_and_idempotent(area: Sessions) -> None:
    codes = ["AREA01", "FED01", "NBH02", "NBH01", "P81001"]
    first = users.create_demo_users(area, codes)

    assert sorted(role for _, role, _ in first) == sorted(role_book().roles)
    by_user = {u.username: u for u in users.list_users(area)}
    assert by_user["demo-gp"].organisations == ("NBH02",)  # the first neighbourhood given
    assert by_user["demo-social-worker"].organisations == ("NBH02",)
    assert by_user["demo-manager"].organisations == ("FED01",)
    assert by_user["demo-commissioner"].organisations == ("AREA01",)
    assert by_user["demo-administrator"].organisations == ("AREA01",)
    for username, _, password in first:
        assert users.authenticate(area, username, password, T0).username == username

    users.set_role(area, "demo-gp", "receptionist", actor="admin")
    second = users.create_demo_users(area, codes)

    assert len(users.list_users(area)) == len(role_book().roles)
    assert (
        users.list_users(area)[[u.username for u in users.list_users(area)].index("demo-gp")].role
        == "gp"
    )
    old = dict((u, p) for u, _, p in first)
    for username, _, password in second:
        assert password != old[username]
        assert users.authenticate(area, username, password, T0).username == username
        with pytest.raises(SignInFailed):
            users.authenticate(area, username, old[username], T0)


def test_demo_users_need_a_neighbourhood_federation_and_area(area: Sessions) -> None:
    with pytest.raises(AccountError, match="need a federation"):
        users.create_demo_users(area, ["AREA01", "NBH01"])
    with pytest.raises(AccountError, match="no active organisation XYZ"):
        users.create_demo_users(area, ["XYZ"])
    with area() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
