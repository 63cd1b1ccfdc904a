"""Recording consent and objections, and re-identifying a pseudonym (audited).

* ``/people/{person_id}/consent`` (``consent.record``): the person's consent to share their
  care plan (history, the latest standing) and their objections to secondary use; record a
  decision or an objection. Only with a legitimate relationship
  (`joinedup.governance.relationships.person_access`); otherwise 403, pointing at break-glass.
  The page shows an identifiable person, so each view is audited (`record_view`).
* ``/pseudonyms/reidentify`` (``pseudonym.reidentify``): a pseudonym and a reason in, the
  person_id and a link to their page out; `joinedup.governance.pseudonyms.reidentify` audits it.

Every form posts back its CSRF token (checked by `require`); after a successful write the page
redirects (303) so a reload does not record the decision twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import UserError
from joinedup.governance import consent as consents
from joinedup.governance.audit import record_view
from joinedup.governance.objections import KINDS as OBJECTION_KINDS
from joinedup.governance.objections import record_objection, withdraw_objection
from joinedup.governance.pseudonyms import (
    MIN_REASON,
    PseudonymError,
    ReasonTooShortError,
    UnknownPseudonymError,
    reidentify,
)
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.people import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.dependencies import get_population_store, get_sessions, get_settings
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Recorder = Annotated[Principal, Depends(require("consent.record"))]
Reidentifier = Annotated[Principal, Depends(require("pseudonym.reidentify"))]
Store = Annotated[PopulationStore, Depends(get_population_store)]
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

#: What the consent form can do, as its ``action`` field says.
ACTIONS = ("consent", "objection", "withdraw_objection")


def _person_page(person_id: int) -> str:
    # The person page (route `person_scores`) is another router's; its path is stable.
    return f"/people/{person_id}/scores"


def _person_or_404(store: PopulationStore, person_id: int) -> PersonIdentity:
    person = find_person(store, person_id)
    if person is None:
        raise HTTPException(status_code=404, detail="There is no one with that person number.")
    return person


def _refused(request: Request, person_id: int) -> Response:
    return templates.TemplateResponse(
        request,
        "consent/no_relationship.html",
        {"person_id": person_id, "break_glass_url": f"/people/{person_id}/break-glass"},
        status_code=403,
    )


def _consent_page(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    person: PersonIdentity,
    *,
    error: str | None = None,
    error_field: str = "decision",
    form: dict[str, str] | None = None,
    recorded: str | None = None,
) -> Response:
    record_view(sessions, user, person_id=person.person_id, what="person.consent")
    history = consents.consent_history(sessions, person.person_id)
    objections = consents.objections_of(sessions, person.person_id)
    active_kinds = {o.kind for o in objections if o.active}
    context: dict[str, Any] = {
        "person": person,
        "nhs_number": format_nhs_number(person.nhs_number),
        "person_url": _person_page(person.person_id),
        "current": history[0] if history else None,
        "history": history,
        "objections": objections,
        "objection_kinds": OBJECTION_KINDS,
        "objectable_kinds": {k: v for k, v in OBJECTION_KINDS.items() if k not in active_kinds},
        "decisions": consents.DECISIONS,
        "kind_label": consents.KINDS[consents.DEFAULT_KIND],
        "note_max": consents.NOTE_MAX,
        "error": error,
        "error_field": error_field,
        "form": form or {},
        "recorded": recorded,
        "csrf_token": user.csrf_token,
    }
    return templates.TemplateResponse(
        request,
        "consent/person.html",
        context,
        status_code=400 if error else 200,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/people/{person_id}/consent", name="person_consent")
def consent_page(
    request: Request,
    person_id: int,
    user: Recorder,
    sessions: Sessions,
    store: Store,
    recorded: str | None = None,
) -> Response:
    person = _person_or_404(store, person_id)
    if not person_access(sessions, user, person_id, person.practice_code).allowed:
        return _refused(request, person_id)
    shown = recorded if recorded in ACTIONS else None
    return _consent_page(request, user, sessions, person, recorded=shown)


@router.post("/people/{person_id}/consent", name="person_consent_record")
def record_consent_decision(
    request: Request,
    person_id: int,
    user: Recorder,
    sessions: Sessions,
    store: Store,
    action: Annotated[str, Form()] = "consent",
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    objection_kind: Annotated[str, Form()] = "",
) -> Response:
    person = _person_or_404(store, person_id)
    if not person_access(sessions, user, person_id, person.practice_code).allowed:
        return _refused(request, person_id)
    form = {"decision": decision, "note": note, "objection_kind": objection_kind}
    try:
        if action == "consent":
            if not decision:
                raise consents.ConsentError("choose the person's decision")
            consents.record_consent(
                sessions, user, person_id, consents.DEFAULT_KIND, decision, note
            )
        elif action == "objection":
            record_objection(sessions, user, person_id, objection_kind)
        elif action == "withdraw_objection":
            withdraw_objection(sessions, user, person_id, objection_kind)
        else:
            raise consents.ConsentError("this form cannot do that: reload the page")
    except (UserError, PermissionError) as exc:
        if action != "consent":
            field = "objection_kind"
        else:
            field = "note" if "note" in str(exc) else "decision"
        return _consent_page(
            request,
            user,
            sessions,
            person,
            error=str(exc)[:1].upper() + str(exc)[1:] + ".",
            error_field=field,
            form=form,
        )
    target = request.url_for("person_consent", person_id=person_id).path
    return RedirectResponse(f"{target}?recorded={action}", status_code=303)


# --- re-identification -------------------------------------------------------------------------


def _reidentify_page(
    request: Request,
    user: Principal,
    *,
    pseudonym: str = "",
    reason: str = "",
    error: str | None = None,
    error_field: str = "pseudonym",
    person_id: int | None = None,
    status_code: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "consent/reidentify.html",
        {
            "pseudonym": pseudonym,
            "reason": reason,
            "error": error,
            "error_field": error_field,
            "person_id": person_id,
            "person_url": None if person_id is None else _person_page(person_id),
            "min_reason": MIN_REASON,
            "csrf_token": user.csrf_token,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/pseudonyms/reidentify", name="reidentify")
def reidentify_form(request: Request, user: Reidentifier) -> Response:
    return _reidentify_page(request, user)


@router.post("/pseudonyms/reidentify", name="reidentify_submit")
def reidentify_submit(
    request: Request,
    user: Reidentifier,
    sessions: Sessions,
    store: Store,
    settings: SettingsDep,
    pseudonym: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        person_id = reidentify(sessions, store, settings, user, pseudonym, reason)
    except PseudonymError as exc:
        message = str(exc)[:1].upper() + str(exc)[1:] + "."
        return _reidentify_page(
            request,
            user,
            pseudonym=pseudonym,
            reason=reason,
            error=message,
            error_field="reason" if isinstance(exc, ReasonTooShortError) else "pseudonym",
            status_code=404 if isinstance(exc, UnknownPseudonymError) else 400,
        )
    return _reidentify_page(request, user, pseudonym=pseudonym, person_id=person_id)
