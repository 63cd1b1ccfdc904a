"""The FHIR booking API on SQLite and PostgreSQL, through real system tokens: search, book,
409 DUPLICATE_REJECTED, read, cancel with If-Match, bad bodies, and every answer validated
against the R4B models; then the tokens themselves (expired, revoked, tampered, wrong scope)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import select

from joinedup.carestore.models import AuditEvent
from joinedup.governance.system_tokens import issue_token, revoke_token
from joinedup.governance.users import add_user
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import auth
from tests.access_support import (
    BookingWorld,
    appointment_body,
    bearer,
    booking_world,
    rota_day,
)

SPINE = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"


@pytest.fixture
def world(small_area: Settings, care_db_url: str) -> Iterator[BookingWorld]:
    made = booking_world(small_area, care_db_url)
    yield made
    made.sessions.kw["bind"].dispose()


@pytest.fixture
def client(world: BookingWorld) -> TestClient:
    return TestClient(world.app, raise_server_exceptions=True)


def _search_url(**extra: str) -> str:
    day = rota_day().isoformat()
    query = f"start=ge{day}&end=le{day}&status=free&_include=Slot:schedule"
    return "/api/fhir/Slot?" + "&".join([query, *(f"{k}={v}" for k, v in extra.items())])


def _slots(client: TestClient, token: str, **extra: str) -> list[dict[str, Any]]:
    answer = client.get(_search_url(**extra), headers=bearer(token))
    assert answer.status_code == 200, answer.text
    bundle = Bundle.model_validate(answer.json())
    return [
        e.resource.model_dump(mode="json") for e in bundle.entry or [] if e.search.mode == "match"
    ]


def _outcome(answer: httpx.Response, status: int, spine_code: str) -> OperationOutcome:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    outcome = OperationOutcome.model_validate(answer.json())
    assert outcome.issue[0].details.coding[0].system == SPINE
    assert outcome.issue[0].details.coding[0].code == spine_code
    return outcome


def _actions(world: BookingWorld) -> list[str]:
    with world.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_search_returns_a_searchset_with_its_includes(
    world: BookingWorld, client: TestClient
) -> None:
    url = _search_url() + (
        "&_include:recurse=Schedule:actor:Practitioner&_include:recurse=Schedule:actor:Location"
    )
    answer = client.get(url, headers=bearer(world.tokens["reception"]))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    bundle = Bundle.model_validate(answer.json())
    assert bundle.type == "searchset" and bundle.total == 10
    kinds = sorted(
        {e.resource.get_resource_type() for e in bundle.entry if e.search.mode == "include"}
    )
    assert kinds == ["Location", "Practitioner", "Schedule"]
    nurse = _slots(client, world.tokens["reception"], mode="telephone")
    assert len(nurse) == 4 and all(s["serviceType"][0]["text"] == "Planned Clinics" for s in nurse)
    assert _slots(client, world.tokens["reception"], hub="ELSEWHERE") == []
    # NHS 111 sees only the slots open to it (the nurse's; the GP's are not yet released).
    assert len(_slots(client, world.tokens["nhs111"])) == 4


def test_search_over_more_than_14_days_is_refused(world: BookingWorld, client: TestClient) -> None:
    day = rota_day()
    url = f"/api/fhir/Slot?start=ge{day}&end=le{day + dt.timedelta(days=14)}"
    _outcome(client.get(url, headers=bearer(world.tokens["reception"])), 422, "INVALID_PARAMETER")
    _outcome(
        client.get("/api/fhir/Slot", headers=bearer(world.tokens["reception"])),
        422,
        "INVALID_PARAMETER",
    )


def test_book_read_cancel_and_rebook(world: BookingWorld, client: TestClient) -> None:
    token = bearer(world.tokens["reception"])
    slot = _slots(client, world.tokens["reception"])[0]
    person = world.person_ids[0]
    answer = client.post(
        "/api/fhir/Appointment", json=appointment_body(slot, person), headers=token
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["etag"] == 'W/"1"' and answer.headers["cache-control"] == "no-store"
    booked = Appointment.model_validate(answer.json())
    assert booked.status == "booked" and booked.meta.versionId == "1"
    assert answer.headers["location"].endswith(f"/api/fhir/Appointment/{booked.id}")
    assert booked.contained[0].identifier[0].value == world.practice  # the booking organisation

    again = client.post(
        "/api/fhir/Appointment", json=appointment_body(slot, world.person_ids[1]), headers=token
    )
    outcome = _outcome(again, 409, "DUPLICATE_REJECTED")
    assert outcome.issue[0].code == "duplicate"

    url = f"/api/fhir/Appointment/{booked.id}"
    read = client.get(url, headers=token)
    assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
    Appointment.model_validate(read.json())

    cancelled = read.json() | {"status": "cancelled", "cancelationReason": {"text": "Unwell"}}
    _outcome(client.put(url, json=cancelled, headers=token), 428, "PRECONDITION_FAILED")
    stale = client.put(url, json=cancelled, headers=token | {"If-Match": 'W/"7"'})
    _outcome(stale, 409, "CONFLICT")
    done = client.put(url, json=cancelled, headers=token | {"If-Match": 'W/"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == 'W/"2"'
    assert Appointment.model_validate(done.json()).status == "cancelled"
    # The same cancel again, now stale: refused, nothing changes.
    _outcome(
        client.put(url, json=cancelled, headers=token | {"If-Match": 'W/"1"'}), 409, "CONFLICT"
    )

    rebooked = client.post(
        "/api/fhir/Appointment", json=appointment_body(slot, world.person_ids[1]), headers=token
    )
    assert rebooked.status_code == 201
    assert _actions(world).count("appointment.book") == 2
    assert "appointment.book_refused" in _actions(world)
    assert "appointment.cancel" in _actions(world)


@pytest.mark.parametrize(
    ("body", "status", "spine"),
    [
        (b"not json", 400, "BAD_REQUEST"),
        (b'{"resourceType": "Patient"}', 422, "INVALID_RESOURCE"),
        (b'{"resourceType": "Appointment", "status": "sleeping"}', 422, "INVALID_RESOURCE"),
    ],
)
def test_bad_bodies_get_an_operation_outcome(
    world: BookingWorld, client: TestClient, body: bytes, status: int, spine: str
) -> None:
    answer = client.post(
        "/api/fhir/Appointment",
        content=body,
        headers=bearer(world.tokens["reception"]) | {"Content-Type": "application/fhir+json"},
    )
    _outcome(answer, status, spine)


def test_booking_rules_of_gp_connect(world: BookingWorld, client: TestClient) -> None:
    token = bearer(world.tokens["reception"])
    slot = _slots(client, world.tokens["reception"])[0]
    person = world.person_ids[0]
    refusals = [
        (appointment_body(slot, person, reasonCode=[{"text": "chest pain"}]), "INVALID_RESOURCE"),
        (appointment_body(slot, person, start="2030-01-01T09:00:00+00:00"), "INVALID_RESOURCE"),
        (appointment_body(slot, person, description="x" * 101), "INVALID_RESOURCE"),
        (appointment_body(slot, person, slot=[{"reference": "Slot/999999"}]), "INVALID_RESOURCE"),
        (appointment_body(slot, 999_999_999), "INVALID_PATIENT_DEMOGRAPHICS"),  # not of the area
    ]
    for body, spine in refusals:
        _outcome(client.post("/api/fhir/Appointment", json=body, headers=token), 422, spine)
    assert "appointment.book" not in _actions(world)


def test_a_patient_of_no_practice_of_the_hubs_federation_is_refused(
    world: BookingWorld, client: TestClient, small_area: Settings
) -> None:
    """The defect: a booker could book anyone in the area. Someone not registered with a
    practice of the hub's federation (here: registered nowhere on the extract date) is refused
    with GP Connect's 403 NO_RELATIONSHIP, audited, and the slot stays free."""
    store = PopulationStore(small_area.population_dir)
    outsider = next(
        p.person_id
        for pid in range(1, 6001)
        if (p := find_person(store, pid)) is not None and p.practice_code is None
    )
    token = bearer(world.tokens["reception"])
    slot = _slots(client, world.tokens["reception"])[0]
    answer = client.post(
        "/api/fhir/Appointment", json=appointment_body(slot, outsider), headers=token
    )
    outcome = _outcome(answer, 403, "NO_RELATIONSHIP")
    assert "not registered" in (outcome.issue[0].diagnostics or "")
    assert _actions(world)[-1] == "appointment.book_refused"
    assert slot["id"] in {s["id"] for s in _slots(client, world.tokens["reception"])}


def test_a_receptionist_of_another_federation_is_refused_even_for_its_patients(
    world: BookingWorld, client: TestClient
) -> None:
    """The booker's own organisation must belong to the hub's federation too: a receptionist
    of a practice of another federation is refused 403 NO_RELATIONSHIP, audited, slot free."""
    add_user(world.sessions, "reception-other", "reception-other", "receptionist", ["P99001"])
    other, _ = issue_token(
        world.sessions, "reception-other", days=1, actor="test", actor_role="test"
    )
    slot = _slots(client, world.tokens["reception"])[0]
    answer = client.post(
        "/api/fhir/Appointment",
        json=appointment_body(slot, world.person_ids[0]),
        headers=bearer(other),
    )
    outcome = _outcome(answer, 403, "NO_RELATIONSHIP")
    assert "your organisation P99001" in (outcome.issue[0].diagnostics or "")
    assert _actions(world)[-1] == "appointment.book_refused"
    assert slot["id"] in {s["id"] for s in _slots(client, world.tokens["reception"])}


def test_nhs111_cannot_book_a_slot_not_yet_released(
    world: BookingWorld, client: TestClient
) -> None:
    reception = _slots(client, world.tokens["reception"], mode="face_to_face")
    body = appointment_body(reception[0], world.person_ids[0])
    answer = client.post("/api/fhir/Appointment", json=body, headers=bearer(world.tokens["nhs111"]))
    _outcome(answer, 409, "DUPLICATE_REJECTED")


# --- system tokens -------------------------------------------------------------------------


def _refusals(world: BookingWorld) -> list[dict[str, Any]]:
    with world.sessions() as session:
        return [
            e.detail
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "token.refused")
                .order_by(AuditEvent.id)
            )
        ]


def test_every_token_use_is_audited(world: BookingWorld, client: TestClient) -> None:
    client.get(_search_url(), headers=bearer(world.tokens["nhs111"]))
    with world.sessions() as session:
        used = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.use")).all()
    assert [(e.actor, e.detail["request"]) for e in used] == [("nhs111", "GET /api/fhir/Slot")]


def test_unknown_and_tampered_tokens_are_refused(world: BookingWorld, client: TestClient) -> None:
    good = world.tokens["reception"]
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in (tampered, "jdu_nothing", "not-even-ours"):
        answer = client.get(_search_url(), headers=bearer(token))
        assert answer.status_code == 401
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        OperationOutcome.model_validate(answer.json())
    assert [r["reason"] for r in _refusals(world)] == ["unknown token"] * 3


def test_an_expired_token_is_refused(world: BookingWorld, client: TestClient) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    auth.install(world.app, clock=lambda: later)
    answer = client.get(_search_url(), headers=bearer(world.tokens["reception"]))
    assert answer.status_code == 401
    assert [r["reason"] for r in _refusals(world)] == ["expired token"]


def test_a_revoked_token_is_refused(world: BookingWorld, client: TestClient) -> None:
    revoke_token(world.sessions, 1, actor="test", actor_role="test")  # reception's token
    answer = client.get(_search_url(), headers=bearer(world.tokens["reception"]))
    assert answer.status_code == 401
    assert [r["reason"] for r in _refusals(world)] == ["revoked token"]


def test_a_token_has_only_its_users_permissions(world: BookingWorld, client: TestClient) -> None:
    person = world.person_ids[0]
    answer = client.get(f"/api/fhir/Patient/{person}", headers=bearer(world.tokens["nhs111"]))
    _outcome(answer, 403, "ACCESS_DENIED")
    assert [r["reason"] for r in _refusals(world)] == ["outside the role's permissions"]
    # A page is not the API: a bearer header there is ignored, so it is the sign-in redirect.
    page = client.get("/", headers=bearer(world.tokens["nhs111"]), follow_redirects=False)
    assert page.status_code == 303
