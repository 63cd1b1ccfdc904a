"""The neighbourhood caseload and its day of home visits (``ward.use``; writes carry CSRF).

* ``/neighbourhood/caseload`` — the neighbourhoods; ``…/{code}`` — the integrated team and
  the caseload (named people: audited as a list view, no-store);
* ``…/{code}/visits?day=`` — the day's plan: each nurse's route in order with times, the map
  (server-side SVG), unplanned visits with reasons, the two options (least travel, most
  continuity) with both figures to choose between, and "nurse off sick" or "an urgent visit"
  to replan the rest of the day, showing what changed and who must be told;
* ``…/{code}/visits/nurses/{member_id}?day=`` — a nurse's day for a phone: the next visit,
  address, what to do, and the outcome form (which updates the caseload);
* ``…/{code}/capacity?day=`` — capacity against demand with the QNI thresholds;
* ``/neighbourhood/people/{person_id}/caseload`` — a person's caseload entries, intake and
  discharge, through the person gate.

Thin: the services are `neighbourhood.caseload`, `visit_day`, `visit_views` and `capacity`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.care import register as reg
from joinedup.care.mdt_people import list_labels
from joinedup.errors import UserError
from joinedup.governance.audit import record_list_view
from joinedup.governance.person_search import SearchError, person_with_nhs_number
from joinedup.governance.relationships import Access, user_practices
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import capacity as capacity_service
from joinedup.neighbourhood import caseload as service
from joinedup.neighbourhood import discharge_intake, visit_day, visit_views
from joinedup.neighbourhood.caseload_models import (
    ACUITIES,
    INTAKE_SOURCES,
    OUTCOMES,
    VISIT_TYPES,
)
from joinedup.neighbourhood.visits.model import clock
from joinedup.neighbourhood.visits.travel import travel_times
from joinedup.population.reads import organisations
from joinedup.web import flash
from joinedup.web.date_input import (
    DateInputError,
    FormFields,
    read_date,
    read_query_day,
    typed_date,
)
from joinedup.web.dependencies import AppSettings, CaseloadViewer, Sessions, Store, WardUser
from joinedup.web.formatting import UK_TIME_ZONE
from joinedup.web.person_gate import IDENTIFIABLE, OpenedPerson, person_gate
from joinedup.web.templating import templates
from joinedup.web.visit_map import nurse_colour, route_map

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
Opened = OpenedPerson[Access]
PERMISSIONS = (service.WRITE_PERMISSION,)
SOLVE_SECONDS = 2.0  # per option: the page waits for it
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NURSE_ID = re.compile(r"\bN\d+\b")  # the planner names nurses N<member id>


def _page(request: Request, template: str, user: Principal, **context: Any) -> Response:
    messages = flash.take(request, user)
    return templates.TemplateResponse(
        request,
        template,
        {
            "csrf_token": user.csrf_token,
            "clock": clock,
            **messages,
            **context,
        },
    )


def _error(exc: UserError) -> str:
    return "; ".join(getattr(exc, "problems", None) or [str(exc)])


def _hood_name(sessions: Sessions, code: str) -> str:
    try:
        return service.neighbourhood_name(sessions, code)
    except service.CaseloadNotFound:
        raise HTTPException(status_code=404, detail="There is no such neighbourhood.") from None


def _today() -> dt.date:
    return dt.datetime.now(UK_TIME_ZONE).date()


def _minutes(text: str) -> int | None:
    match = _CLOCK.match(text.strip())
    return int(match[1]) * 60 + int(match[2]) if match else None


def chosen_day(request: Request) -> tuple[dt.date, dict[str, Any]]:
    """The day a page shows: `?day=YYYY-MM-DD` (links) or the day boxes of its "Day" form,
    today when none; with what the form shows again (`day_error`, `day_typed`)."""
    try:
        day = read_query_day(request.query_params, "day", "the day")
    except DateInputError as exc:
        typed = typed_date(request.query_params, "day")
        return _today(), {"day_error": str(exc), "day_typed": typed}
    return day or _today(), {"day_error": "", "day_typed": None}


def _identifiable(request: Request) -> None:
    setattr(request.state, IDENTIFIABLE, True)


# --- the caseload -------------------------------------------------------------------------------


def _viewable(sessions: Sessions, store: Store, user: Principal) -> list[tuple[str, str]]:
    """The neighbourhoods whose caseload the user may see: every one for those who run care at
    home (``ward.use``); else (a social worker) those they work in or whose practices they do."""
    hoods = service.neighbourhoods(sessions)
    if user.can(service.WRITE_PERMISSION):
        return hoods
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    orgs = organisations(store)
    mine = set(user.organisations) | {orgs[p].parent_code for p in practices if p in orgs}
    return [(code, name) for code, name in hoods if code in mine]


@router.get("/neighbourhood/caseload", name="caseloads")
def caseloads_page(
    request: Request, user: CaseloadViewer, sessions: Sessions, store: Store
) -> Response:
    hoods = _viewable(sessions, store, user)
    can_write = user.can(service.WRITE_PERMISSION)
    return _page(request, "neighbourhood/caseloads.html", user, hoods=hoods, can_write=can_write)


@router.get("/neighbourhood/caseload/{code}", name="caseload")
def caseload_page(
    request: Request, code: str, user: CaseloadViewer, sessions: Sessions, store: Store
) -> Response:
    name = _hood_name(sessions, code)
    if code not in {c for c, _ in _viewable(sessions, store, user)}:
        raise HTTPException(status_code=403, detail="This is not your neighbourhood's caseload.")
    entries = service.caseload(sessions, code)
    on_caseload = {e.person_id for e in entries}
    can_write = user.can(service.WRITE_PERMISSION)
    candidates = _register_candidates(sessions, user, code, on_caseload) if can_write else []
    discharged = (
        _discharge_candidates(sessions, store, user, code, on_caseload) if can_write else None
    )
    record_list_view(
        sessions,
        user,
        what="neighbourhood_caseload",
        list_id=f"caseload-{code}",
        scope={"neighbourhood": code},
        rows=len(entries) + len(candidates) + (len(discharged.people) if discharged else 0),
        identifiable=True,
    )
    _identifiable(request)
    from_hospital = [s.person_id for s in discharged.people] if discharged else []
    return _page(
        request,
        "neighbourhood/caseload.html",
        user,
        code=code,
        hood_name=name,
        team=service.team(sessions, code),
        entries=entries,
        candidates=candidates,
        discharged=discharged,
        can_write=can_write,
        older_age=discharge_intake.OLDER_AGE,
        labels=list_labels(store, [e.person_id for e in entries] + candidates + from_hospital),
        today=_today(),
        visit_types=visit_views.VISIT_TYPE_LABELS,
    )


def _register_candidates(
    sessions: Sessions, user: Principal, code: str, on_caseload: set[int]
) -> list[int]:
    """People on the coordinated care register in this neighbourhood, in the user's practices,
    not yet on the caseload: intake from the register."""
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    entries = reg.list_entries(sessions, practices=practices, neighbourhood=code, limit=200)
    return sorted({e.person_id for e in entries if e.is_open} - on_caseload)


def _discharge_candidates(
    sessions: Sessions, store: Store, user: Principal, code: str, on_caseload: set[int]
) -> discharge_intake.Suggestions:
    """Recent emergency discharges of the user's practices in this neighbourhood, 65+ or on
    the register, not on the caseload: intake from hospital discharges."""
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    here = {c for c, o in organisations(store).items() if o.parent_code == code}
    register = reg.list_entries(sessions, practices=practices, neighbourhood=code, limit=1000)
    return discharge_intake.suggested_intakes(
        store,
        practices & here,
        today=_today(),
        on_register={e.person_id for e in register if e.is_open},
        on_caseload=on_caseload,
    )


@router.get("/neighbourhood/caseload/{code}/find", name="caseload_find")
def find_for_caseload(
    request: Request, code: str, user: WardUser, sessions: Sessions, store: Store,
    nhs_number: str = "",
) -> Response:  # fmt: skip
    """From the NHS number of a referral to the person's caseload page (the gate decides)."""
    _hood_name(sessions, code)
    try:
        person_id = person_with_nhs_number(sessions, store, user, nhs_number)
    except SearchError as problem:
        path = request.url_for("caseload", code=code).path
        return flash.redirect_with(request, user, path, error=str(problem))
    path = request.url_for("person_caseload", person_id=person_id).path
    return RedirectResponse(path + "?intake=referral", status_code=303)


# --- the day of visits --------------------------------------------------------------------------


@router.get("/neighbourhood/caseload/{code}/visits", name="visit_day")
def visit_day_page(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    store: Store,
) -> Response:
    name = _hood_name(sessions, code)
    day, day_form = chosen_day(request)
    view = visit_views.day_view(sessions, code, day)
    people = visit_views.visit_people(view)
    record_list_view(
        sessions,
        user,
        what="visit_day",
        list_id=f"visits-{code}-{day.isoformat()}",
        scope={"neighbourhood": code, "day": day.isoformat()},
        rows=len(people),
        identifiable=True,
    )
    _identifiable(request)
    current = view.current
    colours = (
        {n.id: nurse_colour(i) for i, n in enumerate(current.plan.day.nurses)} if current else {}
    )
    return _page(
        request,
        "neighbourhood/visit_day.html",
        user,
        code=code,
        hood_name=name,
        day=day,
        view=view,
        labels=list_labels(store, people.values()),
        people=people,
        colours=colours,
        map=route_map(current.plan, view.nurse_names) if current else "",
        visit_types=visit_views.VISIT_TYPE_LABELS,
        outcome_labels=visit_views.OUTCOME_LABELS,
        now=dt.datetime.now(UK_TIME_ZONE).strftime("%H:%M"),
        named=lambda text: _NURSE_ID.sub(lambda m: view.nurse_names.get(m[0], m[0]), text),
        **day_form,
    )


def _back_to_day(
    request: Request, user: Principal, code: str, day: dt.date, **flash_: str
) -> Response:
    path = request.url_for("visit_day", code=code).path + f"?day={day.isoformat()}"
    return flash.redirect_with(request, user, path, **flash_)


@router.post("/neighbourhood/caseload/{code}/visits/plan", name="visit_day_plan")
def plan_day(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    settings: AppSettings,
    day: Annotated[dt.date, Form()],
) -> Response:
    _hood_name(sessions, code)
    try:
        visit_day.plan_options(
            sessions, user, store, code, day, travel_times(settings), seconds=SOLVE_SECONDS
        )
    except UserError as exc:
        return _back_to_day(request, user, code, day, error=_error(exc))
    return _back_to_day(request, user, code, day, notice="Two plans made: choose one below.")


@router.post("/neighbourhood/caseload/{code}/visits/adopt", name="visit_day_adopt")
def adopt_plan(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    day: Annotated[dt.date, Form()],
    plan_id: Annotated[int, Form()],
) -> Response:
    _hood_name(sessions, code)
    try:
        visit_day.adopt(sessions, user, plan_id)
    except UserError as exc:
        return _back_to_day(request, user, code, day, error=_error(exc))
    return _back_to_day(request, user, code, day, notice="This is now the day's plan.")


@router.post("/neighbourhood/caseload/{code}/visits/nurse-off", name="visit_day_nurse_off")
def nurse_off(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    settings: AppSettings,
    day: Annotated[dt.date, Form()],
    member_id: Annotated[int, Form()],
    off_from: Annotated[str, Form()] = "",
) -> Response:
    _hood_name(sessions, code)
    minutes = _minutes(off_from)
    if minutes is None:
        return _back_to_day(
            request, user, code, day, error="Give the time off as HH:MM, e.g. 11:00"
        )
    try:
        visit_day.nurse_off(
            sessions,
            user,
            code,
            day,
            member_id,
            minutes,
            travel_times(settings),
            seconds=SOLVE_SECONDS,
        )
    except UserError as exc:
        return _back_to_day(request, user, code, day, error=_error(exc))
    return _back_to_day(request, user, code, day, notice="The rest of the day has been replanned.")


@router.post("/neighbourhood/caseload/{code}/visits/urgent", name="visit_day_urgent")
def urgent_visit(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    settings: AppSettings,
    day: Annotated[dt.date, Form()],
    entry_id: Annotated[int, Form()],
    now: Annotated[str, Form()] = "",
) -> Response:
    _hood_name(sessions, code)
    minutes = _minutes(now)
    if minutes is None:
        return _back_to_day(request, user, code, day, error="Give the time now as HH:MM")
    try:
        visit_day.urgent_visit(
            sessions,
            user,
            store,
            code,
            day,
            entry_id,
            minutes,
            travel_times(settings),
            seconds=SOLVE_SECONDS,
        )
    except UserError as exc:
        return _back_to_day(request, user, code, day, error=_error(exc))
    return _back_to_day(request, user, code, day, notice="The urgent visit is in the day's plan.")


@router.get("/neighbourhood/caseload/{code}/visits/nurses/{member_id}", name="nurse_day")
def nurse_day_page(
    request: Request,
    code: str,
    member_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    day: dt.date | None = None,
) -> Response:
    _hood_name(sessions, code)
    day = day or _today()
    found = visit_views.nurse_day(sessions, store, code, day, member_id)
    if found is None:
        raise HTTPException(status_code=404, detail="There is no such member of this team.")
    people = [s.entry.person_id for s in found.stops if s.entry]
    record_list_view(
        sessions,
        user,
        what="nurse_day",
        list_id=f"nurse-day-{member_id}-{day.isoformat()}",
        scope={"neighbourhood": code, "member_id": member_id, "day": day.isoformat()},
        rows=len(people),
        identifiable=True,
    )
    _identifiable(request)
    return _page(
        request,
        "neighbourhood/nurse_day.html",
        user,
        code=code,
        member_id=member_id,
        day=day,
        nurse=found,
        labels=list_labels(store, people),
        outcomes=OUTCOMES,
        outcome_labels=visit_views.OUTCOME_LABELS,
    )


@router.post("/neighbourhood/caseload/{code}/visits/outcome", name="visit_outcome")
def record_outcome(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    day: Annotated[dt.date, Form()],
    visit_id: Annotated[str, Form()],
    outcome: Annotated[str, Form()],
    member_id: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    _hood_name(sessions, code)
    path = (
        request.url_for("nurse_day", code=code, member_id=member_id).path
        + f"?day={day.isoformat()}"
    )
    try:
        visit_day.record_outcome(sessions, user, code, day, visit_id, outcome, note)
    except UserError as exc:
        return flash.redirect_with(request, user, path, error=_error(exc))
    label = visit_views.OUTCOME_LABELS.get(outcome, outcome)
    return flash.redirect_with(request, user, path, notice=f"Recorded: {label}.")


@router.get("/neighbourhood/caseload/{code}/capacity", name="caseload_capacity")
def capacity_page(
    request: Request, code: str, user: WardUser, sessions: Sessions, day: dt.date | None = None
) -> Response:
    name = _hood_name(sessions, code)
    day = day or _today()
    return _page(
        request,
        "neighbourhood/capacity.html",
        user,
        code=code,
        hood_name=name,
        day=day,
        report=capacity_service.capacity(sessions, code, day),
        caseload_limit=capacity_service.CASELOAD_PER_WTE_LIMIT,
        visits_limit=capacity_service.VISITS_PER_NURSE_LIMIT,
    )


# --- a person's caseload entries (the person gate) ----------------------------------------------


@router.get("/neighbourhood/people/{person_id}/caseload", name="person_caseload")
def person_caseload_page(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    opened: Annotated[Opened, Depends(person_gate("person.caseload", permissions=PERMISSIONS))],
    intake: str = "referral",
) -> Response:
    messages = flash.take(request, user)
    return _person_caseload(
        request, user, sessions, opened, intake, error=messages["error"], notice=messages["notice"]
    )


def _person_caseload(
    request: Request,
    user: Principal,
    sessions: Sessions,
    opened: Opened,
    intake: str,
    *,
    form: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The person's caseload page; `form`: a refused entry as typed, shown again (status 422)."""
    person = opened.person
    hood = person.neighbourhood_code
    response = templates.TemplateResponse(
        request,
        "neighbourhood/person_caseload.html",
        {
            "csrf_token": user.csrf_token,
            "clock": clock,
            "error": "",
            "notice": "",
            "person": person,
            "entries": service.entries_of(sessions, person.person_id),
            "nurses": [m for m in service.team(sessions, hood) if m.visits] if hood else [],
            "intake_sources": INTAKE_SOURCES,
            "intake": intake if intake in INTAKE_SOURCES else "referral",
            "acuities": ACUITIES,
            "visit_types": VISIT_TYPES,
            "visit_type_labels": visit_views.VISIT_TYPE_LABELS,
            "discharge_reasons": service.DISCHARGE_LABELS,
            "today": _today(),
            "form": form or {},
            **context,
        },
        status_code=422 if form is not None else 200,
    )
    return response


def _back_to_person(request: Request, user: Principal, person_id: int, **flash_: str) -> Response:
    path = request.url_for("person_caseload", person_id=person_id).path
    return flash.redirect_with(request, user, path, **flash_)


@router.post("/neighbourhood/people/{person_id}/caseload", name="person_caseload_add")
def add_to_caseload(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    opened: Annotated[Opened, Depends(person_gate(None, permissions=PERMISSIONS))],
    form: FormFields,
    reason: Annotated[str, Form()] = "",
    intake_source: Annotated[str, Form()] = "",
    acuity: Annotated[str, Form()] = "",
    named_nurse_id: Annotated[int, Form()] = 0,
    visit_type: Annotated[str, Form()] = "",
    visits_per_week: Annotated[int, Form()] = 0,
    duration_min: Annotated[int, Form()] = 0,
    window_start: Annotated[str, Form()] = "",
    window_end: Annotated[str, Form()] = "",
    fixed_time: Annotated[str, Form()] = "",
    required_skills: Annotated[str, Form()] = "",
    two_person: Annotated[bool, Form()] = False,
) -> Response:
    person = opened.person

    def refused(message: str) -> Response:
        intake = form.get("intake_source", "")
        return _person_caseload(request, user, sessions, opened, intake, form=form, error=message)

    start, end = _minutes(window_start), _minutes(window_end)
    fixed = _minutes(fixed_time) if fixed_time.strip() else None
    if start is None or end is None or (fixed_time.strip() and fixed is None):
        return refused("Enter the window (and any fixed time) on the 24-hour clock, like 14:30")
    try:
        review = read_date(form, "next-review", "the next review date")
    except DateInputError as exc:
        return refused(str(exc))
    if not person.neighbourhood_code:
        return refused("The person is not in a neighbourhood.")
    request_ = service.EntryRequest(
        reason=reason,
        intake_source=intake_source,
        acuity=acuity,
        named_nurse_id=named_nurse_id,
        visit_type=visit_type,
        visits_per_week=visits_per_week,
        duration_min=duration_min,
        window_start=start,
        window_end=end,
        fixed_time=fixed,
        required_skills=tuple(s.strip() for s in required_skills.split(",") if s.strip()),
        two_person=two_person,
        next_review=review or _today() + dt.timedelta(days=28),
    )
    try:
        service.add_to_caseload(sessions, user, person, person.neighbourhood_code, request_)
    except UserError as exc:
        return refused(_error(exc))
    return _back_to_person(request, user, person.person_id, notice="Added to the caseload.")


@router.post(
    "/neighbourhood/people/{person_id}/caseload/discharge", name="person_caseload_discharge"
)
def discharge(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    opened: Annotated[Opened, Depends(person_gate(None, permissions=PERMISSIONS))],
    entry_id: Annotated[int, Form()] = 0,
    reason: Annotated[str, Form()] = "",
) -> Response:
    person = opened.person
    try:
        service.discharge(sessions, user, person, entry_id, reason)
    except UserError as exc:
        return _back_to_person(request, user, person.person_id, error=_error(exc))
    return _back_to_person(request, user, person.person_id, notice="Discharged from the caseload.")
