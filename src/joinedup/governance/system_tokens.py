"""Bearer tokens for system clients (NHS 111, another practice's system) that call the API.

A token acts as one joinedup user: it gives exactly that user's role and organisations, checked
by the same `require(...)` as a signed-in browser, so a system account is an ordinary user
(e.g. of role ``nhs111``) with no password that signs in only through its tokens.

* `issue_token` makes a random token (``jdu_`` + 256 bits, `secrets.token_urlsafe`), shows it
  once and keeps only its SHA-256, so a copy of the database cannot be replayed; it expires
  after a set number of days and can be revoked (`revoke_token`) at any time.
* `principal_for_system_token` turns a presented token into the user's `Principal`, or refuses
  it (unknown or tampered, expired, revoked, user disabled). Every use and every refusal is an
  audit event, so "what did NHS 111 do" is answerable from the audit trail.

The ``jdu_`` prefix lets secret scanners recognise a leaked token (the GitHub token-format
convention). Token use needs no CSRF check: a browser never sends a bearer header by itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.models import SystemToken, User, UserOrganisation
from joinedup.governance.roles import Principal

TOKEN_PREFIX = "jdu_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128
MAX_DAYS = 365
DEFAULT_DAYS = 90
PURPOSE = "information governance: system access"


class TokenError(UserError, ValueError):
    """A token that cannot be issued or revoked as asked."""


class TokenRefused(Exception):
    """A presented token that gives no access; `reason` is safe to show and to audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenRecord:
    id: int
    username: str
    role: str
    issued_at: dt.datetime
    issued_by: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    sessions: sessionmaker[Session],
    username: str,
    *,
    days: int = DEFAULT_DAYS,
    actor: str,
    actor_role: str,
) -> tuple[str, TokenRecord]:
    """A new token for `username`, valid for `days`; the token is returned once, never stored."""
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"--days must be between 1 and {MAX_DAYS}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="token.issue",
        entity_type="system_token",
        purpose=PURPOSE,
        detail={"username": username, "days": days},
    ) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise TokenError(f"there is no user {username!r}: add them with `joinedup user add`")
        if not user.active:
            raise TokenError(f"{username} is disabled: enable them before issuing a token")
        row = SystemToken(
            user_id=user.id,
            token_hash=token_hash(token),
            issued_at=uow.now,
            issued_by=actor,
            expires_at=uow.now + dt.timedelta(days=days),
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit.entity_id = str(row.id)
        record = _record(row, user)
    return token, record


def revoke_token(
    sessions: sessionmaker[Session], token_id: int, *, actor: str, actor_role: str
) -> TokenRecord:
    """Stop a token working from now on."""
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="token.revoke",
        entity_type="system_token",
        entity_id=str(token_id),
        purpose=PURPOSE,
    ) as uow:
        row = uow.session.get(SystemToken, token_id)
        if row is None:
            raise TokenError(f"there is no token {token_id}: `joinedup token list` shows them")
        if row.revoked_at is not None:
            raise TokenError(f"token {token_id} was already revoked")
        row.revoked_at, row.revoked_by = uow.now, actor
        user = uow.session.get(User, row.user_id)
        assert user is not None
        return _record(row, user)


def list_tokens(sessions: sessionmaker[Session]) -> list[TokenRecord]:
    """Every token ever issued, newest first (revoked and expired ones too)."""
    with sessions() as session:
        rows = session.execute(
            select(SystemToken, User)
            .join(User, User.id == SystemToken.user_id)
            .order_by(SystemToken.id.desc())
        ).all()
    return [_record(token, user) for token, user in rows]


def principal_for_system_token(
    sessions: sessionmaker[Session], token: str, now: dt.datetime, *, request: str
) -> Principal:
    """The principal a presented token acts as; `TokenRefused` if none. Both are audited."""
    found = _find(sessions, token)
    if found is None:
        _audit(sessions, "token.refused", None, None, request, reason="unknown token")
        raise TokenRefused("unknown token")
    row, user = found
    reason = _refusal(row, user, now)
    if reason is not None:
        _audit(sessions, "token.refused", row, user, request, reason=reason)
        raise TokenRefused(reason)
    with sessions() as session:
        organisations = tuple(
            session.scalars(
                select(UserOrganisation.org_code)
                .where(UserOrganisation.user_id == user.id)
                .order_by(UserOrganisation.org_code)
            )
        )
    _audit(sessions, "token.use", row, user, request)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisations=organisations,
        token_id=row.id,
    )


def audit_out_of_scope(sessions: sessionmaker[Session], principal: Principal, request: str) -> None:
    """Record that a token asked for something its user's role does not allow."""
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="token.refused",
        entity_type="system_token",
        entity_id=str(principal.token_id),
        purpose=PURPOSE,
        detail={"request": request, "reason": "outside the role's permissions"},
    ):
        pass


def _find(sessions: sessionmaker[Session], token: str) -> tuple[SystemToken, User] | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    with sessions() as session:
        found = session.execute(
            select(SystemToken, User)
            .join(User, User.id == SystemToken.user_id)
            .where(SystemToken.token_hash == token_hash(token))
        ).one_or_none()
    return None if found is None else (found[0], found[1])


def _refusal(row: SystemToken, user: User, now: dt.datetime) -> str | None:
    if row.revoked_at is not None:
        return "revoked token"
    if now >= row.expires_at:
        return "expired token"
    if not user.active:
        return "the token's user is disabled"
    return None


def _audit(
    sessions: sessionmaker[Session],
    action: str,
    row: SystemToken | None,
    user: User | None,
    request: str,
    *,
    reason: str | None = None,
) -> None:
    detail = {"request": request} | ({"reason": reason} if reason else {})
    with unit_of_work(
        sessions,
        actor=user.username if user else "unknown",
        actor_role=user.role if user else "none",
        action=action,
        entity_type="system_token",
        entity_id=str(row.id) if row else None,
        purpose=PURPOSE,
        detail=detail,
    ):
        pass


def _record(row: SystemToken, user: User) -> TokenRecord:
    return TokenRecord(
        row.id,
        user.username,
        user.role,
        row.issued_at,
        row.issued_by,
        row.expires_at,
        row.revoked_at,
    )
