"""Seed the demo's neighbourhood caseloads: a team, a caseload and a week's rota per
neighbourhood, so the caseload, visit and capacity pages have something in them.

Deterministic for a store (people are taken in person-id order among those aged 75 or more,
registered in the neighbourhood, with a home to visit; visit kinds cycle in a fixed order).
Idempotent: a neighbourhood that already has a team is left as it is.

The team comes from every organisation: the community trust's district nurses (bands 5–7, with
the skills the visits need), a lead GP from a practice, a community matron and a therapist, and a
social worker from the council's adult social care. Each nurse is based at one of the
neighbourhood's practices in turn (`population.places.practice_locations`: the premises the area's
metadata gives), the community matron at the first, the community base; only a neighbourhood with
no placed practice falls back to the middle of the caseload's homes. The entries are
written as one audited seed, not one intake each: the demo has no clinician with a relationship
to every neighbourhood's people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.neighbourhood.caseload import (
    CaseloadError,
    MemberRequest,
    add_member,
    neighbourhoods,
)
from joinedup.neighbourhood.caseload_models import CaseloadEntry, TeamMember
from joinedup.neighbourhood.visit_day import ShiftRequest, set_shifts
from joinedup.population.places import practice_locations
from joinedup.population.reads import (
    find_person,
    home_points,
    organisations,
    practices_of,
    registered_person_ids,
)
from joinedup.population.store import PopulationStore

OLDEST_FIRST_AGE = 75
ROTA_DAYS = 7


@dataclass(frozen=True)
class Kind:
    visit_type: str
    reason: str
    acuity: str
    per_week: int
    minutes: int
    window: tuple[int, int]
    fixed: int | None = None
    skills: tuple[str, ...] = ()
    two_person: bool = False


# What a district nursing caseload holds, cycled in this order.
KINDS: tuple[Kind, ...] = (
    Kind("insulin", "Insulin, cannot self-administer", "high", 7, 15, (495, 570), fixed=510),
    Kind("wound_care", "Leg ulcer dressing", "medium", 3, 30, (540, 960)),
    Kind(
        "compression",
        "Compression bandaging",
        "medium",
        2,
        45,
        (540, 1020),
        skills=("compression",),
    ),
    Kind("catheter", "Long-term catheter care", "medium", 1, 30, (540, 960), skills=("catheter",)),
    Kind("end_of_life", "End-of-life care", "high", 7, 45, (540, 780), skills=("syringe_driver",)),
    Kind("wound_care", "Pressure ulcer, grade 2", "medium", 3, 30, (540, 960)),
    Kind("medication", "Eye drops and medication prompt", "low", 2, 15, (600, 1020)),
    Kind("assessment", "Frailty assessment after discharge", "low", 1, 60, (540, 1020)),
    Kind("end_of_life", "End-of-life care, hoist", "high", 7, 45, (600, 900), two_person=True),
)
NURSES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("Lead district nurse", "lead_district_nurse", 7, ("syringe_driver", "catheter")),
    ("District nurse A", "district_nurse", 6, ("syringe_driver", "compression")),
    ("District nurse B", "district_nurse", 6, ("catheter", "compression")),
    ("Community nurse C", "community_nurse", 5, ("compression",)),
    ("Community nurse D", "community_nurse", 5, ()),
)


def demo_principal(sessions: sessionmaker[Session], username: str = "demo-nurse") -> Principal:
    """The demo user who seeds the caseloads (the demo nurse)."""
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise CaseloadError([f"the demo caseload needs the demo user {username}"])
        orgs = tuple(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
            )
        )
        return Principal(user.id, user.username, user.display_name, user.role, orgs)


def seed_demo_caseloads(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    actor: Principal,
    *,
    first_day: dt.date,
    people_per_neighbourhood: int = 40,
    only: Sequence[str] | None = None,
) -> int:
    """Seed each neighbourhood without a team (or those in `only`); how many were seeded."""
    seeded = 0
    for code, name in neighbourhoods(sessions):
        if (only is not None and code not in only) or _has_team(sessions, code):
            continue
        people = _people(store, code, first_day, people_per_neighbourhood)
        if not people:
            continue
        nurses = _team(sessions, actor, code, name, _bases(store, code, people))
        _entries(sessions, actor, code, people, nurses, first_day)
        for offset in range(ROTA_DAYS):
            shifts = [ShiftRequest(m, 480, 990, 720, 840, 30, 10) for m in nurses]
            set_shifts(sessions, actor, first_day + dt.timedelta(days=offset), shifts)
        seeded += 1
    return seeded


def _bases(store: PopulationStore, code: str, people: Sequence[int]) -> list[tuple[float, float]]:
    """The neighbourhood's practices' places in code order (the first is the community base);
    else the middle of the caseload's homes."""
    places = practice_locations(store)
    practices = sorted(c for c, o in organisations(store).items() if o.parent_code == code)
    bases = [(places[c].point.lat, places[c].point.lon) for c in practices if c in places]
    if bases:
        return bases
    homes = home_points(store, people)
    return [
        (
            sum(homes[p][0] for p in people) / len(people),
            sum(homes[p][1] for p in people) / len(people),
        )
    ]


def _has_team(sessions: sessionmaker[Session], code: str) -> bool:
    with sessions() as session:
        return (
            session.scalars(
                select(TeamMember.id).where(TeamMember.neighbourhood_code == code)
            ).first()
            is not None
        )


def _people(store: PopulationStore, code: str, on: dt.date, count: int) -> list[int]:
    practices = {c for c, o in organisations(store).items() if o.parent_code == code}
    ids = registered_person_ids(store).tolist()
    mine = (p for p, practice in practices_of(store, ids).items() if practice in practices)
    older: list[int] = []
    for person_id in mine:  # in id order, stopping once there are enough to choose from
        who = find_person(store, person_id)
        if who is not None and who.age_on(on) >= OLDEST_FIRST_AGE:
            older.append(person_id)
            if len(older) >= count * 3:
                break
    homes = home_points(store, older)
    return [p for p in older if p in homes][:count]


def _team(
    sessions: sessionmaker[Session],
    actor: Principal,
    code: str,
    name: str,
    bases: Sequence[tuple[float, float]],
) -> list[int]:
    trust = "Synthetic Community Health NHS Trust"
    nurses = [
        add_member(
            sessions,
            actor,
            code,
            MemberRequest(
                f"{title} ({name})",
                "community_trust",
                trust,
                role,
                1.0,
                band,
                skills,
                bases[i % len(bases)],
            ),
        )
        for i, (title, role, band, skills) in enumerate(NURSES)
    ]
    for title, kind, org, role in (
        ("Lead GP", "practice", f"{name} practices", "lead_gp"),
        ("Community matron", "community_trust", trust, "community_matron"),
        ("Occupational therapist", "community_trust", trust, "therapist"),
        (
            "Social worker",
            "social_care",
            "Synthetic County Council adult social care",
            "social_worker",
        ),
    ):
        base_or_none = bases[0] if role == "community_matron" else None
        add_member(
            sessions,
            actor,
            code,
            MemberRequest(f"{title} ({name})", kind, org, role, 1.0, None, (), base_or_none),
        )
    return nurses


def _entries(
    sessions: sessionmaker[Session],
    actor: Principal,
    code: str,
    people: Sequence[int],
    nurses: Sequence[int],
    first_day: dt.date,
) -> None:
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload.seed_demo",
        entity_type="caseload",
        entity_id=code,
        purpose=DIRECT_CARE,
        detail={"people": len(people)},
    ) as uow:
        for i, person_id in enumerate(people):
            kind = KINDS[i % len(KINDS)]
            nurse = _fitting_nurse(kind, nurses, i)
            uow.session.add(
                CaseloadEntry(
                    neighbourhood_code=code,
                    person_id=person_id,
                    reason=kind.reason,
                    intake_source=("referral", "hospital_discharge", "register")[i % 3],
                    acuity=kind.acuity,
                    named_nurse_id=nurse,
                    preferred_nurse_id=None,
                    visit_type=kind.visit_type,
                    visits_per_week=kind.per_week,
                    duration_min=kind.minutes,
                    window_start=kind.window[0],
                    window_end=kind.window[1],
                    fixed_time=kind.fixed,
                    required_skills=list(kind.skills),
                    two_person=kind.two_person,
                    next_review=first_day + dt.timedelta(days=7 + 3 * (i % 10)),
                    added_at=uow.now,
                    added_by=actor.user_id,
                )
            )


def _fitting_nurse(kind: Kind, nurses: Sequence[int], i: int) -> int:
    """The named nurse: in turn among those holding the visit's skills."""
    fitting = [
        m
        for m, (_, _, _, skills) in zip(nurses, NURSES, strict=True)
        if set(kind.skills) <= set(skills)
    ]
    return fitting[i % len(fitting)]
