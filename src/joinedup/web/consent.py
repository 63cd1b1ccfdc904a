"""Recording consent and objections, and re-identifying a pseudonym (audited).

* ``/people/{person_id}/consent`` (``consent.record``): the person's consent to share their
  care plan (history, the latest standing) and their objections to secondary use; record a
  decision or an objection. Behind the person gate (`joinedup.web.person_gate`): only with a
  legitimate relationship, otherwise 403 with the break-glass offer; each view is audited.
* ``/pseudonyms/reidentify`` (``pseudonym.reidentify``): a pseudonym and a reason in, the
  person_id and a link to their page out; `joinedup.governance.pseudonyms.reidentify` audits it.

Every form posts back its CSRF token (checked by `require`); after a successful write the page
redirects (303) so a reload does not record the decision twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.errors import UserError
from joinedup.governance import consent as consents
from joinedup.governance.objections import KINDS as OBJECTION_KINDS
from joinedup.governance.objections import record_objection, withdraw_objection
from joinedup.governance.pseudonyms import (
    MIN_REASON,
    PseudonymError,
    ReasonTooShortError,
    UnknownPseudonymError,
    reidentify,
)
from joinedup.governance.relationships import Access
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.web.dependencies import AppSettings, Reidentifier, Sessions, Store
from joinedup.web.person_gate import OpenedPerson, person_gate
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ConsentGate = Annotated[
    OpenedPerson[Access], Depends(person_gate("person.consent", permissions=["consent.record"]))
]
ConsentWriteGate = Annotated[
    OpenedPerson[Access], Depends(person_gate(None, permissions=["consent.record"]))
]

#: What the consent form can do, as its ``action`` field says.
ACTIONS = ("consent", "objection", "withdraw_objection")


def _person_page(person_id: int) -> str:
    # The person page (route `person_scores`) is another router's; its path is stable.
    return f"/people/{person_id}/scores"


def _consent_page(
    request: Request,
    opened: OpenedPerson[Access],
    *,
    error: str | None = None,
    error_field: str = "decision",
    form: dict[str, str] | None = None,
    recorded: str | None = None,
) -> Response:
    person, user, sessions = opened.person, opened.user, opened.sessions
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
    )


@router.get("/people/{person_id}/consent", name="person_consent")
def consent_page(request: Request, opened: ConsentGate, recorded: str | None = None) -> Response:
    shown = recorded if recorded in ACTIONS else None
    return _consent_page(request, opened, recorded=shown)


@router.post("/people/{person_id}/consent", name="person_consent_record")
def record_consent_decision(
    request: Request,
    opened: ConsentWriteGate,
    action: Annotated[str, Form()] = "consent",
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    objection_kind: Annotated[str, Form()] = "",
    # "person": the decision was recorded in place on the person page; go back there.
    then: Annotated[str, Form()] = "",
) -> Response:
    person_id, user, sessions = opened.person_id, opened.user, opened.sessions
    form = {"decision": decision, "note": note, "objection_kind": objection_kind}
    try:
        if action == "consent":
            if not decision:
                raise consents.ConsentError("Choose the person's decision")
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
        opened.record_view("person.consent")  # the form is shown again, with the person
        return _consent_page(
            request,
            opened,
            error=str(exc)[:1].upper() + str(exc)[1:] + ".",
            error_field=field,
            form=form,
        )
    if then == "person" and action == "consent":
        person = request.url_for("person_page", person_id=person_id).path
        return RedirectResponse(f"{person}?notice=Their+decision+has+been+recorded.", 303)
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
    settings: AppSettings,
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
