"""Device readings into the virtual ward over the FHIR API (issue 15; ADR 0033).

* ``POST /api/fhir/Observation`` — one Observation (``application/fhir+json``), or bulk NDJSON,
  one Observation a line (``application/fhir+ndjson``): 201 with an OperationOutcome saying what
  was stored;
* ``POST /api/fhir`` — a transaction or batch Bundle of Observations to create: 200 with the
  ``transaction-response`` / ``batch-response`` Bundle, one entry per entry sent.

All or nothing: if any record is refused — a body that is not JSON (400), an Observation R4B
refuses, a code, unit or value that is not a reading, a person not on a ward or outside the
sender's relationships (422) — nothing is stored and the OperationOutcome lists every rejected
record with its reason. Callers: those who run a ward (``ward.use``) and device platforms'
system tokens (``ward.readings.send``). The work is `neighbourhood.ward_feed` (the same reading
and ingest as ``joinedup ward ingest``), audited there as one event with counts; answers are built
by `interop.fhir_readings`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from joinedup.governance.roles import Principal
from joinedup.interop import fhir_readings
from joinedup.neighbourhood import ward_feed
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import ReadingSender, Sessions, Store
from joinedup.web.fhir_booking import FHIR_JSON, NO_STORE, outcome_response

router = APIRouter(prefix="/api/fhir", tags=["FHIR R4 virtual ward"])

NDJSON_TYPES = ("application/fhir+ndjson", "application/ndjson", "application/x-ndjson")
JSON_TYPES = ("application/fhir+json", "application/json")
#: The largest body taken at once (about 100,000 readings); larger feeds are split.
MAX_BYTES = 64 * 1024 * 1024


@router.post("/Observation", name="fhir_observation_create", response_class=Response)
async def observation_create(
    request: Request, user: ReadingSender, sessions: Sessions, store: Store
) -> Response:
    """One device Observation, or many as NDJSON, recorded into the person's virtual ward."""
    media = _media_type(request)
    if media not in NDJSON_TYPES + JSON_TYPES:
        return _unsupported(media)
    kind: ward_feed.Body = "ndjson" if media in NDJSON_TYPES else "observation"
    body = await _body(request)
    if isinstance(body, Response):
        return body
    return await run_in_threadpool(_receive, user, sessions, store, body, kind)


@router.post("", name="fhir_transaction", response_class=Response)
async def transaction(
    request: Request, user: ReadingSender, sessions: Sessions, store: Store
) -> Response:
    """A transaction or batch Bundle of device Observations, recorded whole or not at all."""
    media = _media_type(request)
    if media not in JSON_TYPES:
        return _unsupported(media)
    body = await _body(request)
    if isinstance(body, Response):
        return body
    return await run_in_threadpool(_receive, user, sessions, store, body, "bundle")


def _receive(
    user: Principal,
    sessions: sessionmaker[Session],
    store: PopulationStore,
    body: bytes,
    kind: ward_feed.Body,
) -> Response:
    result = ward_feed.receive(sessions, store, user, body, kind)
    if not result.stored:
        status = 400 if result.unparseable else 422
        return _answer(fhir_readings.feed_outcome(result), status)
    if kind == "bundle":
        return _answer(fhir_readings.feed_bundle_response(result), 200)
    return _answer(fhir_readings.feed_outcome(result), 201)


def _answer(resource: object, status: int) -> Response:
    return Response(
        resource.model_dump_json(exclude_none=True),  # type: ignore[attr-defined]
        status_code=status,
        media_type=FHIR_JSON,
        headers=NO_STORE,
    )


def _media_type(request: Request) -> str:
    """The body's media type; a body sent without one is read as FHIR JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media or JSON_TYPES[0]


def _unsupported(media: str) -> Response:
    return outcome_response(
        415,
        "not-supported",
        "BAD_REQUEST",
        f"content type {media!r} is not taken here: send application/fhir+json "
        "(an Observation, or a Bundle to the base) or application/fhir+ndjson",
    )


async def _body(request: Request) -> bytes | Response:
    """The request's body, or a 413 answer when it is larger than `MAX_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        return _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            return _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> Response:
    return outcome_response(
        413,
        "too-costly",
        "BAD_REQUEST",
        f"the body is larger than {MAX_BYTES // (1024 * 1024)} MB: send the readings in parts",
    )
