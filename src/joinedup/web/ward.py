"""The virtual ward's pages (``ward.use``; writes carry the CSRF token, checked by `require`).

* ``/neighbourhood`` — the wards, their measures over the last 30 days, and a form for a ward;
* ``/neighbourhood/wards/{ward_id}`` — the board: each patient's latest NEWS2 with its band,
  trend, missed readings and open alerts; ``…/board`` is the part HTMX reloads every 30 s;
* ``/neighbourhood/wards/{ward_id}/alerts`` — the alert queue, with acknowledge, act and close;
* ``/neighbourhood/wards/{ward_id}/ledger`` — the alert-effectiveness ledger of the last
  ``days`` days (`neighbourhood.ledger`): an aggregate, small-number suppressed, naming no one;
* ``/neighbourhood/people/{person_id}/ward`` — a patient's observation chart and table, the
  reading form and the discharge form; ``…/ward/admit`` — admission. Person routes pass the
  person gate (`joinedup.web.person_gate`); the board and queue name people by NHS number and
  are audited as list views.

The routes are thin: the services are `joinedup.neighbourhood.ward` and `alert_queue`. After a
successful write the page redirects (303), so a reload does not write twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.care.mdt_people import list_labels
from joinedup.errors import UserError
from joinedup.governance.audit import record_list_view
from joinedup.governance.person_search import SearchError, person_with_nhs_number
from joinedup.governance.relationships import Access
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.governance.users import active_users_with
from joinedup.neighbourhood import alert_queue, ledger, ledger_service, news2
from joinedup.neighbourhood import ward as service
from joinedup.neighbourhood import ward_views as views
from joinedup.neighbourhood.models import (
    ACTIONS_TAKEN,
    ADMISSION_SOURCES,
    DISCHARGE_OUTCOMES,
    TAKEN_BY,
)
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.web.date_input import DateInputError, read_date_time
from joinedup.web.dependencies import Sessions, Store, WardUser
from joinedup.web.person_gate import IDENTIFIABLE, OpenedPerson, person_gate
from joinedup.web.templating import templates
from joinedup.web.ward_chart import news2_chart

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
Opened = OpenedPerson[Access]
PERMISSIONS = (service.WRITE_PERMISSION,)
MEASURE_DAYS = 30
LEDGER_DAYS = (30, 90, 365)
#: A person id no store holds, to find where the id goes in a route's path.
SAMPLE_PERSON_ID = 987_654_321_012_345


def _page(request: Request, name: str, user: Principal, **context: Any) -> Response:
    status = 400 if context.get("error") else 200
    return templates.TemplateResponse(
        request, name, {"csrf_token": user.csrf_token, "error": None, **context}, status_code=status
    )


def _see_other(request: Request, name: str, **params: Any) -> Response:
    return RedirectResponse(request.url_for(name, **params).path, status_code=303)


def _found(find: Any, *args: Any) -> Any:
    """What `find` finds, or the not-found page (404) for a ward, admission or alert."""
    try:
        return find(*args)
    except service.WardNotFound as exc:
        raise HTTPException(status_code=404, detail=_error(exc).capitalize() + ".") from None


def _error(exc: UserError) -> str:
    return "; ".join(getattr(exc, "problems", None) or [str(exc)])


# --- wards ---


@router.get("/neighbourhood", name="neighbourhood")
def wards_page(
    request: Request, user: WardUser, sessions: Sessions, error: str | None = None
) -> Response:
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=MEASURE_DAYS)
    rows = [
        (w, views.ward_measures(sessions, w.id, start=start, end=now, now=now))
        for w in service.wards(sessions)
    ]
    return _page(
        request,
        "ward/index.html",
        user,
        rows=rows,
        organisations=views.ward_organisations(sessions),
        error=error,
        days=MEASURE_DAYS,
    )


@router.post("/neighbourhood/wards", name="ward_create")
def create_ward(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    name: Annotated[str, Form()] = "",
    org_code: Annotated[str, Form()] = "",
    capacity_beds: Annotated[int, Form()] = 0,
) -> Response:
    try:
        ward_id = service.create_ward(
            sessions, user, name=name, org_code=org_code, capacity_beds=capacity_beds
        )
    except UserError as exc:
        return wards_page(request, user, sessions, error=_error(exc))
    return _see_other(request, "ward_board", ward_id=ward_id)


# --- the board and the queue ---


def _board_context(
    request: Request, user: Principal, sessions: Sessions, store: Store, ward_id: int
) -> dict[str, Any]:
    ward = _found(service.get_ward, sessions, ward_id)
    rows = views.board(sessions, ward_id, dt.datetime.now(dt.UTC))
    record_list_view(
        sessions,
        user,
        what="ward_board",
        list_id=f"ward-{ward_id}",
        scope={"ward_id": ward_id},
        rows=len(rows),
        identifiable=True,
    )
    setattr(request.state, IDENTIFIABLE, True)
    return {
        "ward": ward,
        "rows": rows,
        "labels": list_labels(store, [r.person_id for r in rows]),
        "chart_paths": person_paths(request, "ward_chart", [r.person_id for r in rows]),
        "responses": news2.RESPONSES,
    }


def person_paths(request: Request, name: str, person_ids: list[int]) -> dict[int, str]:
    """`url_for(name, person_id=…)` for many people: the route is looked up once, not once a
    row (a lookup walks every route; 200 of them were most of the board's rendering time)."""
    marker = str(SAMPLE_PERSON_ID)
    before, after = request.url_for(name, person_id=SAMPLE_PERSON_ID).path.split(marker)
    return {pid: f"{before}{int(pid)}{after}" for pid in person_ids}


@router.get("/neighbourhood/wards/{ward_id}", name="ward_board")
def board_page(
    request: Request, ward_id: int, user: WardUser, sessions: Sessions, store: Store
) -> Response:
    context = _board_context(request, user, sessions, store, ward_id)
    return _page(request, "ward/board.html", user, **context)


@router.get("/neighbourhood/wards/{ward_id}/board", name="ward_board_fragment")
def board_fragment(
    request: Request, ward_id: int, user: WardUser, sessions: Sessions, store: Store
) -> Response:
    context = _board_context(request, user, sessions, store, ward_id)
    return _page(request, "ward/_board.html", user, **context)


@router.get("/neighbourhood/wards/{ward_id}/ledger", name="ward_ledger")
def ledger_page(
    request: Request,
    ward_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    days: int = LEDGER_DAYS[1],
) -> Response:
    ward = _found(service.get_ward, sessions, ward_id)
    days = days if days in LEDGER_DAYS else LEDGER_DAYS[1]
    end = dt.datetime.now(dt.UTC)
    report = ledger_service.alert_ledger(
        sessions, store, ward_id=ward_id, start=end - dt.timedelta(days=days), end=end
    )
    return _page(
        request,
        "ward/ledger.html",
        user,
        ward=ward,
        report=report,
        days=days,
        periods=LEDGER_DAYS,
        dimensions={
            "age_band": "Age band",
            "sex": "Sex",
            "deprivation": "Deprivation (IMD quintile)",
            "ethnicity": "Ethnicity",
        },
        all_rules=ledger.ALL_RULES,
        suppression_note=SUPPRESSION_NOTE,
    )


@router.get("/neighbourhood/wards/{ward_id}/admit", name="ward_admit_find")
def find_to_admit(
    request: Request,
    ward_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    nhs_number: str = "",
) -> Response:
    """From the NHS number typed on the board to the admission form (the gate decides)."""
    try:
        person_id = person_with_nhs_number(sessions, store, user, nhs_number)
    except SearchError as problem:  # the board again, with what was typed and why not
        context = _board_context(request, user, sessions, store, ward_id)
        return _page(
            request, "ward/board.html", user, error=str(problem), typed_nhs_number=nhs_number,
            **context,
        )  # fmt: skip
    path = request.url_for("ward_admit", person_id=person_id).path
    return RedirectResponse(f"{path}?ward_id={ward_id}", status_code=303)


@router.get("/neighbourhood/wards/{ward_id}/alerts", name="ward_alerts")
def alerts_page(
    request: Request,
    ward_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    error: str | None = None,
) -> Response:
    ward = _found(service.get_ward, sessions, ward_id)
    queue = alert_queue.open_alerts(sessions, ward_id)
    record_list_view(
        sessions,
        user,
        what="ward_alerts",
        list_id=f"ward-{ward_id}",
        scope={"ward_id": ward_id},
        rows=len(queue),
        identifiable=True,
    )
    setattr(request.state, IDENTIFIABLE, True)
    return _page(
        request,
        "ward/alerts.html",
        user,
        ward=ward,
        queue=queue,
        labels=list_labels(store, [a.person_id for a in queue]),
        now=dt.datetime.now(dt.UTC),
        actions=ACTIONS_TAKEN,
        error=error,
    )


def _alert_step(
    request: Request,
    user: Principal,
    sessions: Sessions,
    store: Store,
    alert_id: int,
    step: Any,
    **values: Any,
) -> Response:
    alert = _found(alert_queue.get_alert, sessions, alert_id)
    ward_id = views.ward_of_admission(sessions, alert.admission_id)
    try:
        step(sessions, user, alert_id, **values)
    except UserError as exc:
        return alerts_page(request, ward_id, user, sessions, store, error=_error(exc))
    return _see_other(request, "ward_alerts", ward_id=ward_id)


@router.post("/neighbourhood/alerts/{alert_id}/acknowledge", name="ward_alert_acknowledge")
def acknowledge(
    request: Request,
    alert_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    version: Annotated[int, Form()] = 0,
) -> Response:
    return _alert_step(
        request, user, sessions, store, alert_id, alert_queue.acknowledge, expected_version=version
    )


@router.post("/neighbourhood/alerts/{alert_id}/act", name="ward_alert_act")
def act(
    request: Request,
    alert_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    action_taken: Annotated[str, Form()] = "",
    version: Annotated[int, Form()] = 0,
) -> Response:
    return _alert_step(
        request,
        user,
        sessions,
        store,
        alert_id,
        alert_queue.act,
        action_taken=action_taken,
        expected_version=version,
    )


@router.post("/neighbourhood/alerts/{alert_id}/close", name="ward_alert_close")
def close(
    request: Request,
    alert_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    outcome: Annotated[str, Form()] = "",
    changed_management: Annotated[str, Form()] = "",
    version: Annotated[int, Form()] = 0,
) -> Response:
    return _alert_step(
        request,
        user,
        sessions,
        store,
        alert_id,
        alert_queue.close,
        outcome=outcome,
        changed_management=changed_management == "yes",
        expected_version=version,
    )


# --- a patient on the ward ---

Gated = Annotated[Opened, Depends(person_gate(None, permissions=PERMISSIONS))]
ChartGate = Annotated[Opened, Depends(person_gate("ward_chart", permissions=PERMISSIONS))]


@router.get("/neighbourhood/people/{person_id}/ward/admit", name="ward_admit")
def admit_page(
    request: Request, opened: Gated, sessions: Sessions, ward_id: int | None = None
) -> Response:
    opened.record_view("ward_admit")
    return _admit_form(request, opened, sessions, ward_id=ward_id)


def _admit_form(request: Request, opened: Opened, sessions: Sessions, **context: Any) -> Response:
    return _page(
        request,
        "ward/admit.html",
        opened.user,
        person=opened.person,
        label=nhs_label(opened),
        wards=service.wards(sessions),
        sources=ADMISSION_SOURCES,
        clinicians=active_users_with(sessions, service.WRITE_PERMISSION),
        parameters=news2.PARAMETERS,
        parameter_labels=news2.LABELS,
        **{"form": {}, "ward_id": None, **context},
    )


def nhs_label(opened: Opened) -> str:
    return f"NHS number {format_nhs_number(opened.person.nhs_number)}"


@router.post("/neighbourhood/people/{person_id}/ward/admit", name="ward_admit_post")
async def admit(request: Request, opened: Gated, sessions: Sessions) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    parameters = frozenset((await request.form()).getlist("parameters"))
    try:
        schedule = None
        if parameters:
            schedule = service.ScheduleRequest(
                frozenset(str(p) for p in parameters),
                every_minutes=_whole(form.get("every_hours"), "hours between readings") * 60,
                grace_minutes=30,
            )
        service.admit(
            sessions,
            opened.user,
            opened.person,
            ward_id=_whole(form.get("ward_id"), "ward"),
            pathway=form.get("pathway", ""),
            source=form.get("source", ""),
            reason=form.get("reason", ""),
            expected_stay_days=_whole(form.get("expected_stay_days"), "expected length of stay"),
            responsible_user_id=_whole(form.get("responsible_user_id"), "responsible clinician"),
            schedule=schedule,
        )
    except UserError as exc:
        opened.record_view("ward_admit")
        return _admit_form(request, opened, sessions, error=_error(exc), form=form)
    return _see_other(request, "ward_chart", person_id=opened.person_id)


def _whole(text: str | None, what: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise service.WardError([f"choose the {what}"]) from None


@router.get("/neighbourhood/people/{person_id}/ward", name="ward_chart")
def chart_page(request: Request, opened: ChartGate, sessions: Sessions) -> Response:
    return _chart(request, opened, sessions)


def _chart(request: Request, opened: Opened, sessions: Sessions, **context: Any) -> Response:
    admission = views.admission_of(sessions, opened.person_id)
    sets = views.chart_sets(sessions, admission.id) if admission else []
    return _page(
        request,
        "ward/chart.html",
        opened.user,
        person=opened.person,
        label=nhs_label(opened),
        admission=admission,
        sets=sets,
        chart=news2_chart(sets),
        taken_by=TAKEN_BY,
        outcomes=DISCHARGE_OUTCOMES,
        labels=news2.LABELS,
        form=context.pop("form", {}),
        **context,
    )


@router.post("/neighbourhood/people/{person_id}/ward/readings", name="ward_reading")
async def record_reading(request: Request, opened: Gated, sessions: Sessions) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    admission = views.admission_of(sessions, opened.person_id)
    try:
        if admission is None:
            raise service.WardError(["this person is not on a virtual ward"])
        taken_at = _taken_at(form)
        service.record_reading(
            sessions,
            opened.user,
            admission.id,
            service.parse_observations(form),
            taken_at=taken_at,
            taken_by=form.get("taken_by", ""),
        )
    except UserError as exc:
        opened.record_view("ward_chart")
        return _chart(request, opened, sessions, error=_error(exc), form=form)
    return _see_other(request, "ward_chart", person_id=opened.person_id)


def _taken_at(form: dict[str, str]) -> dt.datetime:
    """The date and UK time the set was taken, typed in the `taken-at` boxes; now when blank."""
    try:
        taken = read_date_time(form, "taken-at", "the date and time the set was taken")
    except DateInputError as exc:
        raise service.WardError([str(exc)]) from None
    return taken or dt.datetime.now(dt.UTC)


@router.post("/neighbourhood/people/{person_id}/ward/discharge", name="ward_discharge")
def discharge(
    request: Request,
    opened: Gated,
    sessions: Sessions,
    outcome: Annotated[str, Form()] = "",
) -> Response:
    admission = views.admission_of(sessions, opened.person_id)
    try:
        if admission is None:
            raise service.WardError(["this person is not on a virtual ward"])
        service.discharge(sessions, opened.user, admission.id, outcome=outcome)
    except UserError as exc:
        opened.record_view("ward_chart")
        return _chart(request, opened, sessions, error=_error(exc))
    return _see_other(request, "ward_chart", person_id=opened.person_id)
