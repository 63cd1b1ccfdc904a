"""Managing the neighbourhood team and its rota (``ward.use``; writes carry CSRF).

* ``/neighbourhood/caseload/{code}/team`` — the team, and a form to add a member (name,
  organisation, role, band, skills, whole-time equivalent, base at one of the neighbourhood's
  practices); ``…/team/{member_id}`` — change or remove a member;
* ``…/{code}/rota?day=`` — who is on shift that day, a form to put a shift on the rota
  (start, end, break) and a button to take one off.

A form with mistakes comes back as it was typed with the NHS.UK error pattern (a summary
linking to each field, the message at the field); a refusal from the service (e.g. a member
who is still someone's named nurse) comes back the same way. Services: `caseload.add_member`,
`team_rota`, `visit_day.set_shifts` / `rota`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.errors import UserError
from joinedup.neighbourhood import caseload as service
from joinedup.neighbourhood import team_rota, visit_day
from joinedup.neighbourhood.caseload_models import ORGANISATION_KINDS, TEAM_ROLES
from joinedup.web import flash
from joinedup.web.caseload import _error, _hood_name, _minutes, _page, _today, chosen_day
from joinedup.web.dependencies import Sessions, Store, WardUser

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
ORGANISATION_LABELS = {
    "community_trust": "Community trust",
    "practice": "GP practice",
    "social_care": "Adult social care",
}
NO_BASE = ""


@dataclass
class MemberForm:
    """A team-member form as typed, and what is wrong with it (field id -> message)."""

    display_name: str = ""
    organisation_kind: str = "community_trust"
    organisation_name: str = ""
    team_role: str = "district_nurse"
    band: str = ""
    skills: str = ""
    wte: str = "1.0"
    base: str = NO_BASE
    errors: dict[str, str] = field(default_factory=dict)


def _member_form(member: service.Member, options: list[team_rota.Base]) -> MemberForm:
    base = team_rota.base_of(options, member.base)
    return MemberForm(
        member.display_name,
        member.organisation_kind,
        member.organisation_name,
        member.team_role,
        "" if member.band is None else str(member.band),
        ", ".join(member.skills),
        f"{member.wte:g}",
        base.code if base else NO_BASE,
    )


def _parse_member(form: MemberForm, options: list[team_rota.Base]) -> service.MemberRequest | None:
    """The request the form asks for, or None with `form.errors` filled in."""
    errors = form.errors
    if not form.display_name.strip():
        errors["display_name"] = "Enter the team member's name"
    if form.organisation_kind not in ORGANISATION_KINDS:
        errors["organisation_kind"] = "Select the kind of organisation"
    if form.team_role not in TEAM_ROLES:
        errors["team_role"] = "Select the team role"
    band: int | None = None
    if form.band.strip():
        band = int(form.band) if form.band.strip().isdigit() else None
        if band is None or not 2 <= band <= 9:
            errors["band"] = "Band must be an Agenda for Change band from 2 to 9"
    try:
        wte = float(form.wte)
    except ValueError:
        wte = -1.0
    if not 0 < wte <= 1.5:
        errors["wte"] = "Whole-time equivalent must be a number more than 0 and up to 1.5, like 0.8"
    skills = tuple(s.strip().lower().replace(" ", "_") for s in form.skills.split(",") if s.strip())
    if any(set(s) - set(service.SKILL_PATTERN) for s in skills):
        errors["skills"] = "Skills must be words separated by commas, like syringe driver, catheter"
    base = next((b for b in options if b.code == form.base), None)
    if form.base != NO_BASE and base is None:
        errors["base"] = "Select a base from the list"
    if errors:
        return None
    return service.MemberRequest(
        form.display_name,
        form.organisation_kind,
        form.organisation_name,
        form.team_role,
        wte,
        band,
        skills,
        (base.lat, base.lon) if base else None,
    )


def _team_page(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    code: str,
    form: MemberForm,
    *,
    member: service.Member | None = None,
    status_code: int = 200,
) -> Response:
    options = team_rota.bases(store, code)
    template = "neighbourhood/team_member.html" if member else "neighbourhood/team.html"
    response = _page(
        request,
        template,
        user,
        code=code,
        hood_name=_hood_name(sessions, code),
        team=service.team(sessions, code),
        member=member,
        form=form,
        bases=options,
        base_names={(b.lat, b.lon): b.name for b in options},
        roles=TEAM_ROLES,
        organisation_labels=ORGANISATION_LABELS,
        role_label=lambda r: r.replace("_", " ").capitalize().replace("gp", "GP"),
    )
    response.status_code = status_code
    return response


def _refused(form: MemberForm, exc: UserError) -> MemberForm:
    """The service's reasons, each at the field it is about (the name when none is)."""
    for problem in getattr(exc, "problems", None) or [str(exc)]:
        where = next((f for f in ("base", "band", "skill", "role") if f in problem), "name")
        field_id = {"skill": "skills", "role": "team_role", "name": "display_name"}.get(
            where, where
        )
        form.errors.setdefault(field_id, problem[:1].upper() + problem[1:])
    return form


def _member_fields(
    display_name: str,
    organisation_kind: str,
    organisation_name: str,
    team_role: str,
    band: str,
    skills: str,
    wte: str,
    base: str,
) -> MemberForm:
    return MemberForm(
        display_name, organisation_kind, organisation_name, team_role, band, skills, wte, base
    )


@router.get("/neighbourhood/caseload/{code}/team", name="caseload_team")
def team_page(
    request: Request, code: str, user: WardUser, sessions: Sessions, store: Store
) -> Response:
    return _team_page(request, user, sessions, store, code, MemberForm())


@router.post("/neighbourhood/caseload/{code}/team", name="caseload_team_add")
def add_member(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    display_name: Annotated[str, Form()] = "",
    organisation_kind: Annotated[str, Form()] = "",
    organisation_name: Annotated[str, Form()] = "",
    team_role: Annotated[str, Form()] = "",
    band: Annotated[str, Form()] = "",
    skills: Annotated[str, Form()] = "",
    wte: Annotated[str, Form()] = "",
    base: Annotated[str, Form()] = NO_BASE,
) -> Response:
    _hood_name(sessions, code)
    form = _member_fields(
        display_name, organisation_kind, organisation_name, team_role, band, skills, wte, base
    )
    req = _parse_member(form, team_rota.bases(store, code))
    if req is not None:
        try:
            service.add_member(sessions, user, code, req)
        except UserError as exc:
            form = _refused(form, exc)
        else:
            path = request.url_for("caseload_team", code=code).path
            notice = f"{req.display_name.strip()} has joined the team."
            return flash.redirect_with(request, user, path, notice=notice)
    return _team_page(request, user, sessions, store, code, form, status_code=422)


def _member_or_404(sessions: Sessions, code: str, member_id: int) -> service.Member:
    member = next((m for m in service.team(sessions, code) if m.id == member_id), None)
    if member is None:
        raise HTTPException(status_code=404, detail="There is no such member of this team.")
    return member


@router.get("/neighbourhood/caseload/{code}/team/{member_id}", name="caseload_member")
def member_page(
    request: Request, code: str, member_id: int, user: WardUser, sessions: Sessions, store: Store
) -> Response:
    member = _member_or_404(sessions, code, member_id)
    form = _member_form(member, team_rota.bases(store, code))
    return _team_page(request, user, sessions, store, code, form, member=member)


@router.post("/neighbourhood/caseload/{code}/team/{member_id}", name="caseload_member_edit")
def edit_member(
    request: Request,
    code: str,
    member_id: int,
    user: WardUser,
    sessions: Sessions,
    store: Store,
    display_name: Annotated[str, Form()] = "",
    organisation_kind: Annotated[str, Form()] = "",
    organisation_name: Annotated[str, Form()] = "",
    team_role: Annotated[str, Form()] = "",
    band: Annotated[str, Form()] = "",
    skills: Annotated[str, Form()] = "",
    wte: Annotated[str, Form()] = "",
    base: Annotated[str, Form()] = NO_BASE,
) -> Response:
    member = _member_or_404(sessions, code, member_id)
    form = _member_fields(
        display_name, organisation_kind, organisation_name, team_role, band, skills, wte, base
    )
    req = _parse_member(form, team_rota.bases(store, code))
    if req is not None:
        try:
            team_rota.edit_member(sessions, user, code, member_id, req)
        except UserError as exc:
            form = _refused(form, exc)
        else:
            path = request.url_for("caseload_team", code=code).path
            notice = f"{req.display_name.strip()}'s details are saved."
            return flash.redirect_with(request, user, path, notice=notice)
    return _team_page(request, user, sessions, store, code, form, member=member, status_code=422)


@router.post(
    "/neighbourhood/caseload/{code}/team/{member_id}/remove", name="caseload_member_remove"
)
def remove_member(
    request: Request, code: str, member_id: int, user: WardUser, sessions: Sessions
) -> Response:
    member = _member_or_404(sessions, code, member_id)
    try:
        team_rota.remove_member(sessions, user, code, member_id, _today())
    except UserError as exc:
        path = request.url_for("caseload_member", code=code, member_id=member_id).path
        return flash.redirect_with(request, user, path, error=_error(exc).capitalize())
    path = request.url_for("caseload_team", code=code).path
    notice = f"{member.display_name} has left the team."
    return flash.redirect_with(request, user, path, notice=notice)


# --- the rota -----------------------------------------------------------------------------------


@dataclass
class ShiftForm:
    member_id: str = ""
    shift_start: str = "08:00"
    shift_end: str = "16:30"
    break_start: str = "12:00"
    break_end: str = "14:00"
    break_min: str = "30"
    max_visits: str = ""
    errors: dict[str, str] = field(default_factory=dict)


_SHIFT_TIMES = (
    ("shift_start", "start"),
    ("shift_end", "end"),
    ("break_start", "earliest break"),
    ("break_end", "latest break end"),
)


def _parse_shift(form: ShiftForm, members: set[int]) -> visit_day.ShiftRequest | None:
    """The shift the form asks for, or None with `form.errors` filled in."""
    errors = form.errors
    member = int(form.member_id) if form.member_id.isdigit() else None
    if member not in members:
        errors["member_id"] = "Select who is on shift"
    times = {name: _minutes(getattr(form, name)) for name, _ in _SHIFT_TIMES}
    for name, label in _SHIFT_TIMES:
        if times[name] is None:
            errors[name] = f"Enter the {label} time as HH:MM, like 08:00"
    breaks = int(form.break_min) if form.break_min.strip().isdigit() else None
    if breaks is None or breaks > 120:
        errors["break_min"] = "Break must be a number of minutes from 0 to 120, like 30"
    most = int(form.max_visits) if form.max_visits.strip().isdigit() else None
    if form.max_visits.strip() and (most is None or not 1 <= most <= 30):
        errors["max_visits"] = "Most visits must be a number from 1 to 30, or left empty"
    start, end, b_start, b_end = (times[name] for name, _ in _SHIFT_TIMES)
    if member is None or start is None or end is None or b_start is None or b_end is None:
        return None
    if end <= start:
        errors["shift_end"] = "The end time must be after the start time"
    elif not (start <= b_start and b_end <= end):
        errors["break_start"] = "The break must be within the shift"
    elif breaks is not None and b_end - b_start < breaks:
        errors["break_end"] = "The break window must be at least as long as the break"
    if errors or breaks is None:
        return None
    return visit_day.ShiftRequest(member, start, end, b_start, b_end, breaks, most)


def _rota_page(
    request: Request,
    user: WardUser,
    sessions: Sessions,
    code: str,
    day: dt.date,
    form: ShiftForm,
    *,
    status_code: int = 200,
    **day_form: Any,
) -> Response:
    response = _page(
        request,
        "neighbourhood/rota.html",
        user,
        code=code,
        hood_name=_hood_name(sessions, code),
        day=day,
        shifts=visit_day.rota(sessions, code, day),
        visiting=[m for m in service.team(sessions, code) if m.visits],
        form=form,
        **day_form,
    )
    response.status_code = status_code
    return response


@router.get("/neighbourhood/caseload/{code}/rota", name="caseload_rota")
def rota_page(request: Request, code: str, user: WardUser, sessions: Sessions) -> Response:
    day, day_form = chosen_day(request)
    return _rota_page(request, user, sessions, code, day, ShiftForm(), **day_form)


@router.post("/neighbourhood/caseload/{code}/rota", name="caseload_rota_set")
def set_shift(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    day: Annotated[dt.date, Form()],
    member_id: Annotated[str, Form()] = "",
    shift_start: Annotated[str, Form()] = "",
    shift_end: Annotated[str, Form()] = "",
    break_start: Annotated[str, Form()] = "",
    break_end: Annotated[str, Form()] = "",
    break_min: Annotated[str, Form()] = "",
    max_visits: Annotated[str, Form()] = "",
) -> Response:
    _hood_name(sessions, code)
    form = ShiftForm(
        member_id, shift_start, shift_end, break_start, break_end, break_min, max_visits
    )
    members = {m.id for m in service.team(sessions, code) if m.visits}
    shift = _parse_shift(form, members)
    if shift is not None:
        try:
            visit_day.set_shifts(sessions, user, day, [shift])
        except UserError as exc:
            form.errors["member_id"] = _error(exc).capitalize()
        else:
            path = request.url_for("caseload_rota", code=code).path + f"?day={day.isoformat()}"
            return flash.redirect_with(request, user, path, notice="The shift is on the rota.")
    return _rota_page(request, user, sessions, code, day, form, status_code=422)


@router.post("/neighbourhood/caseload/{code}/rota/remove", name="caseload_rota_remove")
def remove_shift(
    request: Request,
    code: str,
    user: WardUser,
    sessions: Sessions,
    day: Annotated[dt.date, Form()],
    member_id: Annotated[int, Form()],
) -> Response:
    _hood_name(sessions, code)
    path = request.url_for("caseload_rota", code=code).path + f"?day={day.isoformat()}"
    try:
        team_rota.remove_shift(sessions, user, code, member_id, day)
    except UserError as exc:
        return flash.redirect_with(request, user, path, error=_error(exc).capitalize())
    return flash.redirect_with(request, user, path, notice="The shift is off the rota.")
