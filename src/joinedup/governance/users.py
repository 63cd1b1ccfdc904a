"""User accounts: adding, listing, disabling, roles, organisations, passwords and sign-in.

Every change is one `unit_of_work` with its audit event; `actor` names who made it ("cli:<os
user>" from the command line, the administrator's username from the web). Passwords never
appear in audit details or messages.

Sign-in (`authenticate`) answers every failure — unknown username, wrong password, disabled or
locked account — with the same `SignInFailed` message and about the same time, so the form
never reveals which usernames exist (OWASP Authentication Cheat Sheet, "Authentication and
Error Messages"). Five failures in a row lock the account for 15 minutes; a success resets the
count.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import UnitOfWork, unit_of_work
from joinedup.errors import UserError
from joinedup.governance import passwords
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import role_book
from joinedup.governance.sessions import revoke_sessions

MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = dt.timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SIGN_IN_FAILED = (
    "Enter a correct username and password. After 5 wrong attempts your account is locked "
    "for 15 minutes; if you cannot sign in, ask your administrator."
)
PURPOSE = "information governance: user accounts"
DEMO_PREFIX = "demo-"

# Where each role's demo user works: a neighbourhood, the federation or the commissioning area.
DEMO_PLACES = {
    "gp": "neighbourhood",
    "nurse": "neighbourhood",
    "care_coordinator": "neighbourhood",
    "social_worker": "neighbourhood",
    "link_worker": "neighbourhood",
    "receptionist": "neighbourhood",
    "manager": "federation",
    "commissioner": "commissioning_area",
    "analyst": "commissioning_area",
    "administrator": "commissioning_area",
}


class UserNotFound(UserError, LookupError):
    """No account with that username."""


class AccountError(UserError, ValueError):
    """An account cannot be added or changed as asked; the message says what to fix."""


class UsernameTaken(AccountError):
    """An account with that username exists already."""


class WrongCurrentPassword(AccountError):
    """A password change gave the wrong current password."""


class SignInFailed(UserError):
    """Sign-in failed; the message never says why (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_FAILED)


@dataclass(frozen=True)
class UserRecord:
    """A user account as listed: never the password hash."""

    id: int
    username: str
    display_name: str
    role: str
    organisations: tuple[str, ...]
    active: bool
    locked: bool
    identity_provider: str
    last_sign_in_at: dt.datetime | None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- adding and changing accounts ---------------------------------------------------------


def add_user(
    sessions: sessionmaker[Session],
    username: str,
    display_name: str,
    role: str,
    organisations: Iterable[str] = (),
    password: str | None = None,
    *,
    actor: str = "system",
    actor_role: str = "system",
) -> tuple[User, str | None]:
    """Add an account; returns it and the generated password when none was given (else None)."""
    username = normalise_username(username)
    display_name = _check_display_name(display_name)
    role_book().role(role)
    codes = _unique(organisations)
    generated = None
    if password is None:
        password = generated = passwords.generate_password(username)
    passwords.check_policy(password, username)
    password_hash = passwords.hash_password(password)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="user.add",
        entity_type="user",
        purpose=PURPOSE,
        detail={"username": username, "role": role, "organisations": list(codes)},
    ) as uow:
        if _find(uow.session, username) is not None:
            raise UsernameTaken(f"there is already a user called {username!r}")
        _check_organisations(uow.session, codes)
        user = User(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=password_hash,
            identity_provider="local",
            active=True,
            failed_attempts=0,
            created_at=uow.now,
            password_changed_at=uow.now,
            # A generated password is known to whoever handed it over: the user changes it.
            must_change_password=generated is not None,
        )
        uow.session.add(user)
        uow.session.flush()
        uow.session.add_all(UserOrganisation(user_id=user.id, org_code=c) for c in codes)
        uow.audit.entity_id = str(user.id)
    return user, generated


def disable_user(
    sessions: sessionmaker[Session], username: str, *, actor: str, actor_role: str = "system"
) -> User:
    """Stop an account signing in and end its sessions. Accounts are never deleted. An
    administrator cannot disable their own account (another one, or the command line, can)."""
    with _changing(sessions, username, "user.disable", actor, actor_role) as (uow, user):
        _not_yourself(user, actor, "disable your own account")
        user.active = False
        uow.audit.detail["sessions_ended"] = revoke_sessions(uow.session, user.id, uow.now)
    return user


def enable_user(
    sessions: sessionmaker[Session], username: str, *, actor: str, actor_role: str = "system"
) -> User:
    """Let an account sign in again; this also lifts a lock-out (the administrator's unlock)."""
    with _changing(sessions, username, "user.enable", actor, actor_role) as (uow, user):
        uow.audit.detail["was_locked"] = user.locked_until is not None
        user.active = True
        user.failed_attempts = 0
        user.locked_until = None
    return user


def set_role(
    sessions: sessionmaker[Session],
    username: str,
    role: str,
    *,
    actor: str,
    actor_role: str = "system",
) -> User:
    """Give an account another role (it applies from the user's next request); not one's own,
    which could leave no one able to manage accounts."""
    role_book().role(role)
    with _changing(sessions, username, "user.set_role", actor, actor_role) as (uow, user):
        _not_yourself(user, actor, "change your own role")
        uow.audit.detail.update(previous_role=user.role, role=role)
        user.role = role
    return user


def set_organisations(
    sessions: sessionmaker[Session],
    username: str,
    organisations: Iterable[str],
    *,
    actor: str,
    actor_role: str = "system",
) -> User:
    """Replace the organisations an account works in."""
    codes = _unique(organisations)
    with _changing(sessions, username, "user.set_organisations", actor, actor_role) as (uow, user):
        _check_organisations(uow.session, codes)
        previous = _organisations_of(uow.session, user.id)
        uow.audit.detail.update(previous_organisations=list(previous), organisations=list(codes))
        for link in uow.session.scalars(
            select(UserOrganisation).where(UserOrganisation.user_id == user.id)
        ):
            uow.session.delete(link)
        uow.session.flush()
        uow.session.add_all(UserOrganisation(user_id=user.id, org_code=c) for c in codes)
    return user


def change_password(
    sessions: sessionmaker[Session],
    username: str,
    old_password: str,
    new_password: str,
    *,
    keep_session_id: str | None = None,
) -> User:
    """The user changes their own password; every other session of theirs ends.

    `keep_session_id` is the session the change is made from, which stays signed in.
    """
    with _changing(sessions, username, "user.change_password", username, "self") as (uow, user):
        uow.audit.actor_role = user.role
        if not passwords.verify_password(user.password_hash, old_password):
            raise WrongCurrentPassword("Your current password is not right.")
        if new_password == old_password:
            raise passwords.PasswordPolicyError(
                "Your new password must be different from your current password."
            )
        passwords.check_policy(new_password, user.username)
        user.password_hash = passwords.hash_password(new_password)
        user.password_changed_at = uow.now
        user.must_change_password = False
        ended = revoke_sessions(uow.session, user.id, uow.now, keep=keep_session_id)
        uow.audit.detail["other_sessions_ended"] = ended
    return user


def reset_password(
    sessions: sessionmaker[Session], username: str, *, actor: str, actor_role: str = "system"
) -> str:
    """A new generated password for an account whose user forgot theirs (the administrator
    gives it to them; they change it once signed in). Lifts a lock-out; every session of the
    account ends. Returns the password: it is shown once and kept nowhere in clear."""
    with _changing(sessions, username, "user.reset_password", actor, actor_role) as (uow, user):
        if user.identity_provider != "local":
            raise AccountError(f"{user.username} signs in through {user.identity_provider}")
        password = passwords.generate_password(user.username)
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = uow.now
        user.must_change_password = True
        uow.audit.detail["was_locked"] = user.locked_until is not None
        user.failed_attempts = 0
        user.locked_until = None
        uow.audit.detail["sessions_ended"] = revoke_sessions(uow.session, user.id, uow.now)
    return password


# --- reading ----------------------------------------------------------------------------------


def list_users(sessions: sessionmaker[Session], now: dt.datetime | None = None) -> list[UserRecord]:
    """Every account by username, with where it works and whether it is locked at `now`."""
    now = now or utc_now()
    with sessions() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        links = session.execute(
            select(UserOrganisation.user_id, UserOrganisation.org_code).order_by(
                UserOrganisation.org_code
            )
        ).all()
    orgs: dict[int, list[str]] = {}
    for user_id, code in links:
        orgs.setdefault(user_id, []).append(code)
    return [
        UserRecord(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            organisations=tuple(orgs.get(u.id, ())),
            active=u.active,
            locked=is_locked(u, now),
            identity_provider=u.identity_provider,
            last_sign_in_at=u.last_sign_in_at,
        )
        for u in users
    ]


@dataclass(frozen=True)
class Colleague:
    """An active user as others see them when choosing whom to invite or assign."""

    id: int
    name: str
    role_name: str


def active_users_with(sessions: sessionmaker[Session], permission: str) -> list[Colleague]:
    """Active users whose role grants `permission`, by display name."""
    book = role_book()
    roles = [r for r, role in book.roles.items() if permission in role.permissions]
    with sessions() as session:
        users = session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(roles))
            .order_by(User.display_name)
        ).all()
        return [Colleague(u.id, u.display_name, book.roles[u.role].name) for u in users]


def get_user(sessions: sessionmaker[Session], username: str) -> User:
    with sessions() as session:
        user = _find(session, normalise_username(username, check=False))
        if user is None:
            raise UserNotFound(f"there is no user called {username!r}")
        return user


def organisations_of(sessions: sessionmaker[Session], user_id: int) -> tuple[str, ...]:
    with sessions() as session:
        return _organisations_of(session, user_id)


def is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and now < user.locked_until


# --- sign-in ----------------------------------------------------------------------------------


def authenticate(
    sessions: sessionmaker[Session], username: str, password: str, now: dt.datetime
) -> User:
    """The account whose username and password these are, or `SignInFailed` (module docstring)."""
    key = normalise_username(username, check=False)
    with sessions() as session:
        user = _find(session, key) if key else None
    # Always verify (against a dummy hash for an unknown user) so timing reveals nothing.
    correct = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not user.active or user.identity_provider != "local":
        raise SignInFailed()
    if is_locked(user, now):
        raise SignInFailed()
    if not correct:
        _record_failure(sessions, user.id, now)
        raise SignInFailed()
    return _record_success(sessions, user, password)


def _record_failure(sessions: sessionmaker[Session], user_id: int, now: dt.datetime) -> None:
    with unit_of_work(
        sessions,
        actor="anonymous",
        actor_role="anonymous",
        action="session.sign_in_failed",
        entity_type="user",
        entity_id=str(user_id),
        purpose="information governance: sign-in",
    ) as uow:
        user = uow.session.get(User, user_id)
        assert user is not None
        lock_expired = user.locked_until is not None and now >= user.locked_until
        if lock_expired:  # a new run of attempts starts once a lock-out has passed
            user.failed_attempts = 0
            user.locked_until = None
        user.failed_attempts += 1
        if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
            user.locked_until = now + LOCK_DURATION
        uow.audit.detail.update(
            failed_attempts=user.failed_attempts, locked=user.locked_until is not None
        )


def _record_success(sessions: sessionmaker[Session], user: User, password: str) -> User:
    """Reset the failure count and upgrade an old hash, when either needs doing."""
    assert user.password_hash is not None
    rehash = passwords.needs_rehash(user.password_hash)
    if not (user.failed_attempts or user.locked_until or rehash):
        return user
    with unit_of_work(
        sessions,
        actor=user.username,
        actor_role=user.role,
        action="user.sign_in_reset",
        entity_type="user",
        entity_id=str(user.id),
        purpose="information governance: sign-in",
        detail={"failed_attempts_cleared": user.failed_attempts, "password_rehashed": rehash},
    ) as uow:
        fresh = uow.session.get(User, user.id)
        assert fresh is not None
        fresh.failed_attempts = 0
        fresh.locked_until = None
        if rehash:
            fresh.password_hash = passwords.hash_password(password)
    return fresh


# --- demo users -------------------------------------------------------------------------------


def create_demo_users(
    sessions: sessionmaker[Session],
    org_codes: Sequence[str] | None = None,
    *,
    actor: str = "demo",
) -> list[tuple[str, str, str]]:
    """One demo user per role (``demo-<role>``), each with a fresh password; idempotent.

    Clinical, coordinating and front-desk roles work in the first neighbourhood of `org_codes`,
    the manager in the first federation, the commissioner, analyst and administrator in the
    first commissioning area (all active organisations of the care store when None). Run again,
    existing demo users get a new password (printed again) and their place back.
    Returns (username, role, password) per role.
    """
    places = _demo_places(sessions, org_codes)
    made = []
    for role in role_book().roles:
        username = DEMO_PREFIX + role.replace("_", "-")
        org = places[DEMO_PLACES.get(role, "neighbourhood")]
        password = passwords.generate_password(username)
        if _exists(sessions, username):
            _reset_demo_user(sessions, username, role, org, password, actor=actor)
        else:
            display = f"Demo {role_book().role(role).name}"
            add_user(sessions, username, display, role, [org], password, actor=actor)
        made.append((username, role, password))
    return made


def _demo_places(
    sessions: sessionmaker[Session], org_codes: Sequence[str] | None
) -> dict[str, str]:
    with sessions() as session:
        query = select(Organisation).where(Organisation.active.is_(True))
        orgs = {o.org_code: o for o in session.scalars(query.order_by(Organisation.org_code))}
    codes = list(org_codes) if org_codes is not None else list(orgs)
    unknown = [c for c in codes if c not in orgs]
    if unknown:
        raise AccountError(f"no active organisation {', '.join(unknown)} in the care store")
    places = {}
    for kind in ("neighbourhood", "federation", "commissioning_area"):
        found = next((c for c in codes if orgs[c].org_type == kind), None)
        if found is None:
            raise AccountError(
                f"demo users need a {kind.replace('_', ' ')} among the organisations given: "
                "run `joinedup db upgrade` and synchronise the organisations first"
            )
        places[kind] = found
    return places


def _reset_demo_user(
    sessions: sessionmaker[Session],
    username: str,
    role: str,
    org: str,
    password: str,
    *,
    actor: str,
) -> None:
    password_hash = passwords.hash_password(password)
    with _changing(sessions, username, "user.demo_reset", actor, "system") as (uow, user):
        user.role = role
        user.active = True
        user.failed_attempts = 0
        user.locked_until = None
        user.password_hash = password_hash
        user.password_changed_at = uow.now
        revoke_sessions(uow.session, user.id, uow.now)
        for link in uow.session.scalars(
            select(UserOrganisation).where(UserOrganisation.user_id == user.id)
        ):
            uow.session.delete(link)
        uow.session.flush()
        uow.session.add(UserOrganisation(user_id=user.id, org_code=org))
        uow.audit.detail.update(role=role, organisations=[org])


# --- helpers ----------------------------------------------------------------------------------


def normalise_username(username: str, *, check: bool = True) -> str:
    """Usernames are case-insensitive: stored lower-case, 2–64 of a–z, 0–9, '.', '_', '-'."""
    name = username.strip().lower()
    if check and not USERNAME_PATTERN.match(name):
        raise AccountError(
            f"{username!r} is not a valid username: use 2 to 64 lower-case letters, digits, "
            "dots, hyphens or underscores, starting with a letter or digit"
        )
    return name


def _check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not name or len(name) > 200:
        raise AccountError("give the user's name (1 to 200 characters)")
    return name


def _unique(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))


def _check_organisations(session: Session, codes: Sequence[str]) -> None:
    if not codes:
        return
    found = {
        o.org_code: o
        for o in session.scalars(select(Organisation).where(Organisation.org_code.in_(codes)))
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise AccountError(
            f"no organisation {', '.join(missing)} in the care store: check the code, or "
            "synchronise the organisations from the population store first"
        )
    inactive = [c for c in codes if not found[c].active]
    if inactive:
        raise AccountError(f"organisation {', '.join(inactive)} is no longer active")


def _find(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def _exists(sessions: sessionmaker[Session], username: str) -> bool:
    with sessions() as session:
        return _find(session, username) is not None


def _organisations_of(session: Session, user_id: int) -> tuple[str, ...]:
    query = (
        select(UserOrganisation.org_code)
        .where(UserOrganisation.user_id == user_id)
        .order_by(UserOrganisation.org_code)
    )
    return tuple(session.scalars(query))


def _not_yourself(user: User, actor: str, what: str) -> None:
    if user.username == actor:
        raise AccountError(f"You cannot {what}: ask another administrator")


@contextmanager
def _changing(
    sessions: sessionmaker[Session], username: str, action: str, actor: str, actor_role: str
) -> Iterator[tuple[UnitOfWork, User]]:
    """A unit of work changing one existing account (named by username), audited as `action`."""
    name = normalise_username(username, check=False)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action=action,
        entity_type="user",
        purpose=PURPOSE,
        detail={"username": name},
    ) as uow:
        user = _find(uow.session, name)
        if user is None:
            raise UserNotFound(f"there is no user called {name!r}")
        uow.audit.entity_id = str(user.id)
        yield uow, user
