"""Governance pages: the audit trail, break-glass access and its review.

Thin routes over `joinedup.governance.audit` and `joinedup.governance.break_glass`. Times are
shown on UK clocks (the audit trail keeps them in UTC). The break-glass request page names the
person only by id: the user has no relationship with them yet, so nothing identifying is shown
until they have given a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.governance.audit import (
    AuditRow,
    record_audit_query,
    what_user_saw,
    who_viewed_person,
)
from joinedup.governance.break_glass import (
    GRANT_DURATION,
    MIN_REASON_LENGTH,
    BreakGlassError,
    BreakGlassNotAllowed,
    GrantNotFound,
    break_glass,
    pending_reviews,
    recent_reviews,
    review,
)
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal, role_book
from joinedup.governance.users import list_users
from joinedup.population.nhs_numbers import format_nhs_number, is_valid
from joinedup.population.reads import PersonIdentity, person_ids_by_nhs_number
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import (
    Auditor,
    BreakGlassReviewer,
    BreakGlassUser,
    GovernanceUser,
    Sessions,
    Store,
)
from joinedup.web.person_gate import find_person_or_answer
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


AUDIT_RESULTS_LIMIT = 200


# --- The area's index ------------------------------------------------------------------------


@router.get("/governance", name="governance")
def governance_index(request: Request, user: GovernanceUser, sessions: Sessions) -> Response:
    can_manage_users = user.can("users.manage")
    return templates.TemplateResponse(
        request,
        "governance/index.html",
        {
            "can_view_audit": user.can("audit.view"),
            "can_review_break_glass": user.can("break_glass.review"),
            "can_manage_users": can_manage_users,
            "accounts": list_users(sessions) if can_manage_users else [],
            "role_names": {role.id: role.name for role in role_book().roles.values()},
        },
    )


# --- Audit trail questions -----------------------------------------------------------------


def _person_asked_about(text: str, store: PopulationStore) -> tuple[int, str] | None:
    """The person asked about and how the answer names them: by NHS number (ten digits, spaces
    allowed; what a person asking "who looked at my record" can give) or by joinedup ID."""
    text = text.strip()
    if not text:
        return None
    digits = text.replace(" ", "")
    if not digits.isdigit():
        raise ValueError("Enter an NHS number (10 digits) or a person ID, in numbers only.")
    if len(digits) == 10 and is_valid(digits):
        found = person_ids_by_nhs_number(store, [digits]) if store.exists() else {}
        if digits not in found:
            raise ValueError(f"No one in the area has NHS number {format_nhs_number(digits)}.")
        return found[digits], f"the person with NHS number {format_nhs_number(digits)}"
    return int(digits), f"the person with joinedup ID {int(digits)}"


@router.get("/governance/audit", name="governance_audit")
def audit_page(
    request: Request,
    user: Auditor,
    sessions: Sessions,
    store: Store,
    person_id: str = "",
    username: str = "",
) -> Response:
    error: str | None = None
    asked: str | None = None
    rows: list[AuditRow] = []
    username = username.strip()
    try:
        person = _person_asked_about(person_id, store)
    except ValueError as exc:
        person, error = None, str(exc)
    if person is not None:
        about, named = person
        record_audit_query(sessions, actor=user.actor, actor_role=user.role, person_id=about)
        asked = f"Who looked at {named}"
        rows = who_viewed_person(sessions, about, AUDIT_RESULTS_LIMIT)
    elif username:
        record_audit_query(sessions, actor=user.actor, actor_role=user.role, username=username)
        asked = f"What {username} saw and did"
        rows = what_user_saw(sessions, username, limit=AUDIT_RESULTS_LIMIT)
    return templates.TemplateResponse(
        request,
        "governance/audit.html",
        {
            "person_id": person_id.strip(),
            "username": username,
            "error": error,
            "asked": asked,
            "rows": rows,
            "limit": AUDIT_RESULTS_LIMIT,
        },
        status_code=400 if error else 200,
    )


# --- Break-glass review --------------------------------------------------------------------


def _review_page(
    request: Request, user: Principal, sessions: Sessions, error: str | None, status: int
) -> Response:
    return templates.TemplateResponse(
        request,
        "governance/break_glass.html",
        {
            "pending": pending_reviews(sessions),
            "reviewed": recent_reviews(sessions),
            "now": dt.datetime.now(dt.UTC),
            "own_username": user.username,
            "csrf_token": user.csrf_token,
            "error": error,
        },
        status_code=status,
    )


@router.get("/governance/break-glass", name="governance_break_glass")
def break_glass_reviews(request: Request, user: BreakGlassReviewer, sessions: Sessions) -> Response:
    return _review_page(request, user, sessions, None, 200)


@router.post("/governance/break-glass/{grant_id}/review", name="governance_break_glass_review")
def review_break_glass(
    request: Request,
    grant_id: int,
    user: BreakGlassReviewer,
    sessions: Sessions,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        review(sessions, user, grant_id, outcome, note)
    except GrantNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc).capitalize() + ".") from None
    except BreakGlassError as exc:
        status = 403 if isinstance(exc, BreakGlassNotAllowed) else 400
        return _review_page(request, user, sessions, str(exc).capitalize() + ".", status)
    return RedirectResponse(request.url_for("governance_break_glass").path, status_code=303)


# --- Breaking glass ------------------------------------------------------------------------


def _person_page_url(request: Request, person_id: int) -> str:
    """Where break-glass leads: the person page, the hub of everything about the person."""
    return request.url_for("person_page", person_id=person_id).path


def _break_glass_form(
    request: Request,
    user: Principal,
    sessions: Sessions,
    person: PersonIdentity,
    *,
    reason: str = "",
    error: str | None = None,
) -> Response:
    access = person_access(sessions, user, person.person_id, person.practice_code)
    return templates.TemplateResponse(
        request,
        "governance/request_break_glass.html",
        {
            "person_id": person.person_id,
            "already_allowed": access.allowed,
            "person_url": _person_page_url(request, person.person_id),
            "hours": int(GRANT_DURATION.total_seconds() // 3600),
            "min_reason": MIN_REASON_LENGTH,
            "reason": reason,
            "error": error,
            "csrf_token": user.csrf_token,
        },
        status_code=400 if error else 200,
    )


@router.get("/people/{person_id}/break-glass", name="person_break_glass")
def request_break_glass(
    request: Request, person_id: int, user: BreakGlassUser, sessions: Sessions, store: Store
) -> Response:
    person = find_person_or_answer(request, store, person_id)
    return _break_glass_form(request, user, sessions, person)


@router.post("/people/{person_id}/break-glass", name="person_break_glass_grant")
def grant_break_glass(
    request: Request,
    person_id: int,
    user: BreakGlassUser,
    sessions: Sessions,
    store: Store,
    reason: Annotated[str, Form()] = "",
) -> Response:
    person = find_person_or_answer(request, store, person_id)
    try:
        break_glass(sessions, user, person.person_id, reason)
    except BreakGlassError as exc:
        error = str(exc).capitalize() + "."
        return _break_glass_form(request, user, sessions, person, reason=reason, error=error)
    return RedirectResponse(_person_page_url(request, person.person_id), status_code=303)
