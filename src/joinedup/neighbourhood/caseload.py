"""The neighbourhood caseload: the integrated team and the people it visits (issue 15).

* **The team**: members from every organisation of the neighbourhood (community trust,
  practices, social care) in a team role (`caseload_models.TEAM_ROLES`); nurses carry band,
  skills, whole-time equivalent and base, which the visit planner reads.
* **Intake**: a person joins the caseload from a referral, the coordinated care register or a
  hospital discharge, with why, acuity, the named nurse and the visit the named nurse sets
  (type, days a week, minutes, time window, fixed time, skills, two-person, preferred nurse)
  and the next review. The user must have a legitimate relationship with the person (the rule
  the person gate applies); a person has one open entry per neighbourhood.
* **Discharge** ends the entry with a reason (`DISCHARGE_REASONS`); the row is kept.

The care register's *named professional* (`care.named_professionals`) is who oversees a
person's whole care; the caseload's *named nurse* is who sets and owns their home visits. They
may be the same person; neither replaces the other.

Every write is one `unit_of_work` whose audit event names the person by id only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.neighbourhood.caseload_models import (
    ACUITIES,
    DISCHARGE_REASONS,
    INTAKE_SOURCES,
    ORGANISATION_KINDS,
    TEAM_ROLES,
    VISIT_TYPES,
    VISITING_ROLES,
    CaseloadEntry,
    TeamMember,
)
from joinedup.population.reads import PersonIdentity

WRITE_PERMISSION = "ward.use"  # the clinical roles that run care at home
REASON_MAX = 500
SKILL_PATTERN = "abcdefghijklmnopqrstuvwxyz0123456789_"
#: Acuity as the planner's priority: high must be seen today at its time (insulin, end of
#: life, a blocked catheter), medium should be, low can wait a day (`visits.model`).
PRIORITY_OF_ACUITY = {"high": 1, "medium": 2, "low": 3}
DISCHARGE_LABELS = {
    "goals_met": "Goals met",
    "self_managing": "Self-managing",
    "admitted_to_hospital": "Admitted to hospital",
    "moved_away": "Moved away",
    "transferred": "Transferred to another service",
    "declined": "Declined further visits",
    "died": "Died",
}


class CaseloadError(UserError, ValueError):
    """A caseload request cannot be done as asked; `problems` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class CaseloadNotAllowed(UserError, PermissionError):
    """The user may not do this on the caseload."""


class CaseloadNotFound(CaseloadError, LookupError):
    def __init__(self, what: str) -> None:
        super().__init__([f"there is no {what}"])


def check_can_write(actor: Principal) -> None:
    if not actor.can(WRITE_PERMISSION):
        raise CaseloadNotAllowed("your role may not change the neighbourhood caseload")


# --- the team -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRequest:
    display_name: str
    organisation_kind: str
    organisation_name: str
    team_role: str
    wte: float = 1.0
    band: int | None = None
    skills: tuple[str, ...] = ()
    base: tuple[float, float] | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class Member:
    id: int
    neighbourhood_code: str
    display_name: str
    organisation_kind: str
    organisation_name: str
    team_role: str
    band: int | None
    skills: tuple[str, ...]
    wte: float
    base: tuple[float, float] | None
    user_id: int | None

    @property
    def visits(self) -> bool:
        return self.team_role in VISITING_ROLES

    @property
    def role_label(self) -> str:
        return self.team_role.replace("_", " ").capitalize().replace("gp", "GP")


def member_problems(request: MemberRequest) -> list[str]:
    problems = [] if request.display_name.strip() else ["a team member has a name"]
    if request.organisation_kind not in ORGANISATION_KINDS:
        problems.append(f"organisation kind {request.organisation_kind!r} is not one of ours")
    if request.team_role not in TEAM_ROLES:
        problems.append(f"team role {request.team_role!r} is not one of ours")
    if not 0 < request.wte <= 1.5:
        problems.append(f"whole-time equivalent {request.wte} is not between 0 and 1.5")
    if request.band is not None and not 2 <= request.band <= 9:
        problems.append(f"band {request.band} is not an Agenda for Change band (2–9)")
    problems += _skill_problems(request.skills)
    if request.team_role in VISITING_ROLES and request.base is None:
        problems.append("a member who visits has a base to start from")
    return problems


def _skill_problems(skills: Sequence[str]) -> list[str]:
    return [
        f"skill {s!r} is not lower-case letters, digits and _"
        for s in skills
        if not s or set(s) - set(SKILL_PATTERN)
    ]


def add_member(
    sessions: sessionmaker[Session], actor: Principal, neighbourhood_code: str, req: MemberRequest
) -> int:
    """A new member of a neighbourhood's integrated team; returns their id."""
    check_can_write(actor)
    problems = member_problems(req)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload_team.add_member",
        entity_type="team_member",
        purpose=DIRECT_CARE,
        detail={"neighbourhood": neighbourhood_code, "team_role": req.team_role},
    ) as uow:
        problems += _neighbourhood_problems(uow.session, neighbourhood_code)
        if problems:
            raise CaseloadError(problems)
        member = TeamMember(
            neighbourhood_code=neighbourhood_code,
            display_name=req.display_name.strip(),
            user_id=req.user_id,
            organisation_kind=req.organisation_kind,
            organisation_name=req.organisation_name.strip() or req.organisation_kind,
            team_role=req.team_role,
            band=req.band,
            skills=sorted(set(req.skills)),
            wte=req.wte,
            base_lat=req.base[0] if req.base else None,
            base_lon=req.base[1] if req.base else None,
            active=True,
            created_at=uow.now,
        )
        uow.session.add(member)
        uow.session.flush()
        uow.audit.entity_id = str(member.id)
        return int(member.id)


def _neighbourhood_problems(session: Session, code: str) -> list[str]:
    org = session.get(Organisation, code)
    if org is None or org.org_type != "neighbourhood":
        return [f"{code!r} is not a neighbourhood of this area"]
    return []


def _member(row: TeamMember) -> Member:
    base = (row.base_lat, row.base_lon) if row.base_lat is not None else None
    return Member(
        int(row.id),
        row.neighbourhood_code,
        row.display_name,
        row.organisation_kind,
        row.organisation_name,
        row.team_role,
        row.band,
        tuple(row.skills),
        float(row.wte),
        base,  # type: ignore[arg-type]
        row.user_id,
    )


def team(sessions: sessionmaker[Session], neighbourhood_code: str) -> list[Member]:
    """The neighbourhood's active team, by role then name."""
    with sessions() as session:
        rows = session.scalars(
            select(TeamMember)
            .where(TeamMember.neighbourhood_code == neighbourhood_code, TeamMember.active)
            .order_by(TeamMember.team_role, TeamMember.display_name, TeamMember.id)
        ).all()
        return [_member(r) for r in rows]


def neighbourhoods(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(code, name) of every active neighbourhood of the area."""
    with sessions() as session:
        rows = session.execute(
            select(Organisation.org_code, Organisation.name)
            .where(Organisation.org_type == "neighbourhood", Organisation.active)
            .order_by(Organisation.name)
        ).all()
    return [(str(c), str(n)) for c, n in rows]


def neighbourhood_name(sessions: sessionmaker[Session], code: str) -> str:
    """The neighbourhood's name, or `CaseloadNotFound`."""
    with sessions() as session:
        org = session.get(Organisation, code)
        if org is None or org.org_type != "neighbourhood":
            raise CaseloadNotFound(f"neighbourhood {code}")
        return str(org.name)


# --- the caseload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRequest:
    """What the named nurse sets when a person joins the caseload."""

    reason: str
    intake_source: str
    acuity: str
    named_nurse_id: int
    visit_type: str
    visits_per_week: int
    duration_min: int
    window_start: int
    window_end: int
    next_review: dt.date
    fixed_time: int | None = None
    required_skills: tuple[str, ...] = ()
    two_person: bool = False
    preferred_nurse_id: int | None = None


@dataclass(frozen=True)
class Entry:
    id: int
    neighbourhood_code: str
    person_id: int
    reason: str
    intake_source: str
    acuity: str
    named_nurse: str
    named_nurse_id: int
    preferred_nurse_id: int | None
    visit_type: str
    visits_per_week: int
    duration_min: int
    window_start: int
    window_end: int
    fixed_time: int | None
    required_skills: tuple[str, ...]
    two_person: bool
    next_review: dt.date
    last_outcome: str | None
    last_outcome_on: dt.date | None
    added_at: dt.datetime
    discharged_at: dt.datetime | None = None
    discharge_reason: str | None = None

    @property
    def priority(self) -> int:
        return PRIORITY_OF_ACUITY[self.acuity]


def _entry_problems(req: EntryRequest) -> list[str]:
    problems = []
    if not req.reason.strip() or len(req.reason) > REASON_MAX:
        problems.append(f"say why the person is on the caseload (1–{REASON_MAX} characters)")
    for value, allowed, what in (
        (req.intake_source, INTAKE_SOURCES, "intake source"),
        (req.acuity, ACUITIES, "acuity"),
        (req.visit_type, VISIT_TYPES, "visit type"),
    ):
        if value not in allowed:
            problems.append(f"{what} {value!r} is not one of {', '.join(allowed)}")
    if not 1 <= req.visits_per_week <= 7:
        problems.append("visits a week are between 1 and 7")
    if not 5 <= req.duration_min <= 240:
        problems.append("a visit lasts between 5 and 240 minutes")
    if not 0 <= req.window_start < req.window_end <= 24 * 60:
        problems.append("the time window's start is before its end, within the day")
    elif req.window_end - req.window_start < req.duration_min:
        problems.append("the time window is shorter than the visit")
    elif req.fixed_time is not None and not (
        req.window_start <= req.fixed_time <= req.window_end - req.duration_min
    ):
        problems.append("the fixed time leaves the visit outside its window")
    return problems + _skill_problems(req.required_skills)


def _nurse_problems(session: Session, code: str, req: EntryRequest) -> list[str]:
    problems = []
    for member_id, what in ((req.named_nurse_id, "named"), (req.preferred_nurse_id, "preferred")):
        if member_id is None:
            continue
        member = session.get(TeamMember, member_id)
        if member is None or member.neighbourhood_code != code or not member.active:
            problems.append(f"the {what} nurse is not in this neighbourhood's team")
        elif member.team_role not in VISITING_ROLES:
            problems.append(f"the {what} nurse is not in a visiting role")
    return problems


def add_to_caseload(
    sessions: sessionmaker[Session],
    actor: Principal,
    person: PersonIdentity,
    neighbourhood_code: str,
    req: EntryRequest,
) -> int:
    """Put `person` on the neighbourhood's caseload; returns the entry's id."""
    check_can_write(actor)
    if not person_access(sessions, actor, person.person_id, person.practice_code).allowed:
        raise CaseloadNotAllowed("you have no legitimate relationship with this person")
    problems = _entry_problems(req)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload.add",
        entity_type="caseload_entry",
        purpose=DIRECT_CARE,
        person_id=person.person_id,
        detail={"neighbourhood": neighbourhood_code, "intake_source": req.intake_source},
    ) as uow:
        problems += _neighbourhood_problems(uow.session, neighbourhood_code)
        problems += _nurse_problems(uow.session, neighbourhood_code, req)
        if _open_entry(uow.session, neighbourhood_code, person.person_id) is not None:
            problems.append("the person is already on this neighbourhood's caseload")
        if problems:
            raise CaseloadError(problems)
        entry = CaseloadEntry(
            neighbourhood_code=neighbourhood_code,
            person_id=person.person_id,
            reason=req.reason.strip(),
            intake_source=req.intake_source,
            acuity=req.acuity,
            named_nurse_id=req.named_nurse_id,
            preferred_nurse_id=req.preferred_nurse_id,
            visit_type=req.visit_type,
            visits_per_week=req.visits_per_week,
            duration_min=req.duration_min,
            window_start=req.window_start,
            window_end=req.window_end,
            fixed_time=req.fixed_time,
            required_skills=sorted(set(req.required_skills)),
            two_person=req.two_person,
            next_review=req.next_review,
            added_at=uow.now,
            added_by=actor.user_id,
        )
        uow.session.add(entry)
        uow.session.flush()
        uow.audit.entity_id = str(entry.id)
        return int(entry.id)


def _open_entry(session: Session, code: str, person_id: int) -> CaseloadEntry | None:
    return session.scalars(
        select(CaseloadEntry).where(
            CaseloadEntry.neighbourhood_code == code,
            CaseloadEntry.person_id == person_id,
            CaseloadEntry.discharged_at.is_(None),
        )
    ).first()


def discharge(
    sessions: sessionmaker[Session],
    actor: Principal,
    person: PersonIdentity,
    entry_id: int,
    reason: str,
) -> None:
    """End the person's caseload entry with a reason (`DISCHARGE_REASONS`)."""
    check_can_write(actor)
    if not person_access(sessions, actor, person.person_id, person.practice_code).allowed:
        raise CaseloadNotAllowed("you have no legitimate relationship with this person")
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload.discharge",
        entity_type="caseload_entry",
        entity_id=str(entry_id),
        purpose=DIRECT_CARE,
        person_id=person.person_id,
        detail={"reason": reason},
    ) as uow:
        entry = uow.session.get(CaseloadEntry, entry_id)
        if entry is None or entry.person_id != person.person_id:
            raise CaseloadNotFound("such caseload entry for this person")
        problems = [] if reason in DISCHARGE_REASONS else [f"{reason!r} is not a discharge reason"]
        if entry.discharged_at is not None:
            problems.append("the person has already been discharged from this caseload")
        if problems:
            raise CaseloadError(problems)
        entry.discharged_at = uow.now
        entry.discharged_by = actor.user_id
        entry.discharge_reason = reason


def _entries(session: Session, *conditions: object) -> list[Entry]:
    rows = session.execute(
        select(CaseloadEntry, TeamMember.display_name)
        .join(TeamMember, TeamMember.id == CaseloadEntry.named_nurse_id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(CaseloadEntry.added_at, CaseloadEntry.id)
    ).all()
    return [_entry(row, str(nurse)) for row, nurse in rows]


def _entry(row: CaseloadEntry, nurse: str) -> Entry:
    return Entry(
        id=int(row.id),
        neighbourhood_code=row.neighbourhood_code,
        person_id=int(row.person_id),
        reason=row.reason,
        intake_source=row.intake_source,
        acuity=row.acuity,
        named_nurse=nurse,
        named_nurse_id=int(row.named_nurse_id),
        preferred_nurse_id=row.preferred_nurse_id,
        visit_type=row.visit_type,
        visits_per_week=row.visits_per_week,
        duration_min=row.duration_min,
        window_start=row.window_start,
        window_end=row.window_end,
        fixed_time=row.fixed_time,
        required_skills=tuple(row.required_skills),
        two_person=bool(row.two_person),
        next_review=row.next_review,
        last_outcome=row.last_outcome,
        last_outcome_on=row.last_outcome_on,
        added_at=row.added_at,
        discharged_at=row.discharged_at,
        discharge_reason=row.discharge_reason,
    )


def caseload(sessions: sessionmaker[Session], neighbourhood_code: str) -> list[Entry]:
    """The people on the neighbourhood's caseload now, in order of joining."""
    with sessions() as session:
        return _entries(
            session,
            CaseloadEntry.neighbourhood_code == neighbourhood_code,
            CaseloadEntry.discharged_at.is_(None),
        )


def entries_of(sessions: sessionmaker[Session], person_id: int) -> list[Entry]:
    """Every caseload entry of the person, open and discharged."""
    with sessions() as session:
        return _entries(session, CaseloadEntry.person_id == person_id)
