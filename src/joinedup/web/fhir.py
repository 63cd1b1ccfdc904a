"""FHIR R4 out over HTTP: a person's Patient resource and their whole record as a bundle.

Identifiable, so each route does what the person pages do (`joinedup.web.people`): find the
person (404), ask the legitimate-relationship rule (403, as a FHIR OperationOutcome), record the
view in the audit trail, then answer with ``application/fhir+json``. Resources are built by
`joinedup.interop.person_fhir` and `joinedup.interop.fhir_out`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.audit import record_view
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.people import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import get_population_store, get_sessions
from joinedup.web.security import require

FHIR_JSON = "application/fhir+json"

router = APIRouter(prefix="/api/fhir", tags=["FHIR R4"])

UserDep = Annotated[Principal, Depends(require("record.view"))]
StoreDep = Annotated[PopulationStore, Depends(get_population_store)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]


def _fhir(body: str, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type=FHIR_JSON)


def _outcome(status_code: int, code: str, text: str) -> Response:
    import json

    outcome: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return _fhir(json.dumps(outcome), status_code)


def _allowed_person(
    store: PopulationStore,
    sessions: sessionmaker[Session],
    user: Principal,
    person_id: int,
    what: str,
) -> PersonIdentity | Response:
    """The person, once the relationship is checked and the view audited; else the refusal."""
    person = find_person(store, person_id)
    if person is None:
        return _outcome(404, "not-found", "There is no person with that number.")
    if not person_access(sessions, user, person_id, person.practice_code).allowed:
        return _outcome(
            403,
            "forbidden",
            "You have no legitimate relationship with this person: they are not registered "
            "where you work and you are not on their care team.",
        )
    record_view(sessions, user, person_id=person_id, what=what)
    return person


@router.get("/Patient/{person_id}", name="fhir_patient", response_class=Response)
def fhir_patient(person_id: int, user: UserDep, store: StoreDep, sessions: SessionsDep) -> Response:
    """The person as a UK Core Patient (NHS number, birth date, sex, registered practice)."""
    from joinedup.interop.fhir_out import patient

    found = _allowed_person(store, sessions, user, person_id, "fhir.patient")
    if isinstance(found, Response):
        return found
    return _fhir(patient(found).model_dump_json())


@router.get(
    "/Patient/{person_id}/$everything", name="fhir_patient_everything", response_class=Response
)
def fhir_patient_everything(
    request: Request, person_id: int, user: UserDep, store: StoreDep, sessions: SessionsDep
) -> Response:
    """Everything joinedup holds about the person: Patient, CarePlan, Goals, CareTeam,
    ServiceRequests, Schedules, Slots, Appointments and Observations, as a searchset Bundle."""
    from joinedup.interop.person_fhir import person_bundle

    found = _allowed_person(store, sessions, user, person_id, "fhir.everything")
    if isinstance(found, Response):
        return found
    base = str(request.url_for("fhir_patient", person_id=0)).removesuffix("Patient/0")
    return _fhir(person_bundle(store, sessions, found, base).model_dump_json())
