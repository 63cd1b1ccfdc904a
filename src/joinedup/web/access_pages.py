"""Extended-access pages: hubs, a hub's day, booking for a patient, and the PCN week.

* ``/access`` — the hubs (to bookers) and the way to the receptionist's search and, for those
  who see aggregates, the week's Enhanced Access compliance;
* ``/access/hubs/{hub_code}?day=`` — the hub's day: sessions, slots, who is booked, DNAs
  (people by the light identity; audited as a list view);
* ``/access/patients`` — the receptionist's search (NHS number, or name and date of birth)
  among the registered patients of their federation, audited;
* ``/access/patients/{person_id}`` — book, cancel and rebook for one patient, seen only by the
  light identity (name, date of birth, NHS number, practice), continuity first for people on
  the register or with long-term conditions; the patient banner links here;
* ``/access/compliance?week=`` — each PCN's week against the Enhanced Access requirement.

Thin routes: the work is in `joinedup.access` (`reception`, `hub_day`, `compliance`,
`booking`). Writes redirect (303) with a one-shot flash message.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.access import booking as service
from joinedup.access.compliance import REQUIRED_MINUTES_PER_1000, compliance_week, week_of
from joinedup.access.hub_day import hub_day, list_hubs
from joinedup.access.hub_measures import DnaCount, HubUse, hub_measures
from joinedup.access.hub_population import hub_share_by_practice
from joinedup.access.reception import (
    OFFER_DAYS,
    NotOurPatient,
    find_patients,
    offers,
    patient_for_booking,
    upcoming_appointments,
)
from joinedup.access.rota import LOCAL_ZONE, local_instant
from joinedup.care.person_record import has_long_term_condition
from joinedup.care.register import OPEN_STATES, entry_for_person
from joinedup.governance.audit import record_list_view
from joinedup.governance.objections import active_objectors
from joinedup.governance.person_search import SearchError, person_query
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count, suppressed_share
from joinedup.population.reads import extract_date, organisation_names, person_labels
from joinedup.web import flash
from joinedup.web.date_input import PARTS, typed_date
from joinedup.web.dependencies import (
    PAGES_ONLY_FOR_SERVICE_USERS,
    AccessUser,
    AggregateViewer,
    AppointmentBooker,
    Sessions,
    Store,
)
from joinedup.web.formatting import as_sentence
from joinedup.web.person_search import read_date_of_birth
from joinedup.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[PAGES_ONLY_FOR_SERVICE_USERS],
)


def _page(request: Request, name: str, user: Principal, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"csrf_token": user.csrf_token, **flash.take(request, user), **context}
    )


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(LOCAL_ZONE).date()


@router.get("/access", name="access")
def access_page(request: Request, user: AccessUser, sessions: Sessions, store: Store) -> Response:
    can_book = user.can("appointments.book")
    return _page(
        request,
        "access/index.html",
        user,
        hubs=list_hubs(sessions) if can_book else [],
        names=organisation_names(store),
        can_book=can_book,
        can_see_compliance=user.can("population.view_aggregates"),
        today=_today(),
    )


@router.get("/access/hubs/{hub_code}", name="access_hub_day")
def hub_day_page(
    request: Request,
    hub_code: str,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    day: Annotated[dt.date | None, Query()] = None,
) -> Response:
    day = day or _today()
    try:
        found = hub_day(sessions, hub_code, day)
    except service.NotFound:
        raise HTTPException(status_code=404, detail="There is no hub with that code.") from None
    labels = person_labels(store, found.person_ids, day) if found.person_ids else {}
    record_list_view(
        sessions,
        user,
        what="hub_day",
        list_id=hub_code,
        scope={"day": day.isoformat()},
        rows=len(labels),
        identifiable=True,
    )
    return _page(
        request,
        "access/hub_day.html",
        user,
        found=found,
        labels=labels,
        day=day,
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1),
        now=dt.datetime.now(dt.UTC),
    )


@router.get("/access/patients", name="access_patients")
def patients_page(
    request: Request,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    nhs_number: str = "",
    family_name: str = "",
) -> Response:
    dob = {f"dob-{part}": request.query_params.get(f"dob-{part}", "") for part in PARTS}
    form = {"nhs_number": nhs_number, "family_name": family_name, **dob}
    asked = any(value.strip() for value in form.values())
    context: dict[str, Any] = {"form": form, "error": "", "error_field": "nhs-number"}
    context["typed_dob"] = typed_date(form, "dob")
    if asked:
        try:
            born = read_date_of_birth(form)
            query = person_query(family_name=family_name, date_of_birth=born, nhs_number=nhs_number)
            context["people"], context["more"] = find_patients(sessions, store, user, query)
        except SearchError as exc:
            field = exc.field if exc.field.startswith("dob-") else exc.field.replace("_", "-")
            context["error"], context["error_field"] = str(exc), field
    page = _page(request, "access/patients.html", user, asked=asked, **context)
    page.status_code = 400 if context["error"] else 200
    return page


@router.get("/access/patients/{person_id}", name="access_patient")
def patient_page(
    request: Request, person_id: int, user: AppointmentBooker, sessions: Sessions, store: Store
) -> Response:
    try:
        patient = patient_for_booking(sessions, store, user, person_id)
    except NotOurPatient as exc:
        raise HTTPException(status_code=404, detail=str(exc).capitalize() + ".") from None
    now = dt.datetime.now(dt.UTC)
    offered = offers(
        sessions,
        patient,
        continuity_first=_continuity_first(sessions, store, person_id),
        start=now,
        end=now + dt.timedelta(days=OFFER_DAYS),
    )
    return _page(
        request,
        "access/patient.html",
        user,
        patient=patient,
        appointments=upcoming_appointments(sessions, person_id, now),
        offers=offered,
    )


def _continuity_first(sessions: Any, store: Any, person_id: int) -> bool:
    """People on the register or with a long-term condition see their usual clinician first."""
    entry = entry_for_person(sessions, person_id)
    if entry is not None and entry.status in OPEN_STATES:
        return True
    return has_long_term_condition(store, person_id, extract_date(store))


@router.post("/access/patients/{person_id}/appointments", name="access_book")
def book_appointment(
    request: Request,
    person_id: int,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    slot_id: Annotated[int, Form()],
) -> Response:
    back = request.url_for("access_patient", person_id=person_id).path
    try:
        patient = patient_for_booking(sessions, store, user, person_id)
        booked = service.book(
            sessions,
            service.booker_for(user),
            slot_id=slot_id,
            person_id=person_id,
            registered_practice=patient.practice_code,
        )
    except NotOurPatient as exc:
        raise HTTPException(status_code=404, detail=str(exc).capitalize() + ".") from None
    except service.BookingError as exc:
        return flash.redirect_with(request, user, back, error=as_sentence(exc))
    return flash.redirect_with(request, user, back, notice=f"Booked: {_when(booked.slot)}.")


@router.post("/access/appointments/{appointment_id}/cancel", name="access_cancel")
def cancel_appointment(
    request: Request,
    appointment_id: int,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    current = _appointment(sessions, store, user, appointment_id)
    back = request.url_for("access_patient", person_id=current.person_id).path
    try:
        service.cancel(
            sessions,
            service.booker_for(user),
            appointment_id,
            version=version,
            reason=reason.strip()[:500] or None,
        )
    except service.BookingError as exc:
        return flash.redirect_with(request, user, back, error=as_sentence(exc))
    return flash.redirect_with(request, user, back, notice=f"Cancelled: {_when(current.slot)}.")


@router.post("/access/appointments/{appointment_id}/rebook", name="access_rebook")
def rebook_appointment(
    request: Request,
    appointment_id: int,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    version: Annotated[int, Form()],
    slot_id: Annotated[int, Form()],
) -> Response:
    current = _appointment(sessions, store, user, appointment_id)
    back = request.url_for("access_patient", person_id=current.person_id).path
    patient = patient_for_booking(sessions, store, user, current.person_id)
    try:
        moved = service.reschedule(
            sessions,
            service.booker_for(user),
            appointment_id,
            version=version,
            new_slot_id=slot_id,
            registered_practice=patient.practice_code,
            reason="Rebooked",
        )
    except service.BookingError as exc:
        return flash.redirect_with(request, user, back, error=as_sentence(exc))
    return flash.redirect_with(request, user, back, notice=f"Moved to {_when(moved.slot)}.")


@router.post("/access/appointments/{appointment_id}/outcome", name="access_outcome")
def record_outcome(
    request: Request,
    appointment_id: int,
    user: AppointmentBooker,
    sessions: Sessions,
    store: Store,
    version: Annotated[int, Form()],
    outcome: Annotated[str, Form()],
) -> Response:
    """Attended or did not attend, from the hub's day (the service refuses a slot not yet due)."""
    current = _appointment(sessions, store, user, appointment_id)
    local_day = current.slot.starts_at.astimezone(LOCAL_ZONE).date()
    back = request.url_for("access_hub_day", hub_code=current.slot.hub_code).path
    back += f"?day={local_day.isoformat()}"
    try:
        service.record_outcome(
            sessions, service.booker_for(user), appointment_id, version=version, outcome=outcome
        )
    except service.BookingError as exc:
        return flash.redirect_with(request, user, back, error=as_sentence(exc))
    said = "attended" if outcome == "attended" else "did not attend"
    return flash.redirect_with(
        request, user, back, notice=f"Recorded: {_when(current.slot)}, {said}."
    )


def _appointment(
    sessions: Any, store: Any, user: Principal, appointment_id: int
) -> service.AppointmentView:
    """The appointment, if it is of a patient of the user's federation (else not found)."""
    try:
        found = service.get_appointment(sessions, appointment_id)
        patient_for_booking(sessions, store, user, found.person_id)
    except (service.NotFound, NotOurPatient):
        raise HTTPException(status_code=404, detail="There is no such appointment.") from None
    return found


def _when(slot: service.SlotView) -> str:
    local = slot.starts_at.astimezone(LOCAL_ZONE)
    return (
        f"{local:%H:%M} on {local.day} {local:%B %Y} at {slot.hub_name} with {slot.clinician_name}"
    )


def _published_use(hub: HubUse) -> dict[str, Any]:
    """A hub's use as it may be shown: counts suppressed, shares from the published counts."""
    return {
        "code": hub.hub_code,
        "name": hub.hub_name,
        "offered": suppress_count(hub.offered),
        "fill_rate": suppressed_share(hub.booked, hub.offered),
        "same_day": suppressed_share(hub.booked_same_day, hub.booked),
        "utilisation": suppressed_share(hub.attended, hub.past),
        "dna_rate": suppressed_share(hub.dna, hub.with_outcome),
        "third_next_available_days": hub.third_next_available_days,
    }


def _published_dna(group: DnaCount) -> dict[str, Any]:
    return {
        "group": group.group.replace("_", " "),
        "with_outcome": suppress_count(group.with_outcome),
        "dna_rate": suppressed_share(group.dna, group.with_outcome),
    }


def _published_practice_shares(sessions: Any, store: Any) -> list[dict[str, Any]]:
    """Each practice's hub appointments in the year to the extract date (objectors left out,
    counts suppressed) and its shares of hub use and of the list."""
    names = organisation_names(store)
    shares = hub_share_by_practice(
        store, as_of=extract_date(store), excluding=active_objectors(sessions)
    )
    hub_total = sum(s.hub_appointments for s in shares)
    return [
        {
            "code": s.practice_code,
            "name": names.get(s.practice_code, s.practice_code),
            "hub_appointments": suppress_count(s.hub_appointments),
            "hub_share": suppressed_share(s.hub_appointments, hub_total),
            "list_share": s.list_share,
        }
        for s in shares
    ]


@router.get("/access/compliance", name="access_compliance")
def compliance_page(
    request: Request,
    user: AggregateViewer,
    sessions: Sessions,
    store: Store,
    week: Annotated[dt.date | None, Query()] = None,
) -> Response:
    monday = week_of(week or _today())
    start = local_instant(monday, dt.time())
    end, now = start + dt.timedelta(days=7), dt.datetime.now(dt.UTC)
    use = hub_measures(sessions, start, end, now, store=store)
    return _page(
        request,
        "access/compliance.html",
        user,
        rows=compliance_week(sessions, store, monday),
        hubs=[_published_use(h) for h in use.hubs],
        dna_groups=[
            ("GPAD category", [_published_dna(c) for c in use.dna_by_category]),
            ("Mode", [_published_dna(c) for c in use.dna_by_mode]),
            ("Deprivation quintile", [_published_dna(c) for c in use.dna_by_deprivation]),
        ],
        suppression_note=SUPPRESSION_NOTE,
        practices=_published_practice_shares(sessions, store),
        week=monday,
        week_end=monday + dt.timedelta(days=6),
        previous_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        required=REQUIRED_MINUTES_PER_1000,
    )
