"""Appointments: GP appointments as Schedule, Slot and Appointment; extended-access hub slots
and appointments as GP Connect Appointment Management gives them (the slot's delivery channel,
the schedule's practitioner role and the appointment's booking organisation as GP Connect's
extensions, errors as OperationOutcomes with the Spine error codes)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from joinedup.interop.fhir_out.uk_core import (
    JOINEDUP_ID,
    ODS_SYSTEM,
    UK_CORE,
    patient_reference,
    profile_meta,
)


def _instant(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


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
            **profile_meta("Schedule"),
            "actor": [{"display": clinician}],
        }
    )
    comment = "The record holds the day of the appointment, not its time."
    slot = Slot.model_validate(
        {
            "resourceType": "Slot",
            "id": f"gp-appointment-{key}",
            **profile_meta("Slot"),
            "schedule": {"reference": f"Schedule/{schedule.id}"},
            "status": "busy",
            "start": start,
            "end": end,
            "comment": comment,
        }
    )
    booked = row.get("booked_date")
    appointment = Appointment.model_validate(
        {
            "resourceType": "Appointment",
            "id": f"gp-appointment-{key}",
            **profile_meta("Appointment"),
            "identifier": [{"system": JOINEDUP_ID + "gp-appointment", "value": str(key)}],
            "status": "fulfilled" if row["attended"] else "noshow",
            "appointmentType": {"text": row["mode"].replace("_", " ")},
            "start": start,
            "end": end,
            "comment": comment,
            **({"created": booked.isoformat()} if booked else {}),  # the day it was booked
            "slot": [{"reference": f"Slot/{slot.id}"}],
            "participant": [
                {"actor": patient_reference(person_id), "status": "accepted"},
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
        **profile_meta("Location"),
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
        **profile_meta("Practitioner"),
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
        **profile_meta("Schedule"),
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
        **profile_meta("Slot"),
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


def hub_slots_json(slots: Sequence[Any]) -> list[tuple[str, str, str]]:
    """`hub_slot_body` of each slot as ("Slot", id, JSON text), for `searchset_json`: the parts
    a rota session's slots share (profile, channel, service type, schedule) are serialised once
    per session, and each instant once however many slots start at it."""
    shared: dict[tuple[int, str, str], str] = {}
    instants: dict[dt.datetime, str] = {}
    written = []
    for slot in slots:
        key = (slot.session_id, slot.category, slot.mode)
        if key not in shared:
            body = hub_slot_body(slot)
            common = {k: body[k] for k in _SHARED_SLOT_FIELDS}
            shared[key] = json.dumps(common)[1:-1]
        start = instants.get(slot.starts_at) or instants.setdefault(
            slot.starts_at, slot.starts_at.isoformat()
        )
        end = instants.get(slot.ends_at) or instants.setdefault(
            slot.ends_at, slot.ends_at.isoformat()
        )
        written.append(
            (
                "Slot",
                str(slot.id),
                f'{{"resourceType": "Slot", "id": "{slot.id}", {shared[key]}, '
                f'"status": "{SLOT_STATUS[slot.status]}", "start": "{start}", "end": "{end}"}}',
            )
        )
    return written


#: The fields of `hub_slot_body` that depend only on the slot's session, category and mode.
_SHARED_SLOT_FIELDS = ("meta", "extension", "serviceType", "appointmentType", "schedule")


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
            {"actor": patient_reference(appointment.person_id), "status": "accepted"},
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
