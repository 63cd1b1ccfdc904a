"""FHIR R4 out: what joinedup holds about a person as validated R4 resources (UK Core profiles).

Builders take plain values (a `PersonIdentity`, a care plan's content dict as the brief's care
plan shape, rows of the population store) and return `fhir.resources.R4B` models, so every
resource is validated by constructing it. Profiles, from the UK Core R4 implementation guide
(https://simplifier.net/hl7fhirukcorer4): UKCore-Patient, -CarePlan, -CareTeam,
-ServiceRequest, -Appointment, -Slot, -Schedule, -Location, -Practitioner, -Observation,
-OperationOutcome. Extended-access hub slots and appointments follow GP Connect Appointment
Management: the slot's delivery channel, the schedule's practitioner role and the appointment's
booking organisation as GP Connect's extensions, errors with the Spine error codes. UK Core
has no Goal profile, so Goal carries none (base R4). The NHS number uses the identifier system
``https://fhir.nhs.uk/Id/nhs-number`` with the UK Core verification-status extension, code 02
"Number present but not traced": joinedup does not trace numbers against the Personal
Demographics Service, so it never claims a verified number.

Observations: blood pressure as one panel (LOINC 85354-9) with systolic (8480-6) and
diastolic (8462-4) components in mm[Hg], as the FHIR R4 vital-signs profile asks; pulse rate as
LOINC 8867-4 and HbA1c (IFCC, mmol/mol) as LOINC 59261-8, each with the recorded SNOMED CT code
beside the LOINC one; other measurements with their recorded code only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.goal import Goal
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.slot import Slot

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
VERIFICATION_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
NOT_TRACED = ("02", "Number present but not traced")
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: joinedup's own identifiers (a care plan, an action, an appointment) live under this base.
JOINEDUP_ID = "https://joinedup.nhs.example/Id/"

SEX = {"F": "female", "M": "male"}
GOAL_STATUS = {  # care plan goal status → (lifecycleStatus, achievementStatus code)
    "proposed": ("proposed", None),
    "active": ("active", "in-progress"),
    "achieved": ("completed", "achieved"),
    "cancelled": ("cancelled", None),
}
ACTION_STATUS = {"open": "active", "done": "completed", "cancelled": "revoked"}
CARE_PLAN_STATUS = {"agreed": "active", "draft": "draft"}

SYSTOLIC, DIASTOLIC = "systolic-blood-pressure", "diastolic-blood-pressure"
#: Measurement codelists with the LOINC code they are sent with (code, display, UCUM unit).
LOINC_BY_CODELIST = {
    SYSTOLIC: ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    DIASTOLIC: ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "pulse-rate": ("8867-4", "Heart rate", "/min"),
    "hba1c": ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
LABORATORY = {"hba1c"}


def _meta(profile: str | None) -> dict[str, Any]:
    return {"meta": {"profile": [UK_CORE + profile]}} if profile else {}


def _patient_ref(person_id: int) -> dict[str, str]:
    return {"reference": f"Patient/{person_id}"}


def _day(value: dt.date | str | None) -> str | None:
    return None if value is None else str(value)[:10]


def _instant(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


# --- Patient ---------------------------------------------------------------------------------


def patient(person: Any) -> Patient:
    """The person's summary: NHS number, birth date, sex, death, registered practice."""
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(person.person_id),
        **_meta("Patient"),
        "identifier": [
            {
                "system": NHS_NUMBER_SYSTEM,
                "value": person.nhs_number,
                "extension": [
                    {
                        "url": VERIFICATION_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": VERIFICATION_SYSTEM,
                                    "code": NOT_TRACED[0],
                                    "display": NOT_TRACED[1],
                                }
                            ]
                        },
                    }
                ],
            }
        ]
        if person.nhs_number
        else [],
        "birthDate": _day(person.date_of_birth),
        "gender": SEX.get(person.sex, "unknown"),
    }
    if person.date_of_death is not None:
        body["deceasedDateTime"] = _day(person.date_of_death)
    if person.practice_code:
        body["generalPractitioner"] = [
            {
                "identifier": {"system": ODS_SYSTEM, "value": person.practice_code},
                "display": person.practice_name or person.practice_code,
            }
        ]
    return Patient.model_validate(body)


# --- care plan, goals, care team ----------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    """A member of a person's care team, from the register or governance, as shown."""

    name: str
    role: str
    organisation: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


def goals(person_id: int, plan_id: int, content: Mapping[str, Any]) -> list[Goal]:
    made = []
    for item in content.get("goals") or []:
        lifecycle, achievement = GOAL_STATUS.get(item.get("status", ""), ("active", None))
        body: dict[str, Any] = {
            "resourceType": "Goal",
            "id": f"careplan-{plan_id}-goal-{item['id']}",
            "lifecycleStatus": lifecycle,
            "description": {"text": item["description"]},
            "subject": _patient_ref(person_id),
        }
        if achievement:
            body["achievementStatus"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                        "code": achievement,
                    }
                ]
            }
        target: dict[str, Any] = {}
        if item.get("measure"):
            target["measure"] = {"text": item["measure"]}
        if item.get("target"):
            target["detailString"] = item["target"]
        if item.get("target_date"):
            target["dueDate"] = _day(item["target_date"])
        if target:
            body["target"] = [target]
        made.append(Goal.model_validate(body))
    return made


def care_team(person_id: int, team_id: str, members: Sequence[TeamMember]) -> CareTeam:
    participants = []
    for member in members:
        entry: dict[str, Any] = {
            "role": [{"text": member.role}],
            "member": {"display": member.name},
        }
        if member.organisation:
            entry["onBehalfOf"] = {"display": member.organisation}
        if member.start or member.end:
            entry["period"] = {
                k: v for k, v in (("start", _day(member.start)), ("end", _day(member.end))) if v
            }
        participants.append(entry)
    return CareTeam.model_validate(
        {
            "resourceType": "CareTeam",
            "id": team_id,
            **_meta("CareTeam"),
            "status": "active",
            "subject": _patient_ref(person_id),
            "participant": participants or None,
        }
    )


def care_plan(
    person_id: int,
    plan_id: int,
    *,
    status: str,
    version: int,
    content: Mapping[str, Any],
    created: dt.datetime | None = None,
    goal_ids: Iterable[str] = (),
    care_team_id: str | None = None,
    action_request_ids: Iterable[str] = (),
) -> CarePlan:
    """The plan (one version) as a CarePlan: what matters and the needs in its description and
    notes, its goals, care team and actions (as ServiceRequests) by reference."""
    notes = [
        f"{label}: {text}"
        for label, text in (
            ("What matters to me", content.get("what_matters")),
            *(
                (f"Needs ({k.replace('_', ' ')})", v)
                for k, v in (content.get("needs") or {}).items()
            ),
            ("Crisis plan", (content.get("crisis_plan") or {}).get("what_to_do")),
            ("Self-management", content.get("self_management")),
        )
        if text
    ]
    body: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": f"careplan-{plan_id}",
        **_meta("CarePlan"),
        "identifier": [{"system": JOINEDUP_ID + "care-plan", "value": f"{plan_id}-v{version}"}],
        "status": CARE_PLAN_STATUS.get(status, "unknown"),
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": _patient_ref(person_id),
        "note": [{"text": n} for n in notes] or None,
        "goal": [{"reference": f"Goal/{g}"} for g in goal_ids] or None,
        "careTeam": [{"reference": f"CareTeam/{care_team_id}"}] if care_team_id else None,
        "activity": [
            {"reference": {"reference": f"ServiceRequest/{r}"}} for r in action_request_ids
        ]
        or None,
    }
    if content.get("review_due_on"):
        body["period"] = {"end": _day(content["review_due_on"])}
    if created is not None:
        body["created"] = created.isoformat()
    return CarePlan.model_validate(body)


def care_plan_resources(
    person_id: int,
    plan_id: int,
    *,
    status: str,
    version: int,
    content: Mapping[str, Any],
    members: Sequence[TeamMember] = (),
    created: dt.datetime | None = None,
) -> list[Resource]:
    """CarePlan + its Goals + a CareTeam (the given members and the plan's key contacts) +
    a ServiceRequest for each action of the plan."""
    plan_goals = goals(person_id, plan_id, content)
    contacts = [
        TeamMember(c["name"], c.get("role") or "key contact", c.get("organisation") or None)
        for c in content.get("key_contacts") or []
    ]
    team = care_team(person_id, f"careplan-{plan_id}-team", [*members, *contacts])
    requests = [
        service_request(
            person_id,
            request_id=f"careplan-{plan_id}-action-{a['id']}",
            title=a["title"],
            status=a.get("status", "open"),
            owner_name=a.get("owner_name"),
            owner_org=a.get("owner_org"),
            due_on=a.get("due_on"),
        )
        for a in content.get("actions") or []
    ]
    plan = care_plan(
        person_id,
        plan_id,
        status=status,
        version=version,
        content=content,
        created=created,
        goal_ids=[str(g.id) for g in plan_goals],
        care_team_id=str(team.id),
        action_request_ids=[str(r.id) for r in requests],
    )
    return [plan, *plan_goals, team, *requests]


def service_request(
    person_id: int,
    *,
    request_id: str,
    title: str,
    status: str,
    owner_name: str | None = None,
    owner_org: str | None = None,
    due_on: dt.date | str | None = None,
    authored: dt.datetime | None = None,
) -> ServiceRequest:
    """A tracked action (care plan or MDT) as a ServiceRequest to its owner."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": request_id,
        **_meta("ServiceRequest"),
        "status": ACTION_STATUS.get(status, "unknown"),
        "intent": "plan",
        "code": {"text": title},
        "subject": _patient_ref(person_id),
    }
    if owner_name:
        performer = owner_name + (f" ({owner_org})" if owner_org else "")
        body["performer"] = [{"display": performer}]
    if due_on:
        body["occurrencePeriod"] = {"end": _day(due_on)}
    if authored is not None:
        body["authoredOn"] = authored.isoformat()
    return ServiceRequest.model_validate(body)


def care_action_request(action: Any) -> ServiceRequest:
    """A `care.models.CareAction` (or any object with its columns) as a ServiceRequest."""
    return service_request(
        action.person_id,
        request_id=f"action-{action.id}",
        title=action.title,
        status=action.status,
        owner_name=action.owner_name,
        owner_org=action.owner_org,
        due_on=action.due_on,
        authored=action.created_at,
    )


# --- GP appointments ---------------------------------------------------------------------------


def appointment_resources(person_id: int, row: Mapping[str, Any]) -> list[Resource]:
    """A gp_appointments row as Schedule (the clinician's), Slot and Appointment.

    The store holds the day of an appointment, not its time: slot and appointment span that
    day (UTC) and say so in their comment, rather than invent a time.
    """
    day = row["appointment_date"]
    start, end = _instant(day), _instant(day + dt.timedelta(days=1))
    key = row["appointment_id"]
    clinician = f"{row['clinician_role'].replace('_', ' ')} {row['clinician_id']}"
    schedule = Schedule.model_validate(
        {
            "resourceType": "Schedule",
            "id": f"clinician-{row['clinician_id']}",
            **_meta("Schedule"),
            "actor": [{"display": clinician}],
        }
    )
    comment = "The record holds the day of the appointment, not its time."
    slot = Slot.model_validate(
        {
            "resourceType": "Slot",
            "id": f"gp-appointment-{key}",
            **_meta("Slot"),
            "schedule": {"reference": f"Schedule/{schedule.id}"},
            "status": "busy",
            "start": start,
            "end": end,
            "comment": comment,
        }
    )
    appointment = Appointment.model_validate(
        {
            "resourceType": "Appointment",
            "id": f"gp-appointment-{key}",
            **_meta("Appointment"),
            "identifier": [{"system": JOINEDUP_ID + "gp-appointment", "value": str(key)}],
            "status": "fulfilled" if row["attended"] else "noshow",
            "appointmentType": {"text": row["mode"].replace("_", " ")},
            "start": start,
            "end": end,
            "comment": comment,
            "slot": [{"reference": f"Slot/{slot.id}"}],
            "participant": [
                {"actor": _patient_ref(person_id), "status": "accepted"},
                {"actor": {"display": clinician}, "status": "accepted"},
                {
                    "actor": {
                        "identifier": {"system": ODS_SYSTEM, "value": row["practice_code"]},
                        "display": row["practice_code"],
                    },
                    "status": "accepted",
                },
            ],
        }
    )
    return [schedule, slot, appointment]


# --- extended-access hubs: GP Connect Appointment Management ----------------------------------

#: GP Connect's extensions and code systems (GP Connect Appointment Management 1.2; their
#: STU3 URLs are the ones GP Connect consumers recognise).
GPC = "https://fhir.nhs.uk/STU3/"
DELIVERY_CHANNEL_EXTENSION = GPC + "StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
DELIVERY_CHANNEL_SYSTEM = GPC + "CodeSystem/GPConnect-DeliveryChannel-2"
BOOKING_ORGANISATION_EXTENSION = (
    GPC + "StructureDefinition/Extension-GPConnect-BookingOrganisation-1"
)
PRACTITIONER_ROLE_EXTENSION = GPC + "StructureDefinition/Extension-GPConnect-PractitionerRole-1"
SPINE_ERROR_SYSTEM = GPC + "CodeSystem/Spine-ErrorOrWarningCode-1"
#: joinedup's mode → GP Connect delivery channel (a home visit is delivered in person).
DELIVERY_CHANNEL = {
    "face_to_face": "In-person",
    "home_visit": "In-person",
    "telephone": "Telephone",
    "video": "Video",
}
#: joinedup's appointment status → FHIR Appointment.status.
HUB_APPOINTMENT_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "attended": "fulfilled",
    "dna": "noshow",
}
SLOT_STATUS = {"free": "free", "booked": "busy"}


def hub_location_body(slot: Any) -> dict[str, Any]:
    """The hub a slot is at, as a UK Core Location managed by its PCN."""
    return {
        "resourceType": "Location",
        "id": f"hub-{slot.hub_code}",
        **_meta("Location"),
        "identifier": [{"system": ODS_SYSTEM, "value": slot.hub_code}],
        "status": "active",
        "name": slot.hub_name,
        "address": {"text": slot.hub_address},
        "managingOrganization": {"identifier": {"system": ODS_SYSTEM, "value": slot.pcn_code}},
    }


def hub_location(slot: Any) -> Location:
    """`hub_location_body` as a validated R4B Location."""
    return Location.model_validate(hub_location_body(slot))


def hub_practitioner_body(slot: Any) -> dict[str, Any]:
    """The clinician of a slot's session."""
    return {
        "resourceType": "Practitioner",
        "id": f"hub-clinician-{slot.clinician_id}",
        **_meta("Practitioner"),
        "name": [{"text": slot.clinician_name}],
    }


def hub_practitioner(slot: Any) -> Practitioner:
    """`hub_practitioner_body` as a validated R4B Practitioner."""
    return Practitioner.model_validate(hub_practitioner_body(slot))


def hub_schedule_body(slot: Any) -> dict[str, Any]:
    """A rota session as the Schedule its slots belong to: a clinician at a hub."""
    return {
        "resourceType": "Schedule",
        "id": f"rota-session-{slot.session_id}",
        **_meta("Schedule"),
        "extension": [
            {
                "url": PRACTITIONER_ROLE_EXTENSION,
                "valueCodeableConcept": {"text": slot.clinician_role.replace("_", " ")},
            }
        ],
        "actor": [
            {"reference": f"Practitioner/hub-clinician-{slot.clinician_id}"},
            {"reference": f"Location/hub-{slot.hub_code}"},
        ],
    }


def hub_schedule(slot: Any) -> Schedule:
    """`hub_schedule_body` as a validated R4B Schedule."""
    return Schedule.model_validate(hub_schedule_body(slot))


def hub_slot_body(slot: Any) -> dict[str, Any]:
    """A hub slot: its GPAD national category as the service type, its delivery channel."""
    return {
        "resourceType": "Slot",
        "id": str(slot.id),
        **_meta("Slot"),
        "extension": [
            {
                "url": DELIVERY_CHANNEL_EXTENSION,
                "valueCode": DELIVERY_CHANNEL[slot.mode],
            }
        ],
        "serviceType": [{"text": slot.category}],
        "appointmentType": {"text": slot.mode.replace("_", " ")},
        "schedule": {"reference": f"Schedule/rota-session-{slot.session_id}"},
        "status": SLOT_STATUS[slot.status],
        "start": slot.starts_at.isoformat(),
        "end": slot.ends_at.isoformat(),
    }


def hub_slot(slot: Any) -> Slot:
    """`hub_slot_body` as a validated R4B Slot."""
    return Slot.model_validate(hub_slot_body(slot))


def hub_appointment(appointment: Any) -> Appointment:
    """A booked (or cancelled, attended, missed) hub appointment, versioned for If-Match."""
    slot = appointment.slot
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {
            "versionId": str(appointment.version),
            "profile": [UK_CORE + "Appointment"],
        },
        "contained": [
            {
                "resourceType": "Organization",
                "id": "booking-organisation",
                "identifier": [{"system": ODS_SYSTEM, "value": appointment.booking_org}],
                "name": appointment.booking_org,
            }
        ],
        "extension": [
            {
                "url": BOOKING_ORGANISATION_EXTENSION,
                "valueReference": {"reference": "#booking-organisation"},
            }
        ],
        "status": HUB_APPOINTMENT_STATUS[appointment.status],
        "serviceType": [{"text": slot.category}],
        "appointmentType": {"text": slot.mode.replace("_", " ")},
        "description": appointment.description,
        "comment": appointment.comment,
        "start": slot.starts_at.isoformat(),
        "end": slot.ends_at.isoformat(),
        "created": appointment.created_at.isoformat(),
        "slot": [{"reference": f"Slot/{slot.id}"}],
        "participant": [
            {"actor": _patient_ref(appointment.person_id), "status": "accepted"},
            {
                "actor": {
                    "reference": f"Practitioner/hub-clinician-{slot.clinician_id}",
                    "display": slot.clinician_name,
                },
                "status": "accepted",
            },
            {
                "actor": {"reference": f"Location/hub-{slot.hub_code}", "display": slot.hub_name},
                "status": "accepted",
            },
        ],
    }
    if appointment.status == "cancelled" and appointment.cancellation_reason:
        body["cancelationReason"] = {"text": appointment.cancellation_reason}
    return Appointment.model_validate({k: v for k, v in body.items() if v is not None})


def operation_outcome(
    code: str, spine_code: str, text: str, severity: str = "error"
) -> OperationOutcome:
    """An error as GP Connect gives it: the FHIR issue type and the Spine error code."""
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "id": str(uuid.uuid4()),
            "meta": {"profile": [UK_CORE + "OperationOutcome"]},
            "issue": [
                {
                    "severity": severity,
                    "code": code,
                    "details": {
                        "coding": [
                            {"system": SPINE_ERROR_SYSTEM, "code": spine_code, "display": text}
                        ]
                    },
                    "diagnostics": text,
                }
            ],
        }
    )


# --- measurements ------------------------------------------------------------------------------


def _coding(row: Mapping[str, Any], codelist: str | None) -> list[dict[str, str]]:
    codings = []
    if codelist in LOINC_BY_CODELIST:
        code, display, _ = LOINC_BY_CODELIST[codelist]
        codings.append({"system": LOINC, "code": code, "display": display})
    if row["code_system"] == "snomed":
        codings.append({"system": SNOMED, "code": row["code"]})
    elif row["code_system"] == "loinc" and codelist not in LOINC_BY_CODELIST:
        codings.append({"system": LOINC, "code": row["code"]})
    else:
        codings.append({"system": JOINEDUP_ID + row["code_system"], "code": row["code"]})
    return codings


def _quantity(value: float, unit: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity |= {"unit": unit, "system": UCUM, "code": unit}
    return quantity


def _observation(
    person_id: int, obs_id: str, day: dt.date, category: str | None, **body: Any
) -> Observation:
    if category:
        body["category"] = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}]
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": obs_id,
            **_meta("Observation"),
            "status": "final",
            "subject": _patient_ref(person_id),
            "effectiveDateTime": _day(day),
            **body,
        }
    )


def _category(codelist: str | None) -> str | None:
    if codelist in LABORATORY:
        return "laboratory"
    return "vital-signs" if codelist in LOINC_BY_CODELIST else None


def observations(
    person_id: int, rows: Sequence[Mapping[str, Any]], codelist_of: Mapping[tuple[str, str], str]
) -> list[Observation]:
    """Measurements (clinical_events rows with a value) as Observations; a systolic and a
    diastolic reading of the same day become one blood-pressure panel with two components.

    `codelist_of` maps (code_system, code) → the measurement codelist it belongs to.
    """
    made: list[Observation] = []
    pressures: dict[dt.date, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("value") is None:
            continue
        codelist = codelist_of.get((row["code_system"], row["code"]))
        if codelist in (SYSTOLIC, DIASTOLIC):
            pressures.setdefault(row["event_date"], {}).setdefault(codelist, row)
            continue
        unit = LOINC_BY_CODELIST[codelist][2] if codelist in LOINC_BY_CODELIST else row.get("unit")
        made.append(
            _observation(
                person_id,
                f"event-{row['event_id']}",
                row["event_date"],
                _category(codelist),
                code={"coding": _coding(row, codelist)},
                valueQuantity=_quantity(float(row["value"]), unit),
            )
        )
    for day, pair in sorted(pressures.items()):
        components = [
            {"code": {"coding": _coding(r, name)}, "valueQuantity": _quantity(r["value"], "mm[Hg]")}
            for name, r in sorted(pair.items(), reverse=True)  # systolic first
        ]
        first = min(r["event_id"] for r in pair.values())
        made.append(
            _observation(
                person_id,
                f"bp-{first}",
                day,
                "vital-signs",
                code={"coding": [{"system": LOINC, "code": BP_PANEL[0], "display": BP_PANEL[1]}]},
                component=components,
            )
        )
    return made


# --- bundles -----------------------------------------------------------------------------------


def searchset_body(
    base: str,
    matches: Sequence[dict[str, Any]],
    included: Sequence[dict[str, Any]] = (),
    outcomes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A searchset Bundle as plain JSON from resource bodies (the `*_body` builders), for large
    searches: building a thousand R4B models costs about a second, so the free-slot search
    answers with the bodies those models validate (the tests validate every such answer)."""
    modes = (
        [("match", r) for r in matches]
        + [("include", r) for r in included]
        + [("outcome", r) for r in outcomes]
    )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "total": len(matches),
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": mode},
            }
            for mode, r in modes
        ],
    }


def bundle(resources: Sequence[Resource], kind: str = "collection", base: str = "") -> Bundle:
    """A Bundle of `resources` (``collection`` or ``searchset``, with the total)."""
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": kind,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "entry": [
            {
                "fullUrl": f"{base}{r.get_resource_type()}/{r.id}",
                "resource": r,
                **({"search": {"mode": "match"}} if kind == "searchset" else {}),
            }
            for r in resources
        ]
        or None,
    }
    if kind == "searchset":
        body["total"] = len(resources)
    return Bundle.model_validate(body)
