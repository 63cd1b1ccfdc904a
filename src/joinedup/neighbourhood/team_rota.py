"""Managing a neighbourhood's integrated team and its rota (issue 15/16): change or remove a
team member, take a shift off the rota, and the places a member can be based at.

Adding a member is `caseload.add_member`, putting a shift on the rota `visit_day.set_shifts`;
this module holds the rest, with the same rules: every write needs ``ward.use`` and is one
`unit_of_work` with its audit event; a request is refused whole with every reason.

* **Bases** are the neighbourhood's practices, placed by `population.places.practice_locations`
  (the premises from the area's metadata), so a nurse's day starts and ends at a real place.
* **Removing** a member keeps the row (inactive), since plans and outcomes name them; a member
  who is still the named nurse of someone on the caseload cannot be removed until another
  nurse is named, so no visit is left without its owner. Their future shifts go with them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.roles import Principal
from joinedup.neighbourhood.caseload import (
    CaseloadError,
    CaseloadNotFound,
    MemberRequest,
    check_can_write,
    member_problems,
)
from joinedup.neighbourhood.caseload_models import (
    VISITING_ROLES,
    CaseloadEntry,
    RotaShift,
    TeamMember,
)
from joinedup.population.places import practice_locations
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore


@dataclass(frozen=True)
class Base:
    code: str
    name: str
    lat: float
    lon: float


def bases(store: PopulationStore, neighbourhood_code: str) -> list[Base]:
    """The neighbourhood's practices with a place, by name: where a member can be based."""
    places = practice_locations(store)
    return sorted(
        (
            Base(code, org.name, places[code].point.lat, places[code].point.lon)
            for code, org in organisations(store).items()
            if org.parent_code == neighbourhood_code and code in places
        ),
        key=lambda b: (b.name, b.code),
    )


def base_of(options: list[Base], point: tuple[float, float] | None) -> Base | None:
    """Which of `options` a stored base is (None: no base, or somewhere else)."""
    if point is None:
        return None
    return next((b for b in options if (b.lat, b.lon) == point), None)


def _member_row(session: Session, neighbourhood_code: str, member_id: int) -> TeamMember:
    row = session.get(TeamMember, member_id)
    if row is None or not row.active or row.neighbourhood_code != neighbourhood_code:
        raise CaseloadNotFound("such member of this neighbourhood's team")
    return row


def edit_member(
    sessions: sessionmaker[Session],
    actor: Principal,
    neighbourhood_code: str,
    member_id: int,
    req: MemberRequest,
) -> None:
    """Change a member's organisation, role, band, skills, WTE and base."""
    check_can_write(actor)
    problems = member_problems(req)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload_team.edit_member",
        entity_type="team_member",
        entity_id=str(member_id),
        purpose=DIRECT_CARE,
        detail={"neighbourhood": neighbourhood_code, "team_role": req.team_role},
    ) as uow:
        row = _member_row(uow.session, neighbourhood_code, member_id)
        if req.team_role not in VISITING_ROLES and _named_nurse_of(uow.session, member_id):
            problems.append(_still_named(uow.session, member_id))
        if problems:
            raise CaseloadError(problems)
        row.display_name = req.display_name.strip()
        row.organisation_kind = req.organisation_kind
        row.organisation_name = req.organisation_name.strip() or req.organisation_kind
        row.team_role, row.band, row.wte = req.team_role, req.band, req.wte
        row.skills = sorted(set(req.skills))
        row.base_lat = req.base[0] if req.base else None
        row.base_lon = req.base[1] if req.base else None


def _named_nurse_of(session: Session, member_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(CaseloadEntry.id)).where(
                CaseloadEntry.discharged_at.is_(None),
                CaseloadEntry.named_nurse_id == member_id,
            )
        )
        or 0
    )


def _still_named(session: Session, member_id: int) -> str:
    count = _named_nurse_of(session, member_id)
    people = "person" if count == 1 else "people"
    return (
        f"they are the named nurse of {count} {people} on the caseload: "
        "name another nurse for them first"
    )


def remove_member(
    sessions: sessionmaker[Session],
    actor: Principal,
    neighbourhood_code: str,
    member_id: int,
    today: dt.date,
) -> None:
    """Take a member off the team (kept, inactive) and their shifts from `today` on."""
    check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="caseload_team.remove_member",
        entity_type="team_member",
        entity_id=str(member_id),
        purpose=DIRECT_CARE,
        detail={"neighbourhood": neighbourhood_code},
    ) as uow:
        row = _member_row(uow.session, neighbourhood_code, member_id)
        if _named_nurse_of(uow.session, member_id):
            raise CaseloadError([_still_named(uow.session, member_id)])
        row.active = False
        uow.session.execute(
            delete(RotaShift).where(RotaShift.member_id == member_id, RotaShift.day >= today)
        )


def remove_shift(
    sessions: sessionmaker[Session],
    actor: Principal,
    neighbourhood_code: str,
    member_id: int,
    day: dt.date,
) -> None:
    """Take a member's shift on `day` off the rota."""
    check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="rota.remove_shift",
        entity_type="rota",
        entity_id=day.isoformat(),
        purpose=DIRECT_CARE,
        detail={"member_id": member_id},
    ) as uow:
        _member_row(uow.session, neighbourhood_code, member_id)
        shift = uow.session.scalars(
            select(RotaShift).where(RotaShift.member_id == member_id, RotaShift.day == day)
        ).first()
        if shift is None:
            raise CaseloadNotFound("shift for them on that day")
        uow.session.delete(shift)
