"""System tokens on the API: ``Authorization: Bearer <token>`` (RFC 6750) as its user.

`joinedup.web.security.current_principal` calls `token_principal` when an API request carries
a bearer token; a token that gives no access is answered 401 with
``WWW-Authenticate: Bearer error="invalid_token"`` and never falls back to the cookie. Tokens
are checked, and every use audited, by `joinedup.governance.system_tokens`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import HTTPException, Request

from joinedup.governance.roles import Principal
from joinedup.governance.system_tokens import (
    TokenRefused,
    audit_out_of_scope,
    principal_for_system_token,
)
from joinedup.web.app_state import get_sessions


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None if there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _request_line(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def token_principal(request: Request, token: str) -> Principal:
    clock = getattr(request.app.state, "auth_clock", None)
    now = clock() if clock is not None else dt.datetime.now(dt.UTC)
    try:
        return principal_for_system_token(
            get_sessions(request), token, now, request=_request_line(request)
        )
    except TokenRefused as refused:
        raise HTTPException(
            status_code=401,
            detail=f"The system token was refused: {refused.reason}.",
            headers={"WWW-Authenticate": 'Bearer realm="joinedup", error="invalid_token"'},
        ) from None


def audit_token_out_of_scope(request: Request, principal: Principal) -> None:
    audit_out_of_scope(get_sessions(request), principal, _request_line(request))
