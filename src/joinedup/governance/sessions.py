"""Server-side sign-in sessions, kept in the care store's `web_sessions` table.

The browser's cookie holds a random token (`secrets.token_urlsafe(32)`: 256 bits); the table
keeps only its SHA-256, so a copy of the database cannot be replayed as cookies. A session ends
when the user signs out, changes their password or is disabled (`revoked_at`), after 30 minutes
without a request (idle timeout) and, at the latest, 12 hours after sign-in (absolute timeout),
the session-expiry pattern of the OWASP Session Management Cheat Sheet. Both are configurable
(`SessionLimits.from_settings`: JOINEDUP_SESSION_IDLE_MINUTES, JOINEDUP_SESSION_LIFETIME_HOURS),
and `look_up` says which one ended a session so the sign-in page can tell the user why.

`last_seen_at` is refreshed at most once a minute so that reading pages does not write to the
database on every request. That refresh is bookkeeping of the session itself, not a change
anyone made, so it is a plain guarded UPDATE rather than an audited unit of work; signing in
and out are audited (`session.sign_in`, `session.sign_out`, `session.end_all`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import WRITE_TRANSACTION, reading
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.models import User, UserOrganisation, WebSession
from joinedup.governance.roles import Principal
from joinedup.settings import Settings

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_INTERVAL = dt.timedelta(minutes=1)
TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128
PURPOSE = "information governance: sign-in"
#: Why a session the browser still holds no longer signs it in (`look_up`).
ENDED_IDLE = "idle"
ENDED_LIFETIME = "lifetime"
ENDED_OTHERWISE = "ended"  # signed out, password changed, user disabled or unknown


@dataclass(frozen=True)
class SessionLimits:
    """How long a session may sit idle, and how long it may last at all."""

    idle: dt.timedelta = IDLE_TIMEOUT
    lifetime: dt.timedelta = ABSOLUTE_TIMEOUT

    def __post_init__(self) -> None:
        if self.idle <= dt.timedelta(0) or self.lifetime <= dt.timedelta(0):
            raise UserError("session timeouts must be positive")
        if self.idle > self.lifetime:
            raise UserError("the idle timeout cannot be longer than the session lifetime")

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        """The limits in `settings` (JOINEDUP_SESSION_IDLE_MINUTES, _LIFETIME_HOURS), else 30
        minutes and 12 hours; a clear error for a value that is not a positive number."""
        idle = _positive(settings.session_idle_minutes, "JOINEDUP_SESSION_IDLE_MINUTES")
        hours = _positive(settings.session_lifetime_hours, "JOINEDUP_SESSION_LIFETIME_HOURS")
        return cls(
            idle=dt.timedelta(minutes=idle) if idle is not None else IDLE_TIMEOUT,
            lifetime=dt.timedelta(hours=hours) if hours is not None else ABSOLUTE_TIMEOUT,
        )


DEFAULT_LIMITS = SessionLimits()


def _positive(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise UserError(f"{name} must be a positive number, not {value!r}")
    return number


def session_id_for(token: str) -> str:
    """The stored id of a session: the SHA-256 (hex) of its cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    sessions: sessionmaker[Session],
    user: User,
    now: dt.datetime,
    limits: SessionLimits = DEFAULT_LIMITS,
) -> tuple[str, WebSession]:
    """A new session for `user` (who has just proved who they are); returns its cookie token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with unit_of_work(
        sessions,
        actor=user.username,
        actor_role=user.role,
        action="session.sign_in",
        entity_type="user",
        entity_id=str(user.id),
        purpose=PURPOSE,
        detail={"method": user.identity_provider},
    ) as uow:
        web_session = WebSession(
            id=session_id_for(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            last_seen_at=now,
            expires_at=now + limits.lifetime,
        )
        uow.session.add(web_session)
        signed_in = uow.session.get(User, user.id)
        assert signed_in is not None
        signed_in.last_sign_in_at = now
    return token, web_session


def principal_for_token(
    sessions: sessionmaker[Session],
    token: str,
    now: dt.datetime,
    limits: SessionLimits = DEFAULT_LIMITS,
) -> Principal | None:
    """The signed-in user of a cookie token, or None if it is unknown, ended or timed out."""
    principal, _why = look_up(sessions, token, now, limits)
    return principal


def look_up(
    sessions: sessionmaker[Session],
    token: str,
    now: dt.datetime,
    limits: SessionLimits = DEFAULT_LIMITS,
) -> tuple[Principal | None, str | None]:
    """(the signed-in user of a cookie token, None) or (None, why it no longer signs in:
    `ENDED_IDLE`, `ENDED_LIFETIME` or `ENDED_OTHERWISE`)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None, ENDED_OTHERWISE
    session_id = session_id_for(token)
    with reading(sessions)() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == session_id)
        ).one_or_none()
        if found is None:
            return None, ENDED_OTHERWISE
        web_session, user = found
        why = why_ended(web_session, now, limits)
        if why is None and not user.active:
            why = ENDED_OTHERWISE
        if why is not None:
            return None, why
        organisations = tuple(
            session.scalars(
                select(UserOrganisation.org_code)
                .where(UserOrganisation.user_id == user.id)
                .order_by(UserOrganisation.org_code)
            )
        )
    if now - web_session.last_seen_at >= TOUCH_INTERVAL:
        _touch(sessions, session_id, now)
    principal = Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisations=organisations,
        csrf_token=web_session.csrf_token,
        session_id=session_id,
        flash_waiting=web_session.flash is not None,
        must_change_password=user.must_change_password,
    )
    return principal, None


def is_current(
    web_session: WebSession, now: dt.datetime, limits: SessionLimits = DEFAULT_LIMITS
) -> bool:
    """Not revoked, not past its lifetime and not idle for too long."""
    return why_ended(web_session, now, limits) is None


def why_ended(
    web_session: WebSession, now: dt.datetime, limits: SessionLimits = DEFAULT_LIMITS
) -> str | None:
    """None while the session is current; else why not. The lifetime is counted from sign-in
    under today's limits as well as by the expiry stamped then, so shortening it applies at
    once; a session past both limits is reported as past its lifetime (the harder stop)."""
    if web_session.revoked_at is not None:
        return ENDED_OTHERWISE
    if now >= web_session.expires_at or now - web_session.created_at >= limits.lifetime:
        return ENDED_LIFETIME
    if now - web_session.last_seen_at >= limits.idle:
        return ENDED_IDLE
    return None


def end_session(sessions: sessionmaker[Session], session_id: str, now: dt.datetime) -> bool:
    """Sign out: revoke one session (by its stored id). False if there was none to end."""
    with sessions() as session:
        found = session.execute(
            select(WebSession.revoked_at, User.id, User.username, User.role)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == session_id)
        ).one_or_none()
    if found is None or found.revoked_at is not None:
        return False
    with unit_of_work(
        sessions,
        actor=found.username,
        actor_role=found.role,
        action="session.sign_out",
        entity_type="user",
        entity_id=str(found.id),
        purpose=PURPOSE,
    ) as uow:
        web_session = uow.session.get(WebSession, session_id)
        assert web_session is not None
        web_session.revoked_at = now
    return True


def end_all_sessions_for(
    sessions: sessionmaker[Session],
    user_id: int,
    now: dt.datetime,
    *,
    actor: str,
    actor_role: str = "system",
    keep: str | None = None,
) -> int:
    """End every open session of a user (but `keep`); how many were ended."""
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="session.end_all",
        entity_type="user",
        entity_id=str(user_id),
        purpose=PURPOSE,
    ) as uow:
        ended = revoke_sessions(uow.session, user_id, now, keep=keep)
        uow.audit.detail["sessions_ended"] = ended
    return ended


def revoke_sessions(
    session: Session, user_id: int, now: dt.datetime, *, keep: str | None = None
) -> int:
    """Within a caller's unit of work: revoke a user's open sessions (but `keep`)."""
    open_sessions = session.scalars(
        select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    )
    ended = 0
    for web_session in open_sessions:
        if web_session.id != keep:
            web_session.revoked_at = now
            ended += 1
    return ended


FLASH_KINDS = ("notice", "error")
FLASH_MAX_LENGTH = 500


def set_flash(sessions: sessionmaker[Session], session_id: str, kind: str, text: str) -> None:
    """Hold a one-shot message for the session's next page (replacing any not yet shown).

    Messages after a redirect live here, on the server, rather than in the web address, so
    no one can put their own words into an official-looking box with a link (issue 14)."""
    if kind not in FLASH_KINDS:
        raise ValueError(f"a flash message is one of {', '.join(FLASH_KINDS)}")
    with sessions() as session, session.begin():
        session.connection(execution_options={WRITE_TRANSACTION: True})
        session.execute(
            update(WebSession)
            .where(WebSession.id == session_id)
            .values(flash={"kind": kind, "text": text[:FLASH_MAX_LENGTH]})
        )


def take_flash(sessions: sessionmaker[Session], session_id: str) -> dict[str, str]:
    """The session's message, if any, cleared as it is read ({} when there is none).

    Read first without a write transaction, as nearly every page has no message; the clearing
    UPDATE is guarded so that of two pages opened at once only one shows it."""
    with sessions() as session:
        flash = session.scalar(select(WebSession.flash).where(WebSession.id == session_id))
    if not flash:
        return {}
    with sessions() as session, session.begin():
        session.connection(execution_options={WRITE_TRANSACTION: True})
        cleared = session.execute(
            update(WebSession)
            .where(WebSession.id == session_id, WebSession.flash.is_not(None))
            .values(flash=None)
        )
    if not cleared.rowcount:  # type: ignore[attr-defined]
        return {}
    return {str(k): str(v) for k, v in flash.items()}


def _touch(sessions: sessionmaker[Session], session_id: str, now: dt.datetime) -> None:
    """Move `last_seen_at` to `now` unless another request already did so this minute."""
    with sessions() as session, session.begin():
        session.connection(execution_options={WRITE_TRANSACTION: True})
        session.execute(
            update(WebSession)
            .where(WebSession.id == session_id, WebSession.last_seen_at <= now - TOUCH_INTERVAL)
            .values(last_seen_at=now)
        )
