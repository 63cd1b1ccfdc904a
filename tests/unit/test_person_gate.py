"""The person gate itself (`joinedup.web.person_gate`), on a route of its own in the real app:
unknown person → the one not-found page; no relationship → the one refusal page, offering
break-glass only to roles that may; allowed → the view audited before the route renders;
``Cache-Control: no-store`` on every answer; the FHIR rendering and a domain's own rule."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import Access
from joinedup.governance.roles import Principal
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import PersonIdentity, find_person, registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.app_state import get_sessions
from joinedup.web.person_gate import (
    FHIR_ANSWERS,
    OpenedPerson,
    Verdict,
    person_gate,
    relationship_rule,
)
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import migrated

UNKNOWN = 987_654_321


def _consent_needed(
    request: Request, sessions: sessionmaker[Session], user: Principal, person: PersonIdentity
) -> Verdict[Access]:
    """A stricter domain rule: the relationship, and then a (never given) consent."""
    verdict = relationship_rule(request, sessions, user, person)
    return (
        Verdict(False, verdict.access, verdict.basis, "no_consent") if verdict.allowed else verdict
    )


def _test_routes() -> APIRouter:
    router = APIRouter()

    def audited_so_far(request: Request, person_id: int) -> int:
        with get_sessions(request)() as session:
            return len(
                session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.person_id == person_id, AuditEvent.action == "view.gate.test"
                    )
                ).all()
            )

    @router.get("/people/{person_id}/gate-test")
    def page(
        request: Request,
        opened: Annotated[OpenedPerson[Access], Depends(person_gate("gate.test"))],
    ) -> Response:
        # What this route could render: the audit trail already holds the view.
        return JSONResponse(
            {
                "audited_before_render": audited_so_far(request, opened.person_id),
                "basis": opened.basis,
                "nhs_number": opened.person.nhs_number,
            }
        )

    @router.get("/api/people/{person_id}/gate-test")
    def fhir(
        opened: Annotated[
            OpenedPerson[Access], Depends(person_gate("gate.fhir", answers=FHIR_ANSWERS))
        ],
    ) -> Response:
        return JSONResponse({"id": opened.person_id})

    @router.get("/people/{person_id}/gate-test-consent")
    def stricter(
        opened: Annotated[
            OpenedPerson[Access],
            Depends(person_gate("gate.consent", rule=_consent_needed, subject="care plan")),
        ],
    ) -> Response:
        return JSONResponse({"id": opened.person_id})

    return router


@pytest.fixture(scope="module")
def world(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('person-gate') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    person = find_person(store, int(registered_person_ids(store)[0]))
    assert person is not None and person.practice_code is not None
    app = create_app(Settings(home=small_area.home, database_url=url))
    app.include_router(_test_routes())
    users = {}
    with sessions() as session, session.begin():
        for name, role, org in [
            ("gp-here", "gp", person.practice_code),
            ("gp-elsewhere", "gp", None),
            ("link-worker-elsewhere", "link_worker", None),
        ]:
            user = User(
                username=name,
                display_name=name,
                role=role,
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(user)
            session.flush()
            if org:
                session.add(UserOrganisation(user_id=user.id, org_code=org))
            users[name] = principal(role, user_id=user.id, username=name)
    return {"app": app, "sessions": sessions, "person": person, "users": users}


def _client(world: dict[str, Any], who: str) -> TestClient:
    app: FastAPI = world["app"]
    sign_in_as(app, world["users"][who])
    return TestClient(app)


def _views(world: dict[str, Any], person_id: int) -> list[AuditEvent]:
    with world["sessions"]() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.person_id == person_id)).all()
        )


def test_an_unknown_person_gets_the_one_not_found_page(world: dict[str, Any]) -> None:
    answer = _client(world, "gp-here").get(f"/people/{UNKNOWN}/gate-test")
    assert answer.status_code == 404
    assert 'id="person-not-found"' in answer.text
    assert "There is no person with that number." in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert _views(world, UNKNOWN) == []


@pytest.mark.parametrize(
    ("who", "offered"), [("gp-elsewhere", True), ("link-worker-elsewhere", False)]
)
def test_no_relationship_gets_the_one_refusal_with_break_glass_only_where_allowed(
    world: dict[str, Any], who: str, offered: bool
) -> None:
    person: PersonIdentity = world["person"]
    before = len(_views(world, person.person_id))
    answer = _client(world, who).get(f"/people/{person.person_id}/gate-test")
    assert answer.status_code == 403
    assert 'id="access-refused"' in answer.text and 'data-refusal="no_relationship"' in answer.text
    assert ('id="break-glass-link"' in answer.text) is offered
    assert (f'href="/people/{person.person_id}/break-glass"' in answer.text) is offered
    assert person.nhs_number not in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert len(_views(world, person.person_id)) == before  # nothing seen, nothing audited


def test_an_allowed_view_is_audited_before_the_route_renders(world: dict[str, Any]) -> None:
    person: PersonIdentity = world["person"]
    answer = _client(world, "gp-here").get(f"/people/{person.person_id}/gate-test")
    assert answer.status_code == 200
    body = answer.json()
    assert body["audited_before_render"] == 1
    assert (body["basis"], body["nhs_number"]) == ("organisation", person.nhs_number)
    assert answer.headers["cache-control"] == "no-store"
    (event,) = [e for e in _views(world, person.person_id) if e.action == "view.gate.test"]
    assert event.actor == world["users"]["gp-here"].actor
    assert event.detail == {"basis": "organisation"}


def test_the_fhir_rendering_answers_operation_outcomes(world: dict[str, Any]) -> None:
    person: PersonIdentity = world["person"]
    unknown = _client(world, "gp-here").get(f"/api/people/{UNKNOWN}/gate-test")
    refused = _client(world, "gp-elsewhere").get(f"/api/people/{person.person_id}/gate-test")
    for answer, status, code in ((unknown, 404, "not-found"), (refused, 403, "forbidden")):
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/fhir+json"
        assert answer.headers["cache-control"] == "no-store"
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == code


def test_a_domain_rule_refines_the_decision_and_the_page_says_why(
    world: dict[str, Any],
) -> None:
    person: PersonIdentity = world["person"]
    answer = _client(world, "gp-here").get(f"/people/{person.person_id}/gate-test-consent")
    assert answer.status_code == 403
    assert 'data-refusal="no_consent"' in answer.text
    assert "You cannot see this care plan" in answer.text
    assert 'id="break-glass-link"' not in answer.text
    assert not [e for e in _views(world, person.person_id) if e.action == "view.gate.consent"]
