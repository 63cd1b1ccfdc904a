"""FHIR R4 API: relationship refusal, audit of every view, valid resources."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import migrated


@dataclass(frozen=True)
class Area:
    settings: Settings
    sessions: sessionmaker[Session]


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Area:
    home = tmp_path_factory.mktemp("fhir-api")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    shutil.copytree(small_area.population_dir, settings.population_dir)
    migrated(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    sync_organisations(PopulationStore(settings.population_dir), sessions)
    return Area(settings, sessions)


def _app_as_gp(area: Area, username: str, orgs: list[str]) -> FastAPI:
    with area.sessions() as session, session.begin():
        user = User(
            username=username,
            display_name=username,
            role="gp",
            password_hash=None,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        for org in orgs:
            session.add(UserOrganisation(user_id=user.id, org_code=org))
        user_id = user.id
    app = create_app(area.settings)
    app.state.care_sessions = area.sessions
    sign_in_as(app, principal("gp", user_id=user_id, username=username))
    return app


def _someone(settings: Settings) -> tuple[int, str]:
    """A registered person and their practice (the first registration open at the end)."""
    store = PopulationStore(settings.population_dir)
    rows = store.read("registrations", columns=["person_id", "practice_code", "end_date"])
    for row in rows.to_pylist():
        if row["end_date"] is None:
            return int(row["person_id"]), str(row["practice_code"])
    raise AssertionError("no current registration in the small area")


def _views(area: Area, person_id: int, username: str) -> list[str]:
    with area.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.person_id == person_id, AuditEvent.actor == username)
                .order_by(AuditEvent.id)
            )
        )


def test_gp_of_the_practice_gets_a_valid_patient_and_bundle_and_each_view_is_audited(
    area: Area,
) -> None:
    person_id, practice = _someone(area.settings)
    app = _app_as_gp(area, "gp.of.practice", [practice])
    client = TestClient(app)
    answer = client.get(f"/api/fhir/Patient/{person_id}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    patient = Patient.model_validate_json(answer.text)
    assert patient.id == str(person_id)
    assert patient.identifier[0].system == "https://fhir.nhs.uk/Id/nhs-number"
    everything = client.get(f"/api/fhir/Patient/{person_id}/$everything")
    assert everything.status_code == 200, everything.text
    bundle = Bundle.model_validate_json(everything.text)
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds[0] == "Patient"
    assert bundle.total == len(bundle.entry)
    assert _views(area, person_id, "gp.of.practice") == [
        "view.fhir.patient",
        "view.fhir.everything",
    ]


def test_no_relationship_is_refused_and_nothing_is_audited(area: Area) -> None:
    person_id, _ = _someone(area.settings)
    app = _app_as_gp(area, "gp.elsewhere", [])
    client = TestClient(app)
    for path in (f"/api/fhir/Patient/{person_id}", f"/api/fhir/Patient/{person_id}/$everything"):
        answer = client.get(path)
        assert answer.status_code == 403
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert _views(area, person_id, "gp.elsewhere") == []


def test_unknown_person_is_404(area: Area) -> None:
    app = _app_as_gp(area, "gp.unknown", [])
    answer = TestClient(app).get("/api/fhir/Patient/999999999")
    assert answer.status_code == 404
