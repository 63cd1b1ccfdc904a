"""Each FHIR builder makes resources that validate against the R4B models (re-read from their
JSON) and carry the UK Core profile and the NHS number identifier system where they apply."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from joinedup.interop import fhir_out
from joinedup.population.reads import PersonIdentity

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"

CONTENT: dict[str, Any] = {  # the brief's care plan content shape
    "what_matters": "Getting to my granddaughter's wedding in June",
    "goals": [
        {
            "id": "g1",
            "description": "Walk to the shop without stopping",
            "measure": "Distance walked",
            "target": "400 metres",
            "target_date": "2027-03-01",
            "status": "active",
        },
        {
            "id": "g2",
            "description": "No falls",
            "measure": "Falls",
            "target": "0",
            "target_date": None,
            "status": "achieved",
        },
    ],
    "needs": {
        "physical_health": "Heart failure, breathless on exertion",
        "mental_health": "Low mood since bereavement",
        "social_care": "Help with washing twice a week",
        "housing": "Stairs to the bathroom",
        "finances": "",
        "carers": "Daughter visits daily",
    },
    "actions": [
        {
            "id": "a1",
            "title": "Medication review",
            "owner_name": "Sam Patel",
            "owner_org": "Riverside Surgery",
            "due_on": "2026-12-15",
            "status": "open",
            "care_action_id": 7,
        }
    ],
    "key_contacts": [
        {"name": "Ann Lee", "role": "Community matron", "organisation": "Trust", "phone": "0"}
    ],
    "carer": {"name": "Jo", "relationship": "daughter", "phone": "0", "is_main_carer": True},
    "crisis_plan": {"what_to_do": "Sit up", "who_to_call": "111", "escalation": "999"},
    "ceilings_of_treatment": None,
    "preferred_place_of_care": "Home",
    "preferred_place_of_death": None,
    "medication_review_due_on": "2026-12-15",
    "self_management": "Weigh daily",
    "review_due_on": "2027-02-01",
}


def revalidated(resource: Any) -> dict[str, Any]:
    """The resource's JSON, read back through its R4B model (fails if not valid)."""
    body = json.loads(resource.model_dump_json())
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def profile(body: dict[str, Any]) -> str:
    (url,) = body["meta"]["profile"]
    return str(url)


def test_patient_has_the_uk_core_profile_and_nhs_number_system():
    person = PersonIdentity(
        person_id=42,
        nhs_number="9434765919",
        date_of_birth=dt.date(1940, 5, 1),
        sex="F",
        date_of_death=None,
        practice_code="Y12345",
        practice_name="Riverside Surgery",
        neighbourhood_code=None,
        neighbourhood_name=None,
    )
    body = revalidated(fhir_out.patient(person))
    assert profile(body) == UK_CORE + "Patient"
    (identifier,) = body["identifier"]
    assert identifier == identifier | {
        "system": "https://fhir.nhs.uk/Id/nhs-number",
        "value": "9434765919",
    }
    assert body["gender"] == "female" and body["birthDate"] == "1940-05-01"
    practice = body["generalPractitioner"][0]["identifier"]
    assert practice == {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}


def test_care_plan_goals_care_team_and_actions_from_plan_content():
    members = [fhir_out.TeamMember("Sam Patel", "Named GP", "Riverside Surgery")]
    made = fhir_out.care_plan_resources(
        42, 3, status="agreed", version=2, content=CONTENT, members=members
    )
    bodies = [revalidated(r) for r in made]
    kinds = [b["resourceType"] for b in bodies]
    assert kinds == ["CarePlan", "Goal", "Goal", "CareTeam", "ServiceRequest"]
    plan, goal, achieved, team, action = bodies
    assert plan["status"] == "active" and plan["subject"] == {"reference": "Patient/42"}
    assert {g["reference"] for g in plan["goal"]} == {
        f"Goal/{goal['id']}",
        f"Goal/{achieved['id']}",
    }
    assert plan["careTeam"] == [{"reference": f"CareTeam/{team['id']}"}]
    assert goal["description"]["text"] == "Walk to the shop without stopping"
    assert achieved["lifecycleStatus"] == "completed"
    assert profile(team) == UK_CORE + "CareTeam"
    assert {p["member"]["display"] for p in team["participant"]} == {"Sam Patel", "Ann Lee"}
    assert profile(action) == UK_CORE + "ServiceRequest"
    assert action["code"]["text"] == "Medication review" and action["status"] == "active"
    text = json.dumps(plan)
    assert "granddaughter" in text and "Help with washing" in text


def test_service_request_for_a_tracked_action():
    body = revalidated(
        fhir_out.service_request(
            42,
            request_id="action-9",
            title="Falls assessment",
            status="done",
            owner_name="Ann Lee",
            owner_org="Trust",
            due_on=dt.date(2026, 12, 1),
        )
    )
    assert profile(body) == UK_CORE + "ServiceRequest"
    assert body["status"] == "completed" and body["intent"] == "plan"
    assert body["performer"] == [{"display": "Ann Lee (Trust)"}]
    assert body["occurrencePeriod"] == {"end": "2026-12-01"}


def test_gp_appointment_as_schedule_slot_and_appointment():
    row = {
        "appointment_id": 5,
        "appointment_date": dt.date(2026, 1, 5),
        "clinician_id": "C1",
        "clinician_role": "gp",
        "mode": "telephone",
        "attended": False,
        "practice_code": "Y12345",
    }
    schedule, slot, appointment = (revalidated(r) for r in fhir_out.appointment_resources(42, row))
    assert [profile(b) for b in (schedule, slot, appointment)] == [
        UK_CORE + "Schedule",
        UK_CORE + "Slot",
        UK_CORE + "Appointment",
    ]
    assert slot["schedule"] == {"reference": f"Schedule/{schedule['id']}"}
    assert appointment["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert appointment["status"] == "noshow"
    assert {"reference": "Patient/42"} in [p["actor"] for p in appointment["participant"]]
    assert "created" not in appointment  # no booking date in the row: none claimed
    booked = fhir_out.appointment_resources(42, row | {"booked_date": dt.date(2025, 12, 20)})
    assert revalidated(booked[2])["created"] == "2025-12-20"


def test_observations_and_the_blood_pressure_panel():
    day = dt.date(2026, 2, 1)

    def event(event_id: int, code: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "event_date": day,
            "code_system": "snomed",
            "code": code,
            "value": value,
            "unit": unit,
        }

    rows = [
        event(1, "72313002", 150.0, "mm[Hg]"),
        event(2, "1091811000000102", 95.0, "mm[Hg]"),
        event(3, "999791000000106", 53.0, "mmol/mol"),
    ]
    codelist_of = {
        ("snomed", "72313002"): fhir_out.SYSTOLIC,
        ("snomed", "1091811000000102"): fhir_out.DIASTOLIC,
        ("snomed", "999791000000106"): "hba1c",
    }
    made = [revalidated(o) for o in fhir_out.observations(42, rows, codelist_of)]
    assert all(profile(b) == UK_CORE + "Observation" for b in made)
    hba1c, panel = made
    assert hba1c["code"]["coding"][0]["code"] == "59261-8"
    assert {"system": "http://snomed.info/sct", "code": "999791000000106"} in hba1c["code"][
        "coding"
    ]
    assert hba1c["valueQuantity"]["value"] == 53.0
    assert hba1c["category"][0]["coding"][0]["code"] == "laboratory"
    assert panel["code"]["coding"][0]["code"] == "85354-9"
    systolic, diastolic = panel["component"]
    assert systolic["code"]["coding"][0]["code"] == "8480-6"
    assert diastolic["code"]["coding"][0]["code"] == "8462-4"
    assert (systolic["valueQuantity"]["value"], diastolic["valueQuantity"]["value"]) == (150, 95)
    assert systolic["valueQuantity"]["system"] == "http://unitsofmeasure.org"
