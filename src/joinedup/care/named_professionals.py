"""Named professionals: who oversees each registered person's care, and hand-over between them.

Everyone on the register (in an open state) should have one named professional: a GP, a nurse,
a care coordinator or a navigator. The professional must hold a role that fits (`ROLE_FITS`), and
becomes a member of the person's care team (`joinedup.governance.models.CareTeamMember`), so
they have a legitimate relationship with the person wherever the person is registered. The
history is kept: hand-over ends the current row with a reason and starts the new one, in one
audited transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import NAMED_PROFESSIONAL_ROLES, NamedProfessional, RegisterEntry
from joinedup.care.register import (
    ENDED_STATES,
    NAMED_TEAM_ROLE,
    NotOnRegister,
    RegisterError,
    RegisterNotAllowed,
    end_named_professional,
)
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import CareTeamMember, User, UserOrganisation
from joinedup.governance.relationships import organisation_tree, person_access
from joinedup.governance.roles import Principal

#: Which user roles may be each kind of named professional.
ROLE_FITS: Mapping[str, frozenset[str]] = {
    "gp": frozenset({"gp"}),
    "nurse": frozenset({"nurse"}),
    "care_coordinator": frozenset({"care_coordinator"}),
    "navigator": frozenset({"care_coordinator", "link_worker", "social_worker"}),
}
PROFESSIONAL_LABELS: Mapping[str, str] = {
    "gp": "GP",
    "nurse": "Nurse",
    "care_coordinator": "Care coordinator",
    "navigator": "Care navigator",
}
REASON_MAX = 2_000

assert set(ROLE_FITS) == set(NAMED_PROFESSIONAL_ROLES)


@dataclass(frozen=True)
class NamedProfessionalRecord:
    id: int
    person_id: int
    user_id: int
    display_name: str
    professional_role: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None

    @property
    def role_label(self) -> str:
        return PROFESSIONAL_LABELS.get(self.professional_role, self.professional_role)


@dataclass(frozen=True)
class Candidate:
    """A user who could be someone's named professional, and as what."""

    user_id: int
    display_name: str
    role: str
    professional_roles: tuple[str, ...]


def fitting_roles(user_role: str) -> tuple[str, ...]:
    """The kinds of named professional a user of `user_role` may be."""
    return tuple(kind for kind in NAMED_PROFESSIONAL_ROLES if user_role in ROLE_FITS[kind])


def assign(
    sessions: sessionmaker[Session],
    actor: Principal,
    *,
    person_id: int,
    user_id: int,
    professional_role: str,
    reason: str | None = None,
) -> NamedProfessionalRecord:
    """Make `user_id` the person's named professional; if someone else is now, hand over
    (their row ends with `reason`, which hand-over requires). One audited transaction."""
    if not actor.can("care.write"):
        raise RegisterNotAllowed(f"the {actor.role_name} role may not change the register")
    if professional_role not in ROLE_FITS:
        raise RegisterError(
            f"a named professional must be one of {', '.join(NAMED_PROFESSIONAL_ROLES)}"
        )
    note = (reason or "").strip() or None
    if note is not None and len(note) > REASON_MAX:
        raise RegisterError(f"The reason must be {REASON_MAX:,} characters or fewer")
    with sessions() as session:
        entry = session.scalar(select(RegisterEntry).where(RegisterEntry.person_id == person_id))
        if entry is None or entry.status in ENDED_STATES:
            raise NotOnRegister(
                f"person {person_id} is not on the coordinated care register: add them first"
            )
        practice, entry_id = entry.practice_code, entry.id
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise RegisterError("there is no active user with that id")
        if user.role not in ROLE_FITS[professional_role]:
            raise RegisterError(
                f"{user.display_name} cannot be a {PROFESSIONAL_LABELS[professional_role]} "
                f"named professional (their role is {user.role.replace('_', ' ')})"
            )
        name = user.display_name
    if not person_access(sessions, actor, person_id, practice).allowed:
        raise RegisterNotAllowed("you have no care relationship with this person")
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="register.named_professional",
        entity_type="register_entry",
        entity_id=str(entry_id),
        person_id=person_id,
        purpose=DIRECT_CARE,
        detail={"user_id": user_id, "professional_role": professional_role},
    ) as uow:
        current = uow.session.scalars(
            select(NamedProfessional)
            .where(NamedProfessional.person_id == person_id, NamedProfessional.ended_at.is_(None))
            .with_for_update()
        ).all()
        if any(c.user_id == user_id and c.professional_role == professional_role for c in current):
            raise RegisterError(f"{name} is already this person's named professional")
        if current and note is None:
            raise RegisterError("Enter a reason for handing over (a hand-over note)")
        if current:
            uow.audit.detail["handed_over_from"] = [c.user_id for c in current]
            end_named_professional(uow.session, person_id, uow.now, f"handed over: {note}")
        row = NamedProfessional(
            entry_id=entry_id,
            person_id=person_id,
            user_id=user_id,
            professional_role=professional_role,
            started_at=uow.now,
            assigned_by=actor.user_id,
        )
        uow.session.add(row)
        uow.session.add(
            CareTeamMember(
                person_id=person_id, user_id=user_id, team_role=NAMED_TEAM_ROLE, added_at=uow.now
            )
        )
        uow.session.flush()
        return NamedProfessionalRecord(
            row.id, person_id, user_id, name, professional_role, row.started_at, None, None
        )


def current_named_professional(
    sessions: sessionmaker[Session], person_id: int
) -> NamedProfessionalRecord | None:
    history = named_professional_history(sessions, person_id)
    return next((h for h in history if h.ended_at is None), None)


def named_professional_history(
    sessions: sessionmaker[Session], person_id: int
) -> list[NamedProfessionalRecord]:
    """Every named professional the person has had, newest first."""
    with sessions() as session:
        return history_in(session, person_id)


def current_named_professional_in(
    session: Session, person_id: int
) -> NamedProfessionalRecord | None:
    """`current_named_professional` in a session of the caller's (a page's reads together)."""
    return next((h for h in history_in(session, person_id) if h.ended_at is None), None)


def history_in(session: Session, person_id: int) -> list[NamedProfessionalRecord]:
    """`named_professional_history` in a session of the caller's."""
    rows = session.execute(
        select(NamedProfessional, User.display_name)
        .join(User, User.id == NamedProfessional.user_id)
        .where(NamedProfessional.person_id == person_id)
        .order_by(NamedProfessional.started_at.desc(), NamedProfessional.id.desc())
    ).all()
    return [
        NamedProfessionalRecord(
            n.id,
            n.person_id,
            n.user_id,
            name,
            n.professional_role,
            n.started_at,
            n.ended_at,
            n.end_reason,
        )
        for n, name in rows
    ]


@dataclass(frozen=True)
class TeamMember:
    user_id: int
    display_name: str
    role: str
    team_role: str
    added_at: dt.datetime


def care_team(sessions: sessionmaker[Session], person_id: int) -> list[TeamMember]:
    """The person's current care team (members not ended), longest-standing first."""
    with sessions() as session:
        return care_team_in(session, person_id)


def care_team_in(session: Session, person_id: int) -> list[TeamMember]:
    """`care_team` in a session of the caller's."""
    rows = session.execute(
        select(CareTeamMember, User.display_name, User.role)
        .join(User, User.id == CareTeamMember.user_id)
        .where(CareTeamMember.person_id == person_id, CareTeamMember.ended_at.is_(None))
        .order_by(CareTeamMember.added_at, CareTeamMember.id)
    ).all()
    return [TeamMember(m.user_id, name, role, m.team_role, m.added_at) for m, name, role in rows]


def candidates_for(sessions: sessionmaker[Session], practice_code: str) -> list[Candidate]:
    """Active users of a fitting role who work at or over `practice_code`, by name."""
    roles = sorted({r for fits in ROLE_FITS.values() for r in fits})
    with sessions() as session:
        users = session.execute(
            select(User.id, User.display_name, User.role)
            .where(User.active.is_(True), User.role.in_(roles))
            .order_by(User.display_name, User.id)
        ).all()
        places: dict[int, list[str]] = {}
        for uid, code in session.execute(
            select(UserOrganisation.user_id, UserOrganisation.org_code).where(
                UserOrganisation.user_id.in_([u.id for u in users])
            )
        ):
            places.setdefault(uid, []).append(code)
        tree = organisation_tree(session)  # once, not once a user (a query each)
        found = []
        for uid, name, role in users:
            if practice_code in tree.practices_under(places.get(uid, [])):
                found.append(Candidate(uid, name, role, fitting_roles(role)))
    return found
