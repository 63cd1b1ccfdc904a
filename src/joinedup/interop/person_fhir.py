"""One person's record as a FHIR R4 bundle: what joinedup holds about them, from both stores.

Reads the population store (the person, their GP appointments and measurements) and the care
store (care plan, named professional and care-team members, tracked actions) and builds the
resources with `joinedup.interop.fhir_out`. Identifiable: callers check the legitimate
relationship and audit before calling (`joinedup.web.fhir`, `joinedup.interop.cli`).
"""

from __future__ import annotations

import functools
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import CareAction, CarePlan, CarePlanVersion, NamedProfessional
from joinedup.governance.models import CareTeamMember, User
from joinedup.interop import fhir_out
from joinedup.population.reads import PersonIdentity, one_person_reader, table_file
from joinedup.population.store import PopulationStore
from joinedup.terminology.codelists import load_codelist

MEASUREMENT_CODELISTS = (fhir_out.SYSTOLIC, fhir_out.DIASTOLIC, "hba1c")
#: Pulse rate has no codelist: SNOMED CT 78564009 "Pulse rate (observable entity)".
PULSE_RATE = {("snomed", "78564009"): "pulse-rate"}


@functools.cache
def measurement_codes() -> dict[tuple[str, str], str]:
    """(code_system, code) → measurement codelist id, for the codelists sent with LOINC."""
    found: dict[tuple[str, str], str] = dict(PULSE_RATE)
    for codelist_id in MEASUREMENT_CODELISTS:
        codelist = load_codelist(codelist_id)
        for system, codes in codelist.codes.items():
            for code in codes:
                found.setdefault((system, code), codelist_id)
    return found


def _rows(store: PopulationStore, table: str, where: str, person_id: int) -> list[dict[str, Any]]:
    path = table_file(store, table)
    if path is None:
        return []
    return one_person_reader.records(
        f"select * from read_parquet(?) where person_id = ? and {where}", (path, person_id)
    )


def gp_appointments(store: PopulationStore, person_id: int) -> list[dict[str, Any]]:
    rows = _rows(store, "gp_appointments", "true", person_id)
    return sorted(rows, key=lambda r: (r["appointment_date"], r["appointment_id"]))


def measurements(store: PopulationStore, person_id: int) -> list[dict[str, Any]]:
    rows = _rows(store, "clinical_events", "value is not null", person_id)
    return sorted(rows, key=lambda r: (r["event_date"], r["event_id"]))


def team_members(session: Session, person_id: int) -> list[fhir_out.TeamMember]:
    """The person's current named professional and care-team members, with their names."""
    members = []
    named = session.execute(
        select(NamedProfessional, User)
        .join(User, User.id == NamedProfessional.user_id)
        .where(NamedProfessional.person_id == person_id, NamedProfessional.ended_at.is_(None))
    ).all()
    for professional, user in named:
        role = f"named professional ({professional.professional_role.replace('_', ' ')})"
        members.append(
            fhir_out.TeamMember(user.display_name, role, start=professional.started_at.date())
        )
    team = session.execute(
        select(CareTeamMember, User)
        .join(User, User.id == CareTeamMember.user_id)
        .where(CareTeamMember.person_id == person_id, CareTeamMember.ended_at.is_(None))
    ).all()
    for member, user in team:
        members.append(
            fhir_out.TeamMember(
                user.display_name, member.team_role.replace("_", " "), start=member.added_at.date()
            )
        )
    return members


def care_resources(sessions: sessionmaker[Session], person_id: int) -> list[Resource]:
    """Care plan (latest version) with goals, care team and its actions; other tracked actions;
    a care team of its own when the person has members but no plan."""
    with sessions() as session:
        members = team_members(session, person_id)
        plan = session.scalars(select(CarePlan).where(CarePlan.person_id == person_id)).first()
        made: list[Resource] = []
        in_plan: set[int] = set()
        if plan is not None:
            version = session.scalars(
                select(CarePlanVersion).where(
                    CarePlanVersion.plan_id == plan.id, CarePlanVersion.version == plan.version
                )
            ).one()
            content = version.content
            in_plan = {
                a["care_action_id"] for a in content.get("actions") or [] if a.get("care_action_id")
            }
            made += fhir_out.care_plan_resources(
                person_id,
                plan.id,
                status=plan.status,
                version=plan.version,
                content=content,
                members=members,
                created=plan.created_at,
            )
        elif members:
            made.append(fhir_out.care_team(person_id, f"person-{person_id}-team", members))
        actions = session.scalars(
            select(CareAction).where(CareAction.person_id == person_id).order_by(CareAction.id)
        ).all()
        made += [fhir_out.care_action_request(a) for a in actions if a.id not in in_plan]
    return made


def person_resources(
    store: PopulationStore, sessions: sessionmaker[Session], person: PersonIdentity
) -> list[Resource]:
    """Everything joinedup exports about `person`, Patient first."""
    resources: list[Resource] = [fhir_out.patient(person)]
    resources += care_resources(sessions, person.person_id)
    schedules: set[str] = set()
    for row in gp_appointments(store, person.person_id):
        schedule, slot, appointment = fhir_out.appointment_resources(person.person_id, row)
        if schedule.id not in schedules:
            schedules.add(str(schedule.id))
            resources.append(schedule)
        resources += [slot, appointment]
    resources += fhir_out.observations(
        person.person_id, measurements(store, person.person_id), measurement_codes()
    )
    return resources


def person_bundle(
    store: PopulationStore,
    sessions: sessionmaker[Session],
    person: PersonIdentity,
    base: str = "",
) -> Bundle:
    """The person's record as a ``searchset`` bundle (the answer to Patient/$everything)."""
    return fhir_out.bundle(person_resources(store, sessions, person), "searchset", base)
