"""The coordinated care register, named professionals, caseloads, coverage, worklists and the
person page.

Thin routes over `joinedup.care.*`. Identifiable pages (the person page, the register list, the
worklist, caseloads) need ``record.view``; the person pages are behind the person gate
(`joinedup.web.person_gate`: legitimate relationship, the view audited before rendering).
Coverage is an aggregate: ``population.view_aggregates``, objectors left out and every
count suppressed. Writes need ``care.write`` and a CSRF token (checked by `require`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import latest_run
from joinedup.care import register as reg
from joinedup.care.care_plan import plan_access_given
from joinedup.care.caseloads import IMBALANCE_RATIO, team_caseloads
from joinedup.care.coverage import list_coverage
from joinedup.care.mdt_people import list_labels
from joinedup.care.models import NAMED_PROFESSIONAL_ROLES, REGISTER_SOURCES, REGISTER_STATES
from joinedup.care.named_professionals import (
    PROFESSIONAL_LABELS,
    assign,
    candidates_for,
    current_named_professional,
    named_professional_history,
)
from joinedup.care.person_page import person_page_facts
from joinedup.care.person_record import person_record
from joinedup.care.worklist import ACTION_GROUPS, team_worklist, worklist
from joinedup.errors import UserError
from joinedup.governance.audit import record_list_view
from joinedup.governance.objections import active_objectors
from joinedup.governance.relationships import Access, user_practices
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import extract_date
from joinedup.web import flash
from joinedup.web.date_input import DateInputError, read_date
from joinedup.web.dependencies import (
    AggregateViewer,
    AppSettings,
    ServiceUser,
    Sessions,
    Store,
    TeamLead,
    Viewer,
    Writer,
)
from joinedup.web.formatting import as_sentence
from joinedup.web.people import BASIS_WORDS, _expiry_text
from joinedup.web.person_gate import OpenedPerson, person_gate, person_not_found
from joinedup.web.templating import banner_already_read, templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


# --- area home ---------------------------------------------------------------------------------


@router.get("/care-coordination", name="care_coordination")
def care_home(
    request: Request,
    user: ServiceUser,
    sessions: Sessions,
) -> Response:
    """The area home: the register by state (exact for clinicians, suppressed otherwise)."""
    identifiable = user.can("record.view")
    aggregate = user.can("population.view_aggregates")
    counts: dict[str, int | None] = {}
    if identifiable or aggregate:
        excluding = frozenset() if identifiable else active_objectors(sessions)
        raw = reg.counts_by_state(sessions, excluding=excluding)
        counts = {k: v if identifiable else suppress_count(v) for k, v in raw.items()}
    return templates.TemplateResponse(
        request,
        "care/home.html",
        {
            "page_title": "Care coordination",
            "counts": counts,
            "labels": reg.STATE_LABELS,
            "open_states": reg.OPEN_STATES,
            "suppressed": not identifiable,
            "suppression_note": SUPPRESSION_NOTE,
            "can_view_records": identifiable,
            "can_view_aggregates": aggregate,
        },
    )


# --- the register ------------------------------------------------------------------------------


@router.get("/care-coordination/register", name="care_register")
def register_list(
    request: Request,
    user: Viewer,
    sessions: Sessions,
    store: Store,
    status: str = "",
    practice: str = "",
) -> Response:
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    if status and status not in REGISTER_STATES:
        raise HTTPException(status_code=404, detail=f"There is no register state {status}.")
    if practice and practice not in practices:
        raise HTTPException(
            status_code=403, detail="You can see named people only in the practices you work in."
        )
    scope = {practice} if practice else practices
    entries = reg.list_entries(sessions, practices=scope, status=status or None)
    record_list_view(
        sessions,
        user,
        what="care_register",
        list_id="coordinated_care_register",
        scope={"status": status or None, "practices": sorted(scope)},
        rows=len(entries),
        identifiable=True,
    )
    return templates.TemplateResponse(
        request,
        "care/register.html",
        {
            "page_title": "Coordinated care register",
            "entries": entries,
            "names": list_labels(store, [e.person_id for e in entries]),
            "states": [(s, reg.STATE_LABELS[s]) for s in REGISTER_STATES],
            "status": status,
            "practice": practice,
            "practices": sorted(practices),
            "counts": reg.counts_by_state(sessions, practices=practices),
        },
    )


@router.post("/care-coordination/register", name="care_register_add")
def register_add(
    request: Request,
    user: Writer,
    sessions: Sessions,
    store: Store,
    person_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "person_page",
    source_detail: Annotated[str, Form()] = "",
) -> Response:
    if source not in REGISTER_SOURCES:
        raise HTTPException(status_code=400, detail="Choose where the addition came from.")
    try:
        reg.add_to_register(
            sessions,
            store,
            user,
            person_id=person_id,
            source=source,
            reason=reason,
            source_detail=source_detail or None,
        )
    except reg.PersonUnknown:
        raise person_not_found(request) from None
    except reg.RegisterNotAllowed as exc:
        raise HTTPException(status_code=403, detail=as_sentence(exc)) from None
    except reg.AlreadyOnRegister as exc:
        return _back_to_person(request, user, person_id, notice=as_sentence(exc))
    except UserError as exc:
        return _back_to_person(request, user, person_id, error=as_sentence(exc))
    return _back_to_person(
        request, user, person_id, notice="Added to the coordinated care register."
    )


@router.post("/care-coordination/register/{entry_id}/move", name="care_register_move")
def register_move(
    request: Request,
    user: Writer,
    sessions: Sessions,
    entry_id: int,
    to_status: Annotated[str, Form()],
    expected_version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    review_day: Annotated[str, Form(alias="review_due_on-day")] = "",
    review_month: Annotated[str, Form(alias="review_due_on-month")] = "",
    review_year: Annotated[str, Form(alias="review_due_on-year")] = "",
    consent: Annotated[str, Form()] = "",
) -> Response:
    try:
        entry = reg.get_entry(sessions, entry_id)
    except reg.NotOnRegister:
        raise HTTPException(status_code=404, detail="There is no such register entry.") from None
    typed = dict(
        zip(("day", "month", "year"), (review_day, review_month, review_year), strict=True)
    )
    try:
        review_due_on = read_date(
            {f"review_due_on-{part}": value for part, value in typed.items()},
            "review_due_on",
            "the next review date",
            when="future",
        )
        reg.move(
            sessions,
            user,
            entry_id,
            to_status=to_status,
            expected_version=expected_version,
            reason=reason,
            review_due_on=review_due_on,
            consent_confirmed=consent == "confirmed",
            record_consent=consent == "record",
        )
    except reg.RegisterNotAllowed as exc:
        raise HTTPException(status_code=403, detail=as_sentence(exc)) from None
    except (UserError, DateInputError) as exc:
        return _back_to_person(request, user, entry.person_id, error=as_sentence(exc))
    label = reg.STATE_LABELS.get(to_status, to_status).lower()
    return _back_to_person(
        request, user, entry.person_id, notice=f"Register entry moved to {label}."
    )


# --- named professional ------------------------------------------------------------------------


@router.get("/people/{person_id}/named-professional", name="named_professional_form")
def named_professional_form(
    request: Request,
    opened: Annotated[
        OpenedPerson[Access],
        Depends(person_gate("person.named_professional", permissions=["care.write"])),
    ],
) -> Response:
    person, user, sessions = opened.person, opened.user, opened.sessions
    person_id = person.person_id
    entry = reg.entry_for_person(sessions, person_id)
    return templates.TemplateResponse(
        request,
        "care/named_professional.html",
        {
            "page_title": "Named professional",
            "person": person,
            "entry": entry,
            "current": current_named_professional(sessions, person_id),
            "history": named_professional_history(sessions, person_id),
            "candidates": candidates_for(sessions, entry.practice_code) if entry else [],
            "labels": PROFESSIONAL_LABELS,
            "kinds": NAMED_PROFESSIONAL_ROLES,
            "csrf_token": user.csrf_token,
            "error": flash.take(request, user)["error"],
        },
    )


@router.post("/people/{person_id}/named-professional", name="named_professional_assign")
def named_professional_assign(
    request: Request,
    person_id: int,
    user: Writer,
    sessions: Sessions,
    professional: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """`professional` is "<user id>:<kind>" from the form's choice of candidates."""
    user_part, _, kind = professional.partition(":")
    if not user_part.isdigit() or kind not in NAMED_PROFESSIONAL_ROLES:
        return flash.redirect_with(
            request,
            user,
            f"/people/{person_id}/named-professional",
            error="Choose a named professional.",
        )
    try:
        assign(
            sessions,
            user,
            person_id=person_id,
            user_id=int(user_part),
            professional_role=kind,
            reason=reason,
        )
    except reg.RegisterNotAllowed as exc:
        raise HTTPException(status_code=403, detail=as_sentence(exc)) from None
    except UserError as exc:
        return flash.redirect_with(
            request, user, f"/people/{person_id}/named-professional", error=as_sentence(exc)
        )
    return _back_to_person(request, user, person_id, notice="Named professional recorded.")


# --- the person page ---------------------------------------------------------------------------


@router.get("/people/{person_id}", name="person_page")
def person_page(
    request: Request,
    opened: Annotated[OpenedPerson[Access], Depends(person_gate("person.page"))],
    settings: AppSettings,
    store: Store,
    # The case-finding list the user came from (?list=…), to fill in the addition's source.
    from_list: Annotated[str, Query(alias="list")] = "",
    # The list page the user came from (?from=register|worklist), for the way back.
    came_from: Annotated[str, Query(alias="from")] = "",
) -> Response:
    person, access, user, sessions = opened.person, opened.access, opened.user, opened.sessions
    person_id = person.person_id
    run = latest_run(settings)
    as_of = extract_date(store)
    record = person_record(store, person_id, as_of, run)
    facts = person_page_facts(sessions, person_id, user.user_id)
    banner_already_read(request, person_id, facts.banner)
    entry, consent = facts.banner.entry, facts.consent
    return templates.TemplateResponse(
        request,
        "care/person.html",
        {
            "page_title": "Care record",
            "person": person,
            "nhs_number": format_nhs_number(person.nhs_number),
            "age": person.age_on(as_of),
            "access": access,
            "basis_words": BASIS_WORDS.get(access.basis or "", ""),
            "expires": _expiry_text(access.break_glass_expires_at),
            "record": record,
            "entry": entry,
            "transitions": facts.transitions,
            "state_labels": reg.STATE_LABELS,
            "ended_states": reg.ENDED_STATES,
            "named": facts.banner.named,
            "team": facts.team,
            "consent": consent,
            "plan": facts.plan,
            # The care plan's own sharing rule, so the page offers only what its routes allow:
            # the gate's relationship and the consent above, neither read again.
            "plan_access": plan_access_given(
                sessions, user, access, person.practice_code, lambda: consent
            ),
            "actions": facts.actions,
            "today": dt.date.today(),
            "can_write": user.can("care.write"),
            "can_record_consent": user.can("consent.record"),
            "csrf_token": user.csrf_token,
            **flash.take(request, user),  # notice, error
            "sources": REGISTER_SOURCES,
            "from_list": from_list if from_list in {d.id for d in cf.list_definitions()} else "",
            "back": _way_back(request, came_from, from_list),
        },
    )


# --- worklist, caseloads, coverage -------------------------------------------------------------


@router.get("/care-coordination/worklist", name="care_worklist")
def worklist_page(
    request: Request, user: Viewer, sessions: Sessions, settings: AppSettings, store: Store
) -> Response:
    work = worklist(sessions, settings, user.user_id, today=dt.date.today())
    record_list_view(
        sessions,
        user,
        what="care_worklist",
        list_id="my_worklist",
        scope={"user_id": user.user_id, "today": work.today.isoformat()},
        rows=len(work.people),
        identifiable=True,
    )
    return templates.TemplateResponse(
        request,
        "care/worklist.html",
        {
            "page_title": "My worklist",
            "work": work,
            "action_groups": ACTION_GROUPS,
            "labels": PROFESSIONAL_LABELS,
            # By NHS number, as every other page names people (the person id means nothing).
            "names": list_labels(store, work.people),
            "can_see_team": user.can("worklist.team"),
        },
    )


@router.get("/care-coordination/worklist/team", name="care_team_worklist")
def team_worklist_page(
    request: Request, user: TeamLead, sessions: Sessions, store: Store
) -> Response:
    """A lead's team worklist: the open actions on their practices' people, by owner."""
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    work = team_worklist(sessions, store, practices, today=dt.date.today())
    record_list_view(
        sessions,
        user,
        what="care_team_worklist",
        list_id="team_worklist",
        scope={"user_id": user.user_id, "today": work.today.isoformat()},
        rows=len(work.people),
        identifiable=True,
    )
    return templates.TemplateResponse(
        request,
        "care/team_worklist.html",
        {
            "page_title": "Team worklist",
            "work": work,
            "totals": work.counts(work.today),
            "action_groups": ACTION_GROUPS,
            "names": list_labels(store, work.people),
            # Links to the person and the action only for those who may open them.
            "can_open": user.can("record.view"),
        },
    )


@router.get("/care-coordination/caseloads", name="care_caseloads")
def caseloads_page(
    request: Request, user: Viewer, sessions: Sessions, neighbourhood: str = ""
) -> Response:
    with sessions() as session:
        practices = user_practices(session, user.user_id)
    teams = team_caseloads(sessions, practices=practices, neighbourhood=neighbourhood or None)
    return templates.TemplateResponse(
        request,
        "care/caseloads.html",
        {"page_title": "Caseloads", "teams": teams, "ratio": IMBALANCE_RATIO},
    )


@router.get("/care-coordination/coverage", name="care_coverage")
def coverage_page(
    request: Request,
    user: AggregateViewer,
    sessions: Sessions,
    settings: AppSettings,
    store: Store,
) -> Response:
    """Coverage of each case-finding list, whole area: objectors out, counts suppressed."""
    coverage = list_coverage(
        store, sessions, run=latest_run(settings), excluding=active_objectors(sessions)
    )
    return templates.TemplateResponse(
        request,
        "care/coverage.html",
        {
            "page_title": "Coverage of the case-finding lists",
            "coverage": coverage,
            "suppress": suppress_count,
            "suppression_note": SUPPRESSION_NOTE,
        },
    )


# --- helpers -----------------------------------------------------------------------------------


def _back_to_person(
    request: Request, user: Principal, person_id: int, *, notice: str = "", error: str = ""
) -> Response:
    return flash.redirect_with(request, user, f"/people/{person_id}", notice=notice, error=error)


#: The pages a person page can be opened from (?from=…), and the words of the link back.
CAME_FROM = {
    "register": ("care_register", "Back to the register"),
    "worklist": ("care_worklist", "Back to my worklist"),
}


def _way_back(request: Request, came_from: str, from_list: str) -> tuple[str, str] | None:
    """(url, words) of the link back to the list the person page was opened from, if known."""
    if from_list in {d.id for d in cf.list_definitions()}:
        url = request.url_for("case_finding_list", list_id=from_list).path
        return url, "Back to the case-finding list"
    if came_from in CAME_FROM:
        name, words = CAME_FROM[came_from]
        return request.url_for(name).path, words
    return None
