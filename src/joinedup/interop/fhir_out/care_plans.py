"""Care plans: CarePlan with its Goals (base R4: UK Core has no Goal profile), CareTeam and
ServiceRequests (tracked actions), as UK Core profiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.goal import Goal
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest

from joinedup.interop.fhir_out.uk_core import (
    JOINEDUP_ID,
    fhir_date,
    patient_reference,
    profile_meta,
)

GOAL_STATUS = {  # care plan goal status → (lifecycleStatus, achievementStatus code)
    "proposed": ("proposed", None),
    "active": ("active", "in-progress"),
    "achieved": ("completed", "achieved"),
    "cancelled": ("cancelled", None),
}
ACTION_STATUS = {"open": "active", "done": "completed", "cancelled": "revoked"}
CARE_PLAN_STATUS = {"agreed": "active", "draft": "draft"}


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
            "subject": patient_reference(person_id),
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
            target["dueDate"] = fhir_date(item["target_date"])
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
                k: v
                for k, v in (("start", fhir_date(member.start)), ("end", fhir_date(member.end)))
                if v
            }
        participants.append(entry)
    return CareTeam.model_validate(
        {
            "resourceType": "CareTeam",
            "id": team_id,
            **profile_meta("CareTeam"),
            "status": "active",
            "subject": patient_reference(person_id),
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
        **profile_meta("CarePlan"),
        "identifier": [{"system": JOINEDUP_ID + "care-plan", "value": f"{plan_id}-v{version}"}],
        "status": CARE_PLAN_STATUS.get(status, "unknown"),
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": patient_reference(person_id),
        "note": [{"text": n} for n in notes] or None,
        "goal": [{"reference": f"Goal/{g}"} for g in goal_ids] or None,
        "careTeam": [{"reference": f"CareTeam/{care_team_id}"}] if care_team_id else None,
        "activity": [
            {"reference": {"reference": f"ServiceRequest/{r}"}} for r in action_request_ids
        ]
        or None,
    }
    if content.get("review_due_on"):
        body["period"] = {"end": fhir_date(content["review_due_on"])}
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
        **profile_meta("ServiceRequest"),
        "status": ACTION_STATUS.get(status, "unknown"),
        "intent": "plan",
        "code": {"text": title},
        "subject": patient_reference(person_id),
    }
    if owner_name:
        performer = owner_name + (f" ({owner_org})" if owner_org else "")
        body["performer"] = [{"display": performer}]
    if due_on:
        body["occurrencePeriod"] = {"end": fhir_date(due_on)}
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
