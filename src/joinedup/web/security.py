"""Who is asking, and may they: the signed-in principal and the permission each route needs.

Every route but the public ones (sign-in, static assets, /health, the OpenAPI document)
depends on `require(...)` with the permission(s) from roles.yaml that allow it (any one will
do). `require`:

* answers a visitor who is not signed in with a redirect to the sign-in page (pages) or 401
  (the JSON API);
* answers a signed-in user without the permission with 403;
* checks the CSRF token on every state-changing request (POST, PUT, PATCH, DELETE): the
  session's token must come back in the ``csrf_token`` form field or the ``X-CSRF-Token``
  header, or the request is refused with 403.

The principal is put on ``request.state.principal`` by the session middleware
(`joinedup.web.auth`); tests may instead override `current_principal`. API clients may instead
send a system token (``Authorization: Bearer``, `joinedup.web.bearer`): it acts as its user,
with the same permission checks and no CSRF check (a browser never sends it by itself).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from joinedup.governance.roles import Principal, role_book
from joinedup.web.bearer import audit_token_out_of_scope, bearer_token, token_principal

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """The visitor must sign in first; pages redirect, the API answers 401."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in required")
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """The user signed in with a password an administrator generated (ADR 0043): pages lead to
    "Change your password" until they have changed it."""

    def __init__(self, change_url: str) -> None:
        super().__init__("password change required")
        self.change_url = change_url


#: What a user who must change their password may still do.
WHILE_PASSWORD_MUST_CHANGE = frozenset({"change_password", "change_password_submit", "sign_out"})


def is_api_request(request: Request) -> bool:
    """Whether the request is for the JSON API (answered with JSON, errors included)."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == "/api" or path.startswith("/api/") or path in ("/health", "/openapi.json")


async def current_principal(request: Request) -> Principal | None:
    """The signed-in user of this request, or None; on the API, a system token's user
    (`joinedup.web.bearer`) when the request carries ``Authorization: Bearer``.

    Async so that it runs on the event loop: FastAPI hands a plain function dependency to a
    worker thread, and under load that hand-over (waiting for Python's lock behind other
    requests' work) costs far more than reading the session's principal. Only a system
    token's lookup, which reads the care store, goes to a thread."""
    if is_api_request(request) and (token := bearer_token(request)) is not None:
        return await run_in_threadpool(token_principal, request, token)
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def sign_in_url(request: Request) -> str:
    """The sign-in page, coming back here afterwards; with ``ended=<code>`` when the browser's
    session has just timed out, so the page can say why (`joinedup.web.auth.ENDED_MESSAGES`)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": target}
    if ended := getattr(request.state, "session_ended", None):
        query["ended"] = ended
    return request.url_for("sign_in").path + "?" + urlencode(query)


async def _csrf_token_sent(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    return sent


class Require:
    """The dependency behind `require`: carries its permissions so tests can list every route's."""

    def __init__(self, *permissions: str) -> None:
        if not permissions:
            raise ValueError("require() needs at least one permission")
        self.permissions = tuple(role_book().check_permission(p) for p in permissions)

    async def __call__(
        self,
        request: Request,
        principal: Annotated[Principal | None, Depends(current_principal)],
    ) -> Principal:
        if principal is None:
            if is_api_request(request):
                raise HTTPException(
                    status_code=401,
                    detail="Sign in first.",
                    headers={"WWW-Authenticate": 'Cookie realm="joinedup"'},
                )
            raise SignInRequired(sign_in_url(request))
        if request.method not in SAFE_METHODS and principal.token_id is None:
            sent = await _csrf_token_sent(request)
            if not (sent and hmac.compare_digest(sent, principal.csrf_token)):
                raise HTTPException(
                    status_code=403,
                    detail="This form has expired or did not come from joinedup: go back, "
                    "reload the page and try again.",
                )
        request.state.principal = principal  # the layout's header reads it
        if (
            principal.must_change_password
            and _route_name(request) not in WHILE_PASSWORD_MUST_CHANGE
        ):
            if is_api_request(request):
                raise HTTPException(
                    status_code=403,
                    detail="Change the password you were given first: sign in to joinedup.",
                )
            raise PasswordChangeRequired(request.url_for("change_password").path)
        if not any(principal.can(p) for p in self.permissions):
            if principal.token_id is not None:
                await run_in_threadpool(audit_token_out_of_scope, request, principal)
            raise HTTPException(
                status_code=403,
                detail="Your role does not allow this. Ask your administrator if you need it.",
            )
        return principal


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "name", ""))


def require(*permissions: str) -> Callable[..., object]:
    """A dependency: the signed-in principal, who must hold one of `permissions` (module doc)."""
    return Require(*permissions)
