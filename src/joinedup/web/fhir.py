"""FHIR R4 out over HTTP: a person's Patient resource and their whole record as a bundle.

Identifiable, so each route is behind the person gate (`joinedup.web.person_gate`), the same
gate as the person pages: it finds the person, checks the legitimate relationship and audits
the view; here it answers 404 and 403 as FHIR OperationOutcome resources
(``answers=FHIR_ANSWERS``). Resources are built by `joinedup.interop.person_fhir` and
`joinedup.interop.fhir_out` and answered as ``application/fhir+json``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from joinedup.governance.relationships import Access
from joinedup.web.dependencies import Sessions, Store
from joinedup.web.person_gate import FHIR_ANSWERS, FHIR_JSON, OpenedPerson, person_gate

router = APIRouter(prefix="/api/fhir", tags=["FHIR R4"])

PatientGate = Annotated[
    OpenedPerson[Access], Depends(person_gate("fhir.patient", answers=FHIR_ANSWERS))
]
EverythingGate = Annotated[
    OpenedPerson[Access], Depends(person_gate("fhir.everything", answers=FHIR_ANSWERS))
]


def _fhir(body: str) -> Response:
    return Response(body, media_type=FHIR_JSON)


@router.get("/Patient/{person_id}", name="fhir_patient", response_class=Response)
def fhir_patient(opened: PatientGate) -> Response:
    """The person as a UK Core Patient (NHS number, birth date, sex, registered practice)."""
    from joinedup.interop.fhir_out import patient

    return _fhir(patient(opened.person).model_dump_json())


@router.get(
    "/Patient/{person_id}/$everything", name="fhir_patient_everything", response_class=Response
)
def fhir_patient_everything(
    request: Request, opened: EverythingGate, store: Store, sessions: Sessions
) -> Response:
    """Everything joinedup holds about the person: Patient, CarePlan, Goals, CareTeam,
    ServiceRequests, Schedules, Slots, Appointments and Observations, as a searchset Bundle."""
    from joinedup.interop.person_fhir import person_bundle

    base = str(request.url_for("fhir_patient", person_id=0)).removesuffix("Patient/0")
    return _fhir(person_bundle(store, sessions, opened.person, base).model_dump_json())
