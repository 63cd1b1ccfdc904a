"""Social prescribing pages (issue 19): the link worker's caseload, one person's referral from
referral to discharge, and the service's reports.

* ``/social-prescribing`` — the caseload (``social_prescribing.use``): referrals waiting for
  first contact in the link worker's practices and the people they hold; named, so audited as a
  list view.
* ``/social-prescribing/people/{person_id}`` — the person's referrals and, for an open one, the
  next steps' forms. A referral may be made by anyone who changes care records (``care.write``)
  or by the link worker; the caseload steps need ``social_prescribing.use``. Every person route
  passes the person gate (`joinedup.web.person_gate`).
* ``/social-prescribing/reports`` — suppressed aggregates, objectors left out
  (``population.view_aggregates`` or ``social_prescribing.use``), with GP appointments and A&E
  attendances before and after referral against matched people not referred
  (`joinedup.directory.social_prescribing.matched_use`).

Routes are thin over `joinedup.directory.social_prescribing`; after a write the page redirects
(303) with a one-shot notice, and a refused write shows the page again with every reason (400).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.care.mdt_people import list_labels
from joinedup.directory.social_prescribing import caseload as views
from joinedup.directory.social_prescribing import measures
from joinedup.directory.social_prescribing import referrals as service
from joinedup.directory.social_prescribing.matched_use import matched_use
from joinedup.directory.social_prescribing.models import (
    CONTACT_MODES,
    DISCHARGE_REASONS,
    NEEDS,
    ONWARD_OUTCOMES,
    SOURCES,
    TIMEPOINTS,
)
from joinedup.directory.social_prescribing.reports import (
    BREAKDOWN_TITLES,
    social_prescribing_report,
)
from joinedup.errors import UserError
from joinedup.governance.audit import record_list_view
from joinedup.governance.relationships import Access
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.web import flash
from joinedup.web.date_input import DateInputError, FormFields, date_time_fields, read_date_time
from joinedup.web.dependencies import Sessions, Store
from joinedup.web.person_gate import IDENTIFIABLE, OpenedPerson, person_gate
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
Opened = OpenedPerson[Access]
LINK_WORKER = (service.LINK_WORKER_PERMISSION,)
REFERRERS = service.REFER_PERMISSIONS
LinkWorker = Annotated[Principal, Depends(require(*LINK_WORKER))]
ReportViewer = Annotated[Principal, Depends(require("population.view_aggregates", *LINK_WORKER))]
PersonPage = Annotated[Opened, Depends(person_gate("social_prescribing", permissions=REFERRERS))]
Referrer = Annotated[Opened, Depends(person_gate(None, permissions=REFERRERS))]
CaseloadStep = Annotated[Opened, Depends(person_gate(None, permissions=LINK_WORKER))]
Text = Annotated[str, Form()]

LABELS = {
    "professional": "A professional",
    "register": "The coordinated care register",
    "mdt": "The MDT",
    "self": "The person themself",
    "not_taken_up": "Not taken up",
    "service_full": "Service full",
    "in_person": "In person",
    "goals_met": "Goals met",
    "referred_elsewhere": "Referred elsewhere",
    "moved_away": "Moved away",
}


def label(code: str) -> str:
    return LABELS.get(code, code.replace("_", " ").capitalize())


def _page(request: Request, name: str, user: Principal, **context: Any) -> Response:
    status = 400 if context.get("error") else 200
    return templates.TemplateResponse(
        request,
        name,
        {"csrf_token": user.csrf_token, "error": None, "notice": "", "label": label, **context},
        status_code=status,
    )


def _error(exc: UserError) -> str:
    return "; ".join(getattr(exc, "problems", None) or [str(exc)])


# --- the caseload and the reports -----------------------------------------------------------------


@router.get("/social-prescribing", name="social_prescribing")
def caseload_page(request: Request, user: LinkWorker, sessions: Sessions, store: Store) -> Response:
    rows = views.caseload(sessions, user.user_id, dt.datetime.now(dt.UTC))
    record_list_view(
        sessions,
        user,
        what="social_prescribing_caseload",
        list_id=f"sp-caseload-{user.user_id}",
        scope={"user_id": user.user_id},
        rows=len(rows),
        identifiable=True,
    )
    setattr(request.state, IDENTIFIABLE, True)
    return _page(
        request,
        "social_prescribing/caseload.html",
        user,
        rows=rows,
        labels=list_labels(store, [r.person_id for r in rows]),
    )


@router.get("/social-prescribing/reports", name="social_prescribing_reports")
def reports_page(
    request: Request, user: ReportViewer, sessions: Sessions, store: Store
) -> Response:
    return _page(
        request,
        "social_prescribing/reports.html",
        user,
        report=social_prescribing_report(sessions, store),
        use=matched_use(sessions, store),
        breakdowns=BREAKDOWN_TITLES,
        suppression_note=SUPPRESSION_NOTE,
    )


# --- one person -----------------------------------------------------------------------------------


@router.get("/social-prescribing/people/{person_id}", name="social_prescribing_person")
def person_page(request: Request, opened: PersonPage, sessions: Sessions) -> Response:
    return _person(request, opened, sessions, **flash.take(request, opened.user))


def _person(request: Request, opened: Opened, sessions: Sessions, **context: Any) -> Response:
    records = views.person_record(sessions, opened.person_id)
    current = next((r for r in records if r.is_open), None)
    user = opened.user
    return _page(
        request,
        "social_prescribing/person.html",
        user,
        person=opened.person,
        records=records,
        current=current,
        is_link_worker=user.can(service.LINK_WORKER_PERMISSION),
        services=views.service_choices(sessions) if current else [],
        sources=SOURCES if user.can(service.LINK_WORKER_PERMISSION) else ("professional",),
        needs=NEEDS,
        modes=CONTACT_MODES,
        outcomes=ONWARD_OUTCOMES,
        timepoints=TIMEPOINTS,
        reasons=DISCHARGE_REASONS,
        ons4_items=measures.ONS4_ITEMS,
        instrument_names=measures.INSTRUMENT_NAMES,
        item_counts={"wemwbs": measures.WEMWBS_ITEMS, "swemwbs": measures.SWEMWBS_ITEMS},
        **{"kept": {}, **context},
    )


def _done(request: Request, opened: Opened, notice: str) -> Response:
    path = request.url_for("social_prescribing_person", person_id=opened.person_id).path
    return flash.redirect_with(request, opened.user, path, notice=notice)


def _refused(
    request: Request,
    opened: Opened,
    sessions: Sessions,
    exc: UserError,
    form: str = "",
    **answers: Any,
) -> Response:
    """The page again with the error, and the refused form filled with what the user sent
    (`kept`: form name → its answers) so nothing they typed is lost."""
    opened.record_view("social_prescribing")
    return _person(request, opened, sessions, error=_error(exc), kept={form: answers})


def _open_referral_id(sessions: Sessions, person_id: int) -> int:
    current = next((r for r in views.person_record(sessions, person_id) if r.is_open), None)
    if current is None:
        raise service.SocialPrescribingError(
            ["this person has no open social prescribing referral"]
        )
    return int(current.referral.id)


@router.post("/social-prescribing/people/{person_id}/referral", name="sp_refer")
def refer(
    request: Request,
    opened: Referrer,
    sessions: Sessions,
    source: Text = "",
    needs: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    reason: Text = "",
    consent: Text = "",
) -> Response:
    try:
        service.refer(
            sessions,
            opened.user,
            opened.person,
            source=source,
            needs=needs,
            reason=reason,
            consent=consent == "yes",
        )
    except UserError as exc:
        return _refused(
            request, opened, sessions, exc, "refer",
            source=source, needs=needs, reason=reason, consent=consent,
        )  # fmt: skip
    return _done(request, opened, "Referred to social prescribing (SNOMED CT 871731000000106).")


@router.post("/social-prescribing/people/{person_id}/first-contact", name="sp_first_contact")
def first_contact(
    request: Request,
    opened: CaseloadStep,
    sessions: Sessions,
    form: FormFields,
    mode: Text = "",
    accepted: Text = "",
) -> Response:
    try:
        service.first_contact(
            sessions,
            opened.user,
            _open_referral_id(sessions, opened.person_id),
            contact_at=_when(form, "first-contact-at"),
            mode=mode,
            accepted=accepted != "no",
        )
    except UserError as exc:
        return _refused(
            request, opened, sessions, exc, "first_contact",
            **date_time_fields(form, "first-contact-at"), mode=mode, accepted=accepted,
        )  # fmt: skip
    return _done(request, opened, "First contact recorded.")


@router.post("/social-prescribing/people/{person_id}/plan", name="sp_plan")
def plan(
    request: Request,
    opened: CaseloadStep,
    sessions: Sessions,
    what_matters: Text = "",
    plan: Text = "",
) -> Response:
    try:
        service.record_plan(
            sessions,
            opened.user,
            _open_referral_id(sessions, opened.person_id),
            what_matters=what_matters,
            plan=plan,
        )
    except UserError as exc:
        return _refused(
            request, opened, sessions, exc, "plan", what_matters=what_matters, plan=plan
        )
    return _done(request, opened, "What matters and the personalised plan are recorded.")


@router.post("/social-prescribing/people/{person_id}/onward", name="sp_onward")
def onward(
    request: Request, opened: CaseloadStep, sessions: Sessions, service_id: Text = ""
) -> Response:
    try:
        service.refer_onward(
            sessions,
            opened.user,
            _open_referral_id(sessions, opened.person_id),
            service_id=service_id,
        )
    except UserError as exc:
        return _refused(request, opened, sessions, exc, "onward", service_id=service_id)
    return _done(request, opened, "Referred on to the service.")


@router.post(
    "/social-prescribing/people/{person_id}/onward/{onward_id}/outcome", name="sp_onward_outcome"
)
def onward_outcome(
    request: Request, onward_id: int, opened: CaseloadStep, sessions: Sessions, outcome: Text = ""
) -> Response:
    records = views.person_record(sessions, opened.person_id)
    if not any(o.id == onward_id for r in records for o in r.onward):
        raise HTTPException(404, "There is no such onward referral for this person.")
    try:
        service.record_onward_outcome(sessions, opened.user, onward_id, outcome=outcome)
    except UserError as exc:
        return _refused(request, opened, sessions, exc)
    return _done(request, opened, "The outcome of the onward referral is recorded.")


@router.post("/social-prescribing/people/{person_id}/measures", name="sp_measure")
def record_measure(
    request: Request,
    opened: CaseloadStep,
    sessions: Sessions,
    instrument: Text = "",
    timepoint: Text = "",
    answers: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    try:
        service.record_measure(
            sessions,
            opened.user,
            _open_referral_id(sessions, opened.person_id),
            instrument=instrument,
            timepoint=timepoint,
            answers=[_answer(a) for a in answers],
        )
    except UserError as exc:
        return _refused(
            request, opened, sessions, exc, f"measure-{instrument}",
            timepoint=timepoint, answers=answers,
        )  # fmt: skip
    name = measures.INSTRUMENT_NAMES.get(instrument, instrument)
    return _done(request, opened, f"{name} recorded ({timepoint}).")


@router.post("/social-prescribing/people/{person_id}/follow-up", name="sp_follow_up")
def follow_up(
    request: Request,
    opened: CaseloadStep,
    sessions: Sessions,
    form: FormFields,
    mode: Text = "",
    note: Text = "",
) -> Response:
    try:
        service.follow_up(
            sessions,
            opened.user,
            _open_referral_id(sessions, opened.person_id),
            contact_at=_when(form, "follow-up-at"),
            mode=mode,
            note=note,
        )
    except UserError as exc:
        return _refused(
            request, opened, sessions, exc, "follow_up",
            **date_time_fields(form, "follow-up-at"), mode=mode, note=note,
        )  # fmt: skip
    return _done(request, opened, "Follow-up recorded.")


@router.post("/social-prescribing/people/{person_id}/discharge", name="sp_discharge")
def discharge(
    request: Request, opened: CaseloadStep, sessions: Sessions, reason: Text = ""
) -> Response:
    try:
        service.discharge(
            sessions, opened.user, _open_referral_id(sessions, opened.person_id), reason=reason
        )
    except UserError as exc:
        return _refused(request, opened, sessions, exc, "discharge", reason=reason)
    return _done(request, opened, "Discharged from social prescribing.")


def _when(form: dict[str, str], field_id: str) -> dt.datetime:
    """The contact's date and UK time typed in `field_id`'s boxes, or now when left blank."""
    try:
        when = read_date_time(form, field_id, "the date and time of the contact")
    except DateInputError as exc:
        raise service.SocialPrescribingError([str(exc)]) from None
    return when or dt.datetime.now(dt.UTC)


def _answer(text: str) -> int | None:
    try:
        return int(text.strip()) if text.strip() else None
    except ValueError:
        return -1  # reported as out of range by the measure's own check
