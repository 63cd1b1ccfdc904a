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

The package: `uk_core` (the conventions every builder shares), `patients`, `care_plans`
(CarePlan, Goal, CareTeam, ServiceRequest), `booking` (Appointment, Slot, Schedule, Location,
Practitioner, OperationOutcome; GP Connect), `measurements` (Observation), `bundles`; every
public name is re-exported here, so ``from joinedup.interop.fhir_out import patient`` works.
"""

from __future__ import annotations

from joinedup.interop.fhir_out.booking import (
    BOOKING_ORGANISATION_EXTENSION,
    DELIVERY_CHANNEL,
    DELIVERY_CHANNEL_EXTENSION,
    DELIVERY_CHANNEL_SYSTEM,
    GPC,
    HUB_APPOINTMENT_STATUS,
    PRACTITIONER_ROLE_EXTENSION,
    SLOT_STATUS,
    SPINE_ERROR_SYSTEM,
    appointment_resources,
    hub_appointment,
    hub_location,
    hub_location_body,
    hub_practitioner,
    hub_practitioner_body,
    hub_schedule,
    hub_schedule_body,
    hub_slot,
    hub_slot_body,
    hub_slots_json,
    operation_outcome,
)
from joinedup.interop.fhir_out.bundles import (
    bundle,
    searchset_body,
    searchset_json,
)
from joinedup.interop.fhir_out.care_plans import (
    ACTION_STATUS,
    CARE_PLAN_STATUS,
    GOAL_STATUS,
    TeamMember,
    care_action_request,
    care_plan,
    care_plan_resources,
    care_team,
    goals,
    service_request,
)
from joinedup.interop.fhir_out.measurements import (
    BP_PANEL,
    DIASTOLIC,
    LABORATORY,
    LOINC_BY_CODELIST,
    SYSTOLIC,
    observations,
)
from joinedup.interop.fhir_out.patients import (
    SEX,
    patient,
)
from joinedup.interop.fhir_out.uk_core import (
    JOINEDUP_ID,
    LOINC,
    NHS_NUMBER_SYSTEM,
    NOT_TRACED,
    OBSERVATION_CATEGORY,
    ODS_SYSTEM,
    SNOMED,
    UCUM,
    UK_CORE,
    VERIFICATION_EXTENSION,
    VERIFICATION_SYSTEM,
)

__all__ = [
    "ACTION_STATUS",
    "BOOKING_ORGANISATION_EXTENSION",
    "BP_PANEL",
    "CARE_PLAN_STATUS",
    "DELIVERY_CHANNEL",
    "DELIVERY_CHANNEL_EXTENSION",
    "DELIVERY_CHANNEL_SYSTEM",
    "DIASTOLIC",
    "GOAL_STATUS",
    "GPC",
    "HUB_APPOINTMENT_STATUS",
    "JOINEDUP_ID",
    "LABORATORY",
    "LOINC",
    "LOINC_BY_CODELIST",
    "NHS_NUMBER_SYSTEM",
    "NOT_TRACED",
    "OBSERVATION_CATEGORY",
    "ODS_SYSTEM",
    "PRACTITIONER_ROLE_EXTENSION",
    "SEX",
    "SLOT_STATUS",
    "SNOMED",
    "SPINE_ERROR_SYSTEM",
    "SYSTOLIC",
    "UCUM",
    "UK_CORE",
    "VERIFICATION_EXTENSION",
    "VERIFICATION_SYSTEM",
    "TeamMember",
    "appointment_resources",
    "bundle",
    "care_action_request",
    "care_plan",
    "care_plan_resources",
    "care_team",
    "goals",
    "hub_appointment",
    "hub_location",
    "hub_location_body",
    "hub_practitioner",
    "hub_practitioner_body",
    "hub_schedule",
    "hub_schedule_body",
    "hub_slot",
    "hub_slot_body",
    "hub_slots_json",
    "observations",
    "operation_outcome",
    "patient",
    "searchset_body",
    "searchset_json",
    "service_request",
]
