"""Multidisciplinary team meetings: schedule, agenda, decisions, actions, minutes.

Pages (``record.view``; writes ``care.write`` with the CSRF token, checked by `require` before
anything is looked up, so refusals never depend on whether a meeting exists):

* ``/care-coordination/mdt`` — meetings by neighbourhood, and the schedule form;
* ``/care-coordination/mdt/{meeting_id}`` — the agenda with each person's reasons (only the
  people the user may see: `joinedup.care.mdt_people.visible_people`; the others are counted),
  attendees and attendance, regenerate and close; the list view is audited;
* ``…/people/{person_id}`` — a person's one-page summary with the decision form, behind the
  person gate (`joinedup.web.person_gate`) with the meeting's rule (relationship or invited);
* ``…/minutes`` — the minutes, only for users who may see everyone they name;
* ``/care-coordination/actions/{action_id}`` — one tracked action and its completion form.

After a successful write the page redirects (303), so a reload does not write twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care import mdt as meetings
from joinedup.care.actions import (
    ActionRecord,
    StaleActionError,
    complete_action,
    get_action,
)
from joinedup.care.mdt_people import (
    is_attendee,
    list_labels,
    person_summary,
    visible_people,
)
from joinedup.errors import UserError
from joinedup.governance.audit import record_list_view, record_view
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.governance.users import active_users_with
from joinedup.population.reads import PersonIdentity, practices_of
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app_state import get_population_store
from joinedup.web.date_input import DateInputError, read_date, read_time, typed_date
from joinedup.web.dependencies import (
    AppSettings,
    Sessions,
    Store,
    Viewer,
    Writer,
)
from joinedup.web.formatting import UK_TIME_ZONE
from joinedup.web.person_gate import OpenedPerson, Verdict, person_gate, person_not_found
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


ACTION_ROWS = 3
NO_MEETING = "There is no MDT meeting with that number."
NOT_ON_AGENDA = "This person is not on the meeting's agenda."


def _message(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _meeting_or_404(sessions: sessionmaker[Session], meeting_id: int) -> meetings.MeetingDetail:
    detail = meetings.get_meeting(sessions, meeting_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=NO_MEETING)
    return detail


def _refused(request: Request, message: str) -> Response:
    return templates.TemplateResponse(
        request, "mdt/refused.html", {"message": message}, status_code=403
    )


def _redirect(request: Request, name: str, query: str = "", **params: Any) -> Response:
    target = request.url_for(name, **params).path
    return RedirectResponse(target + (f"?{query}" if query else ""), status_code=303)


# --- meetings -------------------------------------------------------------------------------


def _clinical_users(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Users who may be invited: active, in a role that may see records."""
    return [
        {"id": c.id, "name": c.name, "role": c.role_name}
        for c in active_users_with(sessions, "record.view")
    ]


def _index_page(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    *,
    error: str | None = None,
    error_field: str = "neighbourhood",
    form: dict[str, Any] | None = None,
) -> Response:
    hoods = meetings.neighbourhoods(sessions)
    listed = meetings.list_meetings(sessions)
    own = meetings.neighbourhoods_worked_in(sessions, user.user_id, list(hoods))
    grouped = {code: [m for m in listed if m.neighbourhood_code == code] for code in hoods}
    return templates.TemplateResponse(
        request,
        "mdt/index.html",
        {
            "neighbourhoods": hoods,
            "grouped": grouped,
            "own_neighbourhoods": own,
            "users": _clinical_users(sessions) if user.can("care.write") else [],
            "can_write": user.can("care.write"),
            "csrf_token": user.csrf_token,
            "error": error,
            "error_field": error_field,
            "form": form or {},
        },
        status_code=400 if error else 200,
    )


@router.get("/care-coordination/mdt", name="mdt_meetings")
def meetings_page(request: Request, user: Viewer, sessions: Sessions) -> Response:
    return _index_page(request, user, sessions)


def _parse_guests(text: str) -> list[meetings.Guest]:
    guests = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise meetings.MdtError(
                "write each guest on a line of their own as: name | role | organisation"
            )
        guests.append(meetings.Guest(*parts))
    return guests


def _starts_at(form: dict[str, Any], time: str) -> dt.datetime:
    try:
        day = read_date(form, "day", "the date of the meeting", required=True)
        start = read_time(form, "time", "the start time", required=True)
    except DateInputError as exc:
        raise FieldError(str(exc), exc.field) from None
    assert day is not None and start is not None  # required
    local = dt.datetime.combine(day, start)
    return local.replace(tzinfo=UK_TIME_ZONE).astimezone(dt.UTC)


@router.post("/care-coordination/mdt", name="mdt_schedule")
def schedule(
    request: Request,
    user: Writer,
    sessions: Sessions,
    neighbourhood: Annotated[str, Form()] = "",
    day_day: Annotated[str, Form(alias="day-day")] = "",
    day_month: Annotated[str, Form(alias="day-month")] = "",
    day_year: Annotated[str, Form(alias="day-year")] = "",
    time: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    attendees: Annotated[list[int] | None, Form()] = None,
    guests: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "neighbourhood": neighbourhood,
        "day-day": day_day,
        "day-month": day_month,
        "day-year": day_year,
        "time": time,
        "location": location,
        "attendees": attendees or [],
        "guests": guests,
    }
    try:
        field = "day-day"
        starts = _starts_at(form, time)
        field = "guests"
        guest_list = _parse_guests(guests)
        field = "neighbourhood"
        meeting_id = meetings.schedule_meeting(
            sessions,
            user,
            neighbourhood_code=neighbourhood,
            starts_at=starts,
            location=location,
            attendee_user_ids=attendees or [],
            guests=guest_list,
        )
    except meetings.MdtNotAllowed as exc:
        return _refused(request, _message(exc))
    except UserError as exc:
        return _index_page(
            request,
            user,
            sessions,
            error=_message(exc),
            error_field=getattr(exc, "field", field),
            form=form,
        )
    return _redirect(request, "mdt_meeting", "scheduled=1", meeting_id=meeting_id)


def _meeting_page(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    detail: meetings.MeetingDetail,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    visible = visible_people(
        sessions, store, user, detail.meeting.id, [i.person_id for i in detail.agenda]
    )
    shown = [i for i in detail.agenda if i.person_id in visible]
    carried = [a for a in detail.carried_in if a.person_id in visible]
    record_list_view(
        sessions,
        user,
        what="mdt.agenda",
        list_id=str(detail.meeting.id),
        scope={"neighbourhood": detail.meeting.neighbourhood_code},
        rows=len(shown),
        identifiable=True,
    )
    may_run = meetings.may_run_meeting(sessions, user, detail.meeting.id)
    labels = list_labels(store, [i.person_id for i in shown])
    return templates.TemplateResponse(
        request,
        "mdt/meeting.html",
        {
            "detail": detail,
            "meeting": detail.meeting,
            "agenda": shown,
            "hidden": len(detail.agenda) - len(shown),
            "carried": carried,
            "labels": labels,
            "can_run": user.can("care.write") and may_run and detail.meeting.is_open,
            "csrf_token": user.csrf_token,
            "error": error,
            "error_field": "agenda",
            "notice": notice,
        },
        status_code=400 if error else 200,
        headers={"Cache-Control": "no-store"},
    )


NOTICES = {
    "scheduled": "The meeting has been scheduled. Build its agenda from the register below.",
    "agenda": "The agenda has been built from the register.",
    "attendance": "Attendance has been recorded.",
    "closed": "The meeting is closed and its minutes written.",
}


@router.get("/care-coordination/mdt/{meeting_id}", name="mdt_meeting")
def meeting_page(
    request: Request, meeting_id: int, user: Viewer, sessions: Sessions, store: Store
) -> Response:
    detail = _meeting_or_404(sessions, meeting_id)
    notice = next((text for key, text in NOTICES.items() if key in request.query_params), None)
    return _meeting_page(request, user, sessions, store, detail, notice=notice)


def _meeting_write(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    meeting_id: int,
    write: Callable[[], object],
    done: str,
) -> Response:
    """Run one meeting write; refusals 403, bad input back to the page with the message."""
    detail = _meeting_or_404(sessions, meeting_id)
    try:
        write()
    except meetings.MdtNotAllowed as exc:
        return _refused(request, _message(exc))
    except UserError as exc:
        return _meeting_page(request, user, sessions, store, detail, error=_message(exc))
    return _redirect(request, "mdt_meeting", f"{done}=1", meeting_id=meeting_id)


@router.post("/care-coordination/mdt/{meeting_id}/agenda", name="mdt_regenerate")
def regenerate(
    request: Request,
    meeting_id: int,
    user: Writer,
    sessions: Sessions,
    store: Store,
    settings: AppSettings,
) -> Response:
    return _meeting_write(
        request,
        user,
        sessions,
        store,
        meeting_id,
        lambda: meetings.regenerate_agenda(sessions, settings, user, meeting_id),
        "agenda",
    )


@router.post("/care-coordination/mdt/{meeting_id}/attendance", name="mdt_attendance")
def attendance(
    request: Request,
    meeting_id: int,
    user: Writer,
    sessions: Sessions,
    store: Store,
    present: Annotated[list[int] | None, Form()] = None,
) -> Response:
    return _meeting_write(
        request,
        user,
        sessions,
        store,
        meeting_id,
        lambda: meetings.record_attendance(sessions, user, meeting_id, present=present or []),
        "attendance",
    )


@router.post("/care-coordination/mdt/{meeting_id}/close", name="mdt_close")
def close(
    request: Request, meeting_id: int, user: Writer, sessions: Sessions, store: Store
) -> Response:
    def write() -> None:
        detail = _meeting_or_404(sessions, meeting_id)
        people = {i.person_id for i in detail.agenda} | {a.person_id for a in detail.carried_in}
        meetings.close_meeting(sessions, user, meeting_id, people=list_labels(store, people))

    return _meeting_write(request, user, sessions, store, meeting_id, write, "closed")


@router.get("/care-coordination/mdt/{meeting_id}/minutes", name="mdt_minutes")
def minutes_page(
    request: Request, meeting_id: int, user: Viewer, sessions: Sessions, store: Store
) -> Response:
    detail = _meeting_or_404(sessions, meeting_id)
    if detail.meeting.minutes is None:
        raise HTTPException(status_code=404, detail="This meeting has no minutes yet.")
    named = {i.person_id for i in detail.agenda} | {a.person_id for a in detail.carried_in}
    if visible_people(sessions, store, user, meeting_id, named) != named:
        return _refused(
            request,
            "The minutes name people you have no care relationship with, so you cannot read "
            "them. Members of the neighbourhood and the meeting's attendees can.",
        )
    record_list_view(
        sessions,
        user,
        what="mdt.minutes",
        list_id=str(meeting_id),
        scope={"neighbourhood": detail.meeting.neighbourhood_code},
        rows=len(named),
        identifiable=True,
    )
    return templates.TemplateResponse(
        request,
        "mdt/minutes.html",
        {"meeting": detail.meeting},
        headers={"Cache-Control": "no-store"},
    )


# --- a person at the meeting ----------------------------------------------------------------


def _mdt_rule(
    request: Request, sessions: sessionmaker[Session], user: Principal, person: PersonIdentity
) -> Verdict[meetings.MeetingDetail]:
    """The person gate's rule for a person at a meeting: on its agenda (else 404), and seen by
    the legitimate relationship or by being invited to the meeting
    (`joinedup.care.mdt_people.visible_people`)."""
    meeting_id = int(request.path_params["meeting_id"])
    detail = _meeting_or_404(sessions, meeting_id)
    if detail.item(person.person_id) is None:
        raise HTTPException(status_code=404, detail=NOT_ON_AGENDA)
    store = get_population_store(request)
    allowed = person.person_id in visible_people(
        sessions, store, user, meeting_id, [person.person_id]
    )
    return Verdict(allowed, detail)


MdtPersonView = Annotated[
    OpenedPerson[meetings.MeetingDetail],
    Depends(person_gate("mdt.person_summary", rule=_mdt_rule)),
]
#: A write about the person: the gate decides; the write's unit of work is its audit.
MdtPersonWrite = Annotated[
    OpenedPerson[meetings.MeetingDetail],
    Depends(person_gate(None, permissions=["care.write"], rule=_mdt_rule)),
]


def _person_page(
    request: Request,
    opened: OpenedPerson[meetings.MeetingDetail],
    settings: Settings,
    *,
    error: str | None = None,
    error_field: str = "decision",
    form: dict[str, Any] | None = None,
    notice: str | None = None,
) -> Response:
    user, sessions, person_id = opened.user, opened.sessions, opened.person_id
    detail = _meeting_or_404(sessions, opened.access.meeting.id)
    item = detail.item(person_id)
    if item is None:
        raise HTTPException(status_code=404, detail=NOT_ON_AGENDA)
    summary = person_summary(sessions, settings, detail, person_id)
    if summary is None:
        raise person_not_found(request)
    may_run = meetings.may_run_meeting(sessions, user, detail.meeting.id)
    return templates.TemplateResponse(
        request,
        "mdt/person.html",
        {
            "meeting": detail.meeting,
            "item": item,
            "summary": summary,
            "decisions": detail.decisions_for(person_id),
            "actions": detail.actions_for(person_id),
            "owners": detail.attendees,
            "action_rows": range(1, ACTION_ROWS + 1),
            "can_write": user.can("care.write") and may_run and detail.meeting.is_open,
            "csrf_token": user.csrf_token,
            "error": error,
            "error_field": error_field,
            "form": form or {},
            "notice": notice,
        },
        status_code=400 if error else 200,
    )


@router.get("/care-coordination/mdt/{meeting_id}/people/{person_id}", name="mdt_person")
def person_page(request: Request, opened: MdtPersonView, settings: AppSettings) -> Response:
    notice = None
    if "decided" in request.query_params:
        notice = "The decision and its actions have been recorded."
    elif "discussed" in request.query_params:
        notice = "Recorded."
    return _person_page(request, opened, settings, notice=notice)


class FieldError(meetings.MdtError):
    """A form answer to fix; `field` is the id of the input the message points at."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _action_inputs(
    form: dict[str, str], attendees: list[meetings.AttendeeRecord]
) -> list[meetings.ActionInput]:
    """The decision form's action rows (empty rows skipped), owners chosen from the attendees."""
    by_id = {str(a.id): a for a in attendees}
    actions = []
    for n in range(1, ACTION_ROWS + 1):
        title = form.get(f"action_{n}", "").strip()
        owner_id = form.get(f"owner_{n}", "")
        if not (title or owner_id or any(typed_date(form, f"due_{n}").__dict__.values())):
            continue
        if not title:
            raise FieldError(f"Enter what will be done for action {n}", f"action_{n}")
        owner = by_id.get(owner_id)
        if owner is None:
            raise FieldError(f"Choose who will do action {n}", f"owner_{n}")
        try:
            due_on = read_date(form, f"due_{n}", f"the due date for action {n}", required=True)
        except DateInputError as exc:
            raise FieldError(str(exc), exc.field) from None
        assert due_on is not None  # required
        actions.append(
            meetings.ActionInput(
                title, owner.name, owner.organisation or "Not recorded", due_on, owner.user_id
            )
        )
    return actions


@router.post(
    "/care-coordination/mdt/{meeting_id}/people/{person_id}/decisions", name="mdt_decision"
)
async def record_decision(
    request: Request, opened: MdtPersonWrite, settings: AppSettings
) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    return _person_write(
        request,
        opened,
        settings,
        form,
        "decided",
        lambda detail: meetings.record_decision(
            opened.sessions,
            opened.user,
            detail.meeting.id,
            opened.person_id,
            text=form.get("decision", ""),
            actions=_action_inputs(form, detail.attendees),
        ),
    )


@router.post(
    "/care-coordination/mdt/{meeting_id}/people/{person_id}/discussed", name="mdt_discussed"
)
def mark_discussed(
    request: Request,
    opened: MdtPersonWrite,
    settings: AppSettings,
    note: Annotated[str, Form()] = "",
    discussed: Annotated[str, Form()] = "yes",
) -> Response:
    return _person_write(
        request,
        opened,
        settings,
        {"note": note},
        "discussed",
        lambda detail: meetings.mark_discussed(
            opened.sessions,
            opened.user,
            detail.meeting.id,
            opened.person_id,
            discussed=discussed != "no",
            note=note,
        ),
    )


def _person_write(
    request: Request,
    opened: OpenedPerson[meetings.MeetingDetail],
    settings: Settings,
    form: dict[str, str],
    done: str,
    write: Callable[[meetings.MeetingDetail], object],
) -> Response:
    meeting_id = opened.access.meeting.id
    try:
        write(opened.access)
    except meetings.MdtNotAllowed as exc:
        return _refused(request, _message(exc))
    except UserError as exc:
        field = getattr(exc, "field", "note" if done == "discussed" else "decision")
        opened.record_view("mdt.person_summary", {"meeting_id": meeting_id})  # shown again
        return _person_page(
            request, opened, settings, error=_message(exc), error_field=field, form=form
        )
    return _redirect(
        request, "mdt_person", f"{done}=1", meeting_id=meeting_id, person_id=opened.person_id
    )


# --- tracked actions ------------------------------------------------------------------------


def _action_access(
    sessions: sessionmaker[Session], store: PopulationStore, user: Principal, action: ActionRecord
) -> bool:
    practice = practices_of(store, [action.person_id]).get(action.person_id)
    if person_access(sessions, user, action.person_id, practice).allowed:
        return True
    return action.mdt_meeting_id is not None and is_attendee(sessions, user, action.mdt_meeting_id)


def _person_url(
    request: Request,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    user: Principal,
    action: ActionRecord,
) -> str | None:
    """Where this user may open the action's person: their record, else the MDT summary."""
    practice = practices_of(store, [action.person_id]).get(action.person_id)
    if person_access(sessions, user, action.person_id, practice).allowed:
        return f"/people/{action.person_id}?from=worklist"
    if action.mdt_meeting_id is not None:
        return request.url_for(
            "mdt_person", meeting_id=action.mdt_meeting_id, person_id=action.person_id
        ).path
    return None


def _action_page(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    action_id: int,
    *,
    error: str | None = None,
    stale: StaleActionError | None = None,
    outcome: str = "",
    notice: str | None = None,
) -> Response:
    action = get_action(sessions, action_id)
    if action is None:
        raise HTTPException(status_code=404, detail="There is no action with that number.")
    if not _action_access(sessions, store, user, action):
        return _refused(request, "You have no care relationship with this action's person.")
    record_view(
        sessions,
        user,
        person_id=action.person_id,
        what="care_action",
        detail={"action_id": action_id},
    )
    labels = list_labels(store, [action.person_id])
    return templates.TemplateResponse(
        request,
        "mdt/action.html",
        {
            "action": action,
            "person_url": _person_url(request, sessions, store, user, action),
            "label": labels.get(action.person_id, f"Person {action.person_id}"),
            "can_complete": user.can("care.write") and action.is_open,
            "overdue": action.is_overdue(dt.date.today()),
            "csrf_token": user.csrf_token,
            "error": error,
            "error_field": "outcome",
            "stale": stale,
            "outcome": outcome,
            "notice": notice,
        },
        status_code=409 if stale else (400 if error else 200),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/care-coordination/actions/{action_id}", name="care_action")
def action_page(
    request: Request, action_id: int, user: Viewer, sessions: Sessions, store: Store
) -> Response:
    notice = "The action is complete." if "completed" in request.query_params else None
    return _action_page(request, user, sessions, store, action_id, notice=notice)


@router.post("/care-coordination/actions/{action_id}/complete", name="care_action_complete")
def complete(
    request: Request,
    action_id: int,
    user: Writer,
    sessions: Sessions,
    store: Store,
    outcome: Annotated[str, Form()] = "",
    version: Annotated[int, Form()] = 0,
) -> Response:
    action = get_action(sessions, action_id)
    if action is None:
        raise HTTPException(status_code=404, detail="There is no action with that number.")
    if not _action_access(sessions, store, user, action):
        return _refused(request, "You have no care relationship with this action's person.")
    try:
        complete_action(sessions, user, action_id, outcome=outcome, expected_version=version)
    except StaleActionError as exc:
        return _action_page(
            request,
            user,
            sessions,
            store,
            action_id,
            error=_message(exc),
            stale=exc,
            outcome=outcome,
        )
    except UserError as exc:
        return _action_page(
            request, user, sessions, store, action_id, error=_message(exc), outcome=outcome
        )
    return _redirect(request, "care_action", "completed=1", action_id=action_id)
