"""Sign-in, sign-out and password change; the session middleware that finds the signed-in user.

* `SessionMiddleware` reads the ``joinedup_session`` cookie on every request and puts the
  signed-in `Principal` (or None) on ``request.state.principal``, where
  `joinedup.web.security.require` finds it. Only requests that carry the cookie touch the care
  store.
* ``/sign-in`` has no session yet to hold a CSRF token, so its form is protected by a
  double-submit token: a random value both in a short-lived ``joinedup_signin`` cookie and in
  a hidden field, which must match (OWASP CSRF Prevention Cheat Sheet, "Double Submit
  Cookie"). Failed attempts are rate-limited per client address and per username
  (`joinedup.governance.ratelimit`); accounts lock after five failures in a row
  (`joinedup.governance.users`).
* ``next`` (where to go after signing in) must be a path on this site: anything else would make
  the sign-in page an open redirect, so it is ignored.
* Sign-out and password change are POSTs checked against the session's CSRF token by
  `require`.

`install(app)` adds the middleware and the sign-in limiter; tests may give it a clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from joinedup.errors import UserError
from joinedup.governance.ratelimit import SignInLimiter
from joinedup.governance.roles import Principal, role_book
from joinedup.governance.sessions import (
    DEFAULT_LIMITS,
    ENDED_IDLE,
    ENDED_LIFETIME,
    SessionLimits,
    end_session,
    look_up,
    start_session,
)
from joinedup.governance.users import (
    SignInFailed,
    WrongCurrentPassword,
    authenticate,
    change_password,
    utc_now,
)
from joinedup.web.app_state import get_sessions
from joinedup.web.dependencies import ServiceUser
from joinedup.web.navigation import landing_href
from joinedup.web.templating import templates

SESSION_COOKIE = "joinedup_session"
SIGN_IN_COOKIE = "joinedup_signin"
SIGN_IN_COOKIE_MAX_AGE = 15 * 60
SIGN_IN_FIELD = "signin_token"
EXPIRED_FORM = (
    "This sign-in form has expired or did not come from joinedup. Enter your username and "
    "password again."
)

Clock = Callable[[], dt.datetime]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


# --- installing ----------------------------------------------------------------------------


def install(app: FastAPI, *, clock: Clock | None = None) -> None:
    """Add the session middleware and the sign-in limiter to `app` (once; later calls only
    replace the clock and the limiter, which is what tests use to move time)."""
    clock = clock or utc_now
    app.state.auth_clock = clock
    app.state.session_limits = SessionLimits.from_settings(app.state.settings)
    app.state.sign_in_limiter = SignInLimiter(clock=lambda: clock().timestamp())
    if not getattr(app.state, "auth_installed", False):
        app.add_middleware(SessionMiddleware)
        app.state.auth_installed = True


def _now(request: HTTPConnection) -> dt.datetime:
    clock: Clock = getattr(request.app.state, "auth_clock", utc_now)
    return clock()


def _limits(request: HTTPConnection) -> SessionLimits:
    limits: SessionLimits = getattr(request.app.state, "session_limits", DEFAULT_LIMITS)
    return limits


#: Password checks and changes at once in one process (each argon2 at 64 MiB).
PASSWORD_WORK_THREADS = 2


async def password_work(request: Request, work: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`work(*args, **kw)` — a sign-in's or password change's, which hashes with argon2 — in
    threads of its own rather than the process's request threads (ADR 0041: one by default).
    argon2 lets go of Python's lock and takes ~0.1–0.2 s on every core; in the request thread
    every request queued behind a sign-in would wait for it, and a morning's sign-ins would
    hold up everyone's pages."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "password_work", None)
    if limiter is None:
        limiter = request.app.state.password_work = CapacityLimiter(PASSWORD_WORK_THREADS)
    return await to_thread.run_sync(functools.partial(work, *args, **kw), limiter=limiter)


def _limiter(request: Request) -> SignInLimiter:
    limiter: SignInLimiter | None = getattr(request.app.state, "sign_in_limiter", None)
    if limiter is None:
        limiter = request.app.state.sign_in_limiter = SignInLimiter()
    return limiter


class SessionMiddleware:
    """Puts the principal of the request's session cookie (or None) on request.state, and,
    when the cookie's session has timed out, why (``session_ended``: for the sign-in page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection = HTTPConnection(scope)
            token = connection.cookies.get(SESSION_COOKIE, "")
            principal, why = None, None
            if token:
                sessions = get_sessions(Request(scope))
                principal, why = await run_in_threadpool(
                    look_up, sessions, token, _now(connection), _limits(connection)
                )
            state = scope.setdefault("state", {})
            state["principal"] = principal
            state["session_ended"] = why if why in ENDED_MESSAGES else None
        await self.app(scope, receive, send)


# --- why the user must sign in again ----------------------------------------------------------

#: The sign-in page's ``?ended=`` codes (a fixed table: the address carries no words of its own).
ENDED_MESSAGES = {
    ENDED_IDLE: "You were signed out after {idle} without activity. Sign in again to carry on.",
    ENDED_LIFETIME: "You were signed out {lifetime} after signing in, as every session ends "
    "then. Sign in again to carry on.",
}


def ended_message(code: str, limits: SessionLimits) -> str:
    """The sign-in page's words for an ``?ended=`` code ("" for anything else)."""
    template = ENDED_MESSAGES.get(code)
    if template is None:
        return ""
    return template.format(idle=_duration(limits.idle), lifetime=_duration(limits.lifetime))


def _duration(length: dt.timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- where to go after signing in -------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: refuses open redirects such as
    ``https://evil.example``, ``//evil.example`` and ``/\\evil.example``."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if parts.path in ("/sign-in", "/sign-out"):
        return None
    return target


def landing_page(request: Request, role: str) -> str:
    """Where signing in takes the role (`navigation.landing_href`)."""
    return landing_href(role_book().role(role), request.app.state.areas)


# --- sign in ----------------------------------------------------------------------------------


@router.get("/sign-in", name="sign_in")
def sign_in_page(
    request: Request, next: str = "", signed_out: bool = False, ended: str = ""
) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    target = safe_next(next)
    if principal is not None:
        return RedirectResponse(target or landing_page(request, principal.role), status_code=303)
    notice = "You have signed out." if signed_out else ended_message(ended, _limits(request))
    return _sign_in_form(request, next_url=target or "", notice=notice)


@router.post("/sign-in", name="sign_in_submit")
async def sign_in_submit(request: Request) -> Response:
    form = await request.form()
    username = _field(form, "username").strip()
    password = _field(form, "password")
    target = safe_next(_field(form, "next"))
    sent = _field(form, SIGN_IN_FIELD)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not (sent and expected and hmac.compare_digest(sent, expected)):
        return _sign_in_form(request, target or "", username, error=EXPIRED_FORM, status=403)
    errors = {}
    if not username:
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _sign_in_form(request, target or "", username, errors=errors, status=400)
    address = request.client.host if request.client else "unknown"
    limiter = _limiter(request)
    wait = limiter.retry_after(address, username)
    if wait:
        minutes = max(1, round(wait / 60))
        message = (
            f"There have been too many attempts to sign in. Wait {minutes} "
            f"minute{'s' if minutes != 1 else ''} and try again."
        )
        response = _sign_in_form(request, target or "", username, error=message, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    sessions = get_sessions(request)
    now = _now(request)
    try:
        user = await password_work(request, authenticate, sessions, username, password, now)
    except SignInFailed as failure:
        limiter.failed(address, username)
        return _sign_in_form(request, target or "", username, error=str(failure), status=200)
    token, _ = await run_in_threadpool(start_session, sessions, user, now, _limits(request))
    landing = target or landing_page(request, user.role)
    if user.must_change_password:  # a password an administrator gave them (ADR 0043)
        landing = request.url_for("change_password").path
    response = RedirectResponse(landing, status_code=303)
    _set_session_cookie(request, response, token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


def _sign_in_form(
    request: Request,
    next_url: str,
    username: str = "",
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    """The form with a fresh double-submit token, in the page and in its cookie."""
    token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "auth/sign_in.html",
        {
            "next_url": next_url,
            "username": username,
            "error": error,
            "errors": errors or {},
            "notice": notice,
            "sign_in_token": token,
            "sign_in_field": SIGN_IN_FIELD,
        },
        status_code=status,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=SIGN_IN_COOKIE_MAX_AGE,
        path="/sign-in",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(_limits(request).lifetime.total_seconds()),
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


# --- sign out ---------------------------------------------------------------------------------


@router.post("/sign-out", name="sign_out")
async def sign_out(request: Request, principal: ServiceUser) -> Response:
    if principal.session_id:
        sessions = get_sessions(request)
        await run_in_threadpool(end_session, sessions, principal.session_id, _now(request))
    response = RedirectResponse(request.url_for("sign_in").path + "?signed_out=1", 303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_is_https(request), httponly=True, samesite="lax"
    )
    return response


# --- change password --------------------------------------------------------------------------


@router.get("/account/password", name="change_password")
def change_password_page(request: Request, principal: ServiceUser) -> Response:
    return _password_form(request, principal)


@router.post("/account/password", name="change_password_submit")
async def change_password_submit(request: Request, principal: ServiceUser) -> Response:
    form = await request.form()
    current = _field(form, "current_password")
    new = _field(form, "new_password")
    confirm = _field(form, "confirm_password")
    errors = {}
    if not current:
        errors["current_password"] = "Enter your current password"
    if not new:
        errors["new_password"] = "Enter a new password"
    elif new != confirm:
        errors["confirm_password"] = "The new passwords do not match: type the same one twice"
    if errors:
        return _password_form(request, principal, errors=errors, status=400)
    try:
        await password_work(
            request,
            change_password,
            get_sessions(request),
            principal.username,
            current,
            new,
            keep_session_id=principal.session_id or None,
        )
    except WrongCurrentPassword as problem:
        errors = {"current_password": str(problem)}
        return _password_form(request, principal, errors=errors, status=400)
    except UserError as problem:
        return _password_form(request, principal, errors={"new_password": str(problem)}, status=400)
    return _password_form(request, principal, changed=True)


def _password_form(
    request: Request,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    changed: bool = False,
    status: int = 200,
) -> Response:
    response = templates.TemplateResponse(
        request,
        "auth/change_password.html",
        {
            "errors": errors or {},
            "changed": changed,
            "must_change": principal.must_change_password and not changed,
            "csrf_token": principal.csrf_token,
            "home_url": landing_page(request, principal.role),
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
