"""Server-side sign-in sessions, kept in the care store's `web_sessions` table.

The browser's cookie holds a random token (`secrets.token_urlsafe(32)`: 256 bits); the table
keeps only its SHA-256, so a copy of the database cannot be replayed as cookies. A session ends
when the user signs out, changes their password or is disabled (`revoked_at`), after 30 minutes
without a request (idle timeout) and, at the latest, 12 hours after sign-in (absolute timeout),
the session-expiry pattern of the OWASP Session Management Cheat Sheet.

`last_seen_at` is refreshed at most once a minute so that reading pages does not write to the
database on every request. That refresh is bookkeeping of the session itself, not a change
anyone made, so it is a plain guarded UPDATE rather than an audited unit of work; signing in
and out are audited (`session.sign_in`, `session.sign_out`, `session.end_all`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import WRITE_TRANSACTION
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.models import User, UserOrganisation, WebSession
from joinedup.governance.roles import Principal

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_INTERVAL = dt.timedelta(minutes=1)
TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128
PURPOSE = "information governance: sign-in"


def session_id_for(token: str) -> str:
    """The stored id of a session: the SHA-256 (hex) of its cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    sessions: sessionmaker[Session], user: User, now: dt.datetime
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
            expires_at=now + ABSOLUTE_TIMEOUT,
        )
        uow.session.add(web_session)
        signed_in = uow.session.get(User, user.id)
        assert signed_in is not None
        signed_in.last_sign_in_at = now
    return token, web_session


def principal_for_token(
    sessions: sessionmaker[Session], token: str, now: dt.datetime
) -> Principal | None:
    """The signed-in user of a cookie token, or None if it is unknown, ended or timed out."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session_id = session_id_for(token)
    with sessions() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == session_id)
        ).one_or_none()
        if found is None:
            return None
        web_session, user = found
        if not is_current(web_session, now) or not user.active:
            return None
        organisations = tuple(
            session.scalars(
                select(UserOrganisation.org_code)
                .where(UserOrganisation.user_id == user.id)
                .order_by(UserOrganisation.org_code)
            )
        )
    if now - web_session.last_seen_at >= TOUCH_INTERVAL:
        _touch(sessions, session_id, now)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisations=organisations,
        csrf_token=web_session.csrf_token,
        session_id=session_id,
    )


def is_current(web_session: WebSession, now: dt.datetime) -> bool:
    """Not revoked, not past its absolute expiry and not idle for too long."""
    return (
        web_session.revoked_at is None
        and now < web_session.expires_at
        and now - web_session.last_seen_at < IDLE_TIMEOUT
    )


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
