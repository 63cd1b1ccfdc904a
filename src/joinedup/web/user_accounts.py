"""User accounts in the browser, for administrators (``users.manage``; ADR 0043): add an
account, change its role or organisations, disable or enable it (which also lifts a lock-out),
and give a user who forgot their password a new one.

Thin routes over `joinedup.governance.users`, which audits every change with the administrator
as its actor. A generated password is shown once, on the page that answers the form (never in a
web address, never stored in clear); every page here is ``no-store`` like every other.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.errors import UserError
from joinedup.governance import users
from joinedup.governance.roles import Principal, role_book
from joinedup.population.organisation_mirror import list_organisations
from joinedup.web import flash
from joinedup.web.dependencies import Sessions
from joinedup.web.formatting import as_sentence
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

UserManager = Annotated[Principal, Depends(require("users.manage"))]


def _codes(typed: str) -> list[str]:
    """Organisation codes as typed: separated by spaces or commas, any case."""
    return [code.upper() for code in re.split(r"[\s,]+", typed) if code]


def _page(
    request: Request, name: str, user: Principal, status: int = 200, **context: Any
) -> Response:
    roles = role_book().roles.values()
    return templates.TemplateResponse(
        request,
        name,
        {
            "csrf_token": user.csrf_token,
            # People's roles: a system client's role (NHS 111, a device platform) is for a
            # system token (`joinedup token issue`), which uses no pages.
            "roles": [(role.id, role.name) for role in roles if "service.use" in role.permissions],
            "role_names": {role.id: role.name for role in roles},
            **flash.take(request, user),
            **context,
        },
        status_code=status,
    )


def _account(sessions: Sessions, username: str) -> users.UserRecord:
    found = next((u for u in users.list_users(sessions) if u.username == username), None)
    if found is None:
        raise HTTPException(status_code=404, detail=f"There is no user called {username}.")
    return found


@router.get("/governance/users/new", name="user_new")
def new_user_page(request: Request, user: UserManager, sessions: Sessions) -> Response:
    form = {"username": "", "display_name": "", "role": "", "organisations": ""}
    return _page(
        request,
        "governance/user_new.html",
        user,
        form=form,
        places=list_organisations(sessions),
    )


@router.post("/governance/users", name="user_add")
def add_user(
    request: Request,
    user: UserManager,
    sessions: Sessions,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    organisations_typed: Annotated[str, Form(alias="organisations")] = "",
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "organisations": organisations_typed,
    }
    try:
        if not role:
            raise users.AccountError("Choose the role of the account")
        added, password = users.add_user(
            sessions, username, display_name, role, _codes(organisations_typed),
            actor=user.username, actor_role=user.role,
        )  # fmt: skip
    except UserError as problem:
        error = as_sentence(problem)
        if isinstance(problem, users.UsernameTaken):  # e.g. the form sent twice: the first
            # answer, with the password, is gone; a new password is one step away
            error += " If you have just added them, give them a new password from their account."
        return _page(
            request, "governance/user_new.html", user, status=400, form=form,
            places=list_organisations(sessions), error=error,
            taken=isinstance(problem, users.UsernameTaken),
        )  # fmt: skip
    return _page(
        request, "governance/user_password.html", user, account=added.username, password=password,
        added=True,
    )  # fmt: skip


@router.get("/governance/users/{username}", name="user_account")
def account_page(
    request: Request, username: str, user: UserManager, sessions: Sessions
) -> Response:
    names = {o.org_code: o.name for o in list_organisations(sessions)}
    return _page(
        request, "governance/user_account.html", user, account=_account(sessions, username),
        org_names=names,
    )  # fmt: skip


@router.post("/governance/users/{username}/role", name="user_set_role")
def set_role(
    request: Request,
    username: str,
    user: UserManager,
    sessions: Sessions,
    role: Annotated[str, Form()] = "",
) -> Response:
    return _change(
        request, user, username, "Role changed.",
        lambda: users.set_role(sessions, username, role, actor=user.username, actor_role=user.role),
    )  # fmt: skip


@router.post("/governance/users/{username}/organisations", name="user_set_organisations")
def set_organisations(
    request: Request,
    username: str,
    user: UserManager,
    sessions: Sessions,
    organisations_typed: Annotated[str, Form(alias="organisations")] = "",
) -> Response:
    codes = _codes(organisations_typed)
    return _change(
        request, user, username, "Organisations changed.",
        lambda: users.set_organisations(
            sessions, username, codes, actor=user.username, actor_role=user.role
        ),
    )  # fmt: skip


@router.post("/governance/users/{username}/disable", name="user_disable")
def disable(request: Request, username: str, user: UserManager, sessions: Sessions) -> Response:
    return _change(
        request, user, username, "Account disabled: they cannot sign in, and their sessions ended.",
        lambda: users.disable_user(sessions, username, actor=user.username, actor_role=user.role),
    )  # fmt: skip


@router.post("/governance/users/{username}/enable", name="user_enable")
def enable(request: Request, username: str, user: UserManager, sessions: Sessions) -> Response:
    return _change(
        request, user, username, "Account enabled: they can sign in again.",
        lambda: users.enable_user(sessions, username, actor=user.username, actor_role=user.role),
    )  # fmt: skip


@router.post("/governance/users/{username}/reset-password", name="user_reset_password")
def reset_password(
    request: Request, username: str, user: UserManager, sessions: Sessions
) -> Response:
    account = _account(sessions, username)
    try:
        password = users.reset_password(
            sessions, username, actor=user.username, actor_role=user.role
        )
    except UserError as problem:
        path = request.url_for("user_account", username=username).path
        return flash.redirect_with(request, user, path, error=as_sentence(problem))
    return _page(
        request, "governance/user_password.html", user, account=account.username,
        password=password, added=False,
    )  # fmt: skip


def _change(request: Request, user: Principal, username: str, done: str, change: Any) -> Response:
    """Make one change to an account, then back to its page saying what happened."""
    path = request.url_for("user_account", username=username).path
    try:
        change()
    except users.UserNotFound:
        raise HTTPException(
            status_code=404, detail=f"There is no user called {username}."
        ) from None
    except UserError as problem:
        return flash.redirect_with(request, user, path, error=as_sentence(problem))
    return flash.redirect_with(request, user, path, notice=done)
