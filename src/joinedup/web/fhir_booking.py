"""The FHIR booking API of extended-access hubs, with GP Connect Appointment Management semantics.

* ``GET /api/fhir/Slot?start=ge{date}&end=le{date}[&status=free][&_include=Slot:schedule]
  [&_include:recurse=Schedule:actor:Practitioner|Location][&hub=][&service-type=][&mode=]``:
  free slots the caller may book, at most 14 days; a searchset Bundle of at most the earliest
  1,000 (with a warning OperationOutcome entry when there are more).
* ``POST /api/fhir/Appointment``: book one slot (201, ``Location``, ``ETag: W/"1"``); a slot
  no longer free is 409 with the Spine code ``DUPLICATE_REJECTED``.
* ``GET /api/fhir/Appointment/{id}``: read (with its ETag).
* ``PUT /api/fhir/Appointment/{id}``: cancel, with ``If-Match: W/"n"`` naming the current
  version (missing: 428; stale: 409); only the status and the cancellation reason may change.
  Reschedule is cancel then book, as GP Connect has it.

Every body is validated with the R4B models (bad JSON or a bad resource: 400/422 with an
OperationOutcome); every answer is ``application/fhir+json`` with ``Cache-Control: no-store``.
Answers are built as validated R4B models, except the slot search, which may list a thousand
slots: it is written as JSON text from the same bodies (`fhir_out.hub_slots_json`,
`fhir_out.searchset_json`), because a thousand models take about a second and a thousand
dicts serialised one by one some thirty milliseconds; the tests validate its answers against
the R4B models.
Callers are users or system tokens with ``appointments.book``; booking and every read of an
appointment are audited. Thin routes: the work is in `joinedup.access.booking`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from fhir.resources.R4B.appointment import Appointment
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from joinedup.access.booking import (
    Booker,
    BookingError,
    NotCancellable,
    NotFound,
    OutsideFederation,
    SearchRangeError,
    SlotUnavailable,
    VersionMismatch,
    book,
    booker_for,
    cancel,
    get_appointment,
    get_slot,
    search_free_slots,
)
from joinedup.access.rota import LOCAL_ZONE
from joinedup.governance.audit import record_view
from joinedup.governance.roles import Principal
from joinedup.interop import fhir_out
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import AppointmentBooker, Sessions, Store

FHIR_JSON = "application/fhir+json"
NO_STORE = {"Cache-Control": "no-store"}
FHIR_PREFIX = "/api/fhir/"
#: The most free slots one search lists (earliest first); more are flagged with a warning.
MAX_SLOTS = 1000

router = APIRouter(prefix="/api/fhir", tags=["FHIR R4 booking"])

#: An appointment's id: a positive 64-bit integer (anything larger cannot be one of ours).
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class FhirProblem(Exception):
    """A request the API answers with an OperationOutcome."""

    def __init__(self, status: int, code: str, spine_code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.spine_code, self.text = status, code, spine_code, text


def _fhir(resource: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        resource.model_dump_json(exclude_none=True),
        status_code=status_code,
        media_type=FHIR_JSON,
        headers=NO_STORE | (headers or {}),
    )


def outcome_response(
    status: int, code: str, spine_code: str, text: str, headers: dict[str, str] | None = None
) -> Response:
    """An error as GP Connect answers it: an OperationOutcome with the Spine error code."""
    return _fhir(fhir_out.operation_outcome(code, spine_code, text), status, headers)


#: HTTP status → (FHIR issue type, Spine error code) for errors raised outside the routes.
_HTTP_ERRORS = {
    400: ("invalid", "BAD_REQUEST"),
    401: ("login", "NO_RELATIONSHIP"),
    403: ("forbidden", "ACCESS_DENIED"),
    404: ("not-found", "NO_RECORD_FOUND"),
    405: ("not-supported", "BAD_REQUEST"),
    422: ("invalid", "INVALID_PARAMETER"),
}


def is_fhir_request(request: Request) -> bool:
    """A request to the FHIR API: under /api/fhir/, or to its base (a transaction Bundle)."""
    path = request.url.path
    return path.startswith(FHIR_PREFIX) or path == FHIR_PREFIX.rstrip("/")


def http_error_outcome(status: int, text: str, headers: Mapping[str, str] | None) -> Response:
    """An HTTPException on a FHIR route (sign-in, permission, unknown route) as an outcome."""
    code, spine = _HTTP_ERRORS.get(status, ("exception", "INTERNAL_SERVER_ERROR"))
    if status == 401:
        code, spine = "login", "BAD_REQUEST"
    return outcome_response(status, code, spine, text, dict(headers or {}))


# --- Slot search -----------------------------------------------------------------------------


@router.get("/Slot", name="fhir_slot_search", response_class=Response)
def slot_search(request: Request, user: AppointmentBooker, sessions: Sessions) -> Response:
    """Free slots the caller may book within at most 14 days, as a searchset Bundle."""
    params = request.query_params
    try:
        start = _search_instant(params.getlist("start"), "ge")
        end = _search_instant(params.getlist("end"), "le")
        if params.get("status", "free") != "free":
            raise FhirProblem(422, "invalid", "INVALID_PARAMETER", "only status=free is searched")
        slots = search_free_slots(
            sessions,
            kind=booker_for(user).kind,
            start=start,
            end=end,
            hubs=[h for v in params.getlist("hub") for h in v.split(",") if h],
            category=params.get("service-type") or None,
            mode=params.get("mode") or None,
            limit=MAX_SLOTS + 1,
        )
    except FhirProblem as problem:
        return outcome_response(problem.status, problem.code, problem.spine_code, problem.text)
    except SearchRangeError as exc:
        return outcome_response(422, "invalid", "INVALID_PARAMETER", str(exc))
    except BookingError as exc:
        return outcome_response(403, "forbidden", "ACCESS_DENIED", str(exc))
    warnings = []
    if len(slots) > MAX_SLOTS:
        slots = slots[:MAX_SLOTS]
        warning = fhir_out.operation_outcome(
            "too-costly",
            "INVALID_PARAMETER",
            f"only the earliest {MAX_SLOTS} free slots are listed: narrow the dates or "
            "search by hub, service type or mode",
            severity="warning",
        )
        warnings.append(warning.model_dump(mode="json", exclude_none=True))
    base = str(request.base_url).rstrip("/") + FHIR_PREFIX
    found = fhir_out.hub_slots_json(slots)
    body = fhir_out.searchset_json(base, found, _included(params, slots), warnings)
    return Response(body, media_type=FHIR_JSON, headers=NO_STORE)


_SEARCH_VALUE = re.compile(r"^(ge|le|gt|lt|eq)?(.+)$")


def _search_instant(values: list[str], prefix: str) -> dt.datetime:
    """``start=ge2026-12-07`` or ``end=le2026-12-20T20:00:00Z`` as an instant; a date means
    the start (``ge``) or the end (``le``) of that local day."""
    name = "start" if prefix == "ge" else "end"
    if len(values) != 1:
        raise FhirProblem(
            422, "required", "INVALID_PARAMETER", f"give {name}={prefix}<date> exactly once"
        )
    match = _SEARCH_VALUE.match(values[0])
    assert match is not None
    given, text = match.group(1) or "eq", match.group(2)
    if given != prefix:
        raise FhirProblem(
            422, "invalid", "INVALID_PARAMETER", f"{name} takes the prefix {prefix}, not {given}"
        )
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=0 if prefix == "ge" else 1)
            return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FhirProblem(
            422, "invalid", "INVALID_PARAMETER", f"{name} is not a date or a date-time"
        ) from None
    if instant.tzinfo is None:
        raise FhirProblem(422, "invalid", "INVALID_PARAMETER", f"{name} needs a time zone")
    return instant.astimezone(dt.UTC)


def _included(params: Any, slots: list[Any]) -> list[dict[str, Any]]:
    """The resources `_include` asks for: each slot's Schedule, and (recursively) its
    Practitioner and Location, once each."""
    includes = set(params.getlist("_include")) | set(params.getlist("_include:recurse"))
    makers: list[Callable[[Any], dict[str, Any]]] = []
    if "Slot:schedule" in includes:
        makers.append(fhir_out.hub_schedule_body)
        if "Schedule:actor:Practitioner" in includes:
            makers.append(fhir_out.hub_practitioner_body)
        if "Schedule:actor:Location" in includes:
            makers.append(fhir_out.hub_location_body)
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    sessions = {slot.session_id: slot for slot in slots}  # a session's slots share all three
    for slot in sessions.values():
        for make in makers:
            resource = make(slot)
            seen.setdefault((resource["resourceType"], resource["id"]), resource)
    return list(seen.values())


# --- Appointment ------------------------------------------------------------------------------


@router.post("/Appointment", name="fhir_appointment_book", response_class=Response)
async def appointment_book(
    request: Request, user: AppointmentBooker, sessions: Sessions, store: Store
) -> Response:
    """Book one slot for a patient: 201 with the appointment, or 409 DUPLICATE_REJECTED."""
    try:
        resource = _appointment_body(await request.body())
        asked = _booking_request(resource)
    except FhirProblem as problem:
        return outcome_response(problem.status, problem.code, problem.spine_code, problem.text)
    return await _run(_book, request, user, sessions, store, asked)


async def _run(function: Any, *args: Any) -> Response:
    """The blocking booking work, off the event loop."""
    result: Response = await run_in_threadpool(function, *args)
    return result


def _book(
    request: Request,
    user: Principal,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    asked: dict[str, Any],
) -> Response:
    try:
        booker = booker_for(user, asked["organisation"])
        patient = find_person(store, asked["person_id"])
        if patient is None:
            raise FhirProblem(
                422, "invalid", "INVALID_PATIENT_DEMOGRAPHICS", "there is no such patient"
            )
        slot = get_slot(sessions, asked["slot_id"])
        _same_times(asked, slot.starts_at, slot.ends_at)
        booked = book(
            sessions,
            booker,
            slot_id=slot.id,
            person_id=asked["person_id"],
            registered_practice=patient.practice_code,
            description=asked["description"],
            comment=asked["comment"],
        )
    except FhirProblem as problem:
        return outcome_response(problem.status, problem.code, problem.spine_code, problem.text)
    except SlotUnavailable as exc:
        return outcome_response(409, "duplicate", "DUPLICATE_REJECTED", str(exc))
    except OutsideFederation as exc:  # GP Connect: no relationship between booker and patient
        return outcome_response(403, "forbidden", "NO_RELATIONSHIP", str(exc))
    except NotFound as exc:
        return outcome_response(422, "invalid", "INVALID_RESOURCE", str(exc))
    except BookingError as exc:
        return outcome_response(422, "invalid", "INVALID_RESOURCE", str(exc))
    location = str(request.url_for("fhir_appointment_read", appointment_id=booked.id))
    return _fhir(
        fhir_out.hub_appointment(booked),
        201,
        {"Location": location, "ETag": _etag(booked.version)},
    )


@router.get("/Appointment/{appointment_id}", name="fhir_appointment_read", response_class=Response)
def appointment_read(
    appointment_id: AppointmentId, user: AppointmentBooker, sessions: Sessions
) -> Response:
    """One appointment, with its version as the ETag."""
    try:
        found = get_appointment(sessions, appointment_id)
    except NotFound as exc:
        return outcome_response(404, "not-found", "NO_RECORD_FOUND", str(exc))
    record_view(sessions, user, person_id=found.person_id, what="appointment")
    return _fhir(fhir_out.hub_appointment(found), headers={"ETag": _etag(found.version)})


@router.put(
    "/Appointment/{appointment_id}", name="fhir_appointment_cancel", response_class=Response
)
async def appointment_cancel(
    request: Request, appointment_id: AppointmentId, user: AppointmentBooker, sessions: Sessions
) -> Response:
    """Cancel: the body is the appointment with status cancelled; If-Match its version."""
    try:
        version = _if_match(request.headers.get("if-match"))
        resource = _appointment_body(await request.body())
    except FhirProblem as problem:
        return outcome_response(problem.status, problem.code, problem.spine_code, problem.text)
    return await _run(_cancel, user, sessions, appointment_id, version, resource)


def _cancel(
    user: Principal,
    sessions: sessionmaker[Session],
    appointment_id: int,
    version: int,
    resource: Appointment,
) -> Response:
    try:
        booker: Booker = booker_for(user)
        current = get_appointment(sessions, appointment_id)
        _only_cancellation(resource, current)
        reason = resource.cancelationReason.text if resource.cancelationReason else None
        cancelled = cancel(sessions, booker, appointment_id, version=version, reason=reason)
    except FhirProblem as problem:
        return outcome_response(problem.status, problem.code, problem.spine_code, problem.text)
    except NotFound as exc:
        return outcome_response(404, "not-found", "NO_RECORD_FOUND", str(exc))
    except VersionMismatch as exc:
        return outcome_response(409, "conflict", "CONFLICT", str(exc))
    except NotCancellable as exc:
        return outcome_response(409, "business-rule", "INVALID_RESOURCE", str(exc))
    except BookingError as exc:
        return outcome_response(422, "invalid", "INVALID_RESOURCE", str(exc))
    return _fhir(fhir_out.hub_appointment(cancelled), headers={"ETag": _etag(cancelled.version)})


# --- reading what was sent --------------------------------------------------------------------


def _etag(version: int) -> str:
    return f'W/"{version}"'


_IF_MATCH = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def _if_match(header: str | None) -> int:
    if not header:
        raise FhirProblem(
            428, "required", "PRECONDITION_FAILED", 'send If-Match: W/"<version>" to cancel'
        )
    match = _IF_MATCH.match(header.strip())
    if match is None:
        raise FhirProblem(400, "invalid", "BAD_REQUEST", 'If-Match must look like W/"3"')
    return int(match.group(1))


def _appointment_body(raw: bytes) -> Appointment:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FhirProblem(400, "invalid", "BAD_REQUEST", "the body is not JSON") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise FhirProblem(422, "invalid", "INVALID_RESOURCE", "the body is not an Appointment")
    try:
        return Appointment.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise FhirProblem(
            422, "invalid", "INVALID_RESOURCE", f"not a valid R4 Appointment: {where}"
        ) from None


def _reference_id(reference: str | None, kind: str) -> int | None:
    match = re.fullmatch(rf"(?:.*/)?{kind}/(\d{{1,18}})", reference or "")
    return int(match.group(1)) if match else None


def _booking_request(resource: Appointment) -> dict[str, Any]:
    """What a booking asks for, checked against GP Connect's rules for the book body."""
    if resource.status != "booked":
        raise _invalid("a new appointment must have status booked")
    if resource.reasonCode or resource.reasonReference:
        raise _invalid("reason must not be used: a booking carries no clinical detail")
    slots = [_reference_id(s.reference, "Slot") for s in resource.slot or []]
    if len(slots) != 1 or slots[0] is None:
        raise _invalid("book exactly one slot, referenced as Slot/<id>")
    people = [
        pid
        for p in resource.participant or []
        if p.actor and (pid := _reference_id(p.actor.reference, "Patient")) is not None
    ]
    if len(people) != 1:
        raise _invalid("name exactly one patient participant, referenced as Patient/<id>")
    if resource.start is None or resource.end is None:
        raise _invalid("give the start and end of the slot")
    return {
        "slot_id": slots[0],
        "person_id": people[0],
        "start": resource.start,
        "end": resource.end,
        "description": resource.description,
        "comment": resource.comment,
        "organisation": _booking_organisation(resource),
    }


def _booking_organisation(resource: Appointment) -> str | None:
    """The ODS code of the contained booking organisation, if the body names one."""
    for contained in resource.contained or []:
        if contained.get_resource_type() == "Organization":
            for identifier in getattr(contained, "identifier", None) or []:
                if identifier.system == fhir_out.ODS_SYSTEM and identifier.value:
                    return str(identifier.value).upper()
    return None


def _same_times(asked: dict[str, Any], start: dt.datetime, end: dt.datetime) -> None:
    if (asked["start"], asked["end"]) != (start, end):
        raise _invalid("start and end must be those of the slot")
    if asked["description"] and len(asked["description"]) > 100:
        raise _invalid("description is at most 100 characters")
    if asked["comment"] and len(asked["comment"]) > 500:
        raise _invalid("comment is at most 500 characters")


def _only_cancellation(resource: Appointment, current: Any) -> None:
    """GP Connect: a cancel changes the status and the reason, nothing else."""
    if resource.status != "cancelled":
        raise _invalid("to cancel, send the appointment with status cancelled")
    if resource.id is not None and resource.id != str(current.id):
        raise _invalid("the body's id is not the appointment's")
    slots = [_reference_id(s.reference, "Slot") for s in resource.slot or []]
    if slots and slots != [current.slot.id]:
        raise _invalid("only the status and cancellation reason may change")
    if resource.start and resource.start != current.slot.starts_at:
        raise _invalid("only the status and cancellation reason may change")


def _invalid(text: str) -> FhirProblem:
    return FhirProblem(422, "invalid", "INVALID_RESOURCE", text)
