"""Caseloads: how many people on the register each named professional oversees, and whether the
work is shared fairly across each neighbourhood team.

A professional's caseload is the people whose current named professional they are, counted in
the neighbourhood of each person's register entry (someone working across two neighbourhoods
appears in both teams). A caseload is flagged as heavy when it is more than `IMBALANCE_RATIO`
times the team's median caseload — a prompt to look at hand-overs, not a rule; the median is
used because one very large caseload would drag a mean up and hide itself.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import NamedProfessional, RegisterEntry
from joinedup.care.named_professionals import PROFESSIONAL_LABELS
from joinedup.care.register import ENDED_STATES
from joinedup.governance.models import User

#: A caseload more than this many times its team's median is flagged.
IMBALANCE_RATIO = 1.5


@dataclass(frozen=True)
class Caseload:
    user_id: int
    display_name: str
    professional_role: str
    people: int
    flagged: bool

    @property
    def role_label(self) -> str:
        return PROFESSIONAL_LABELS.get(self.professional_role, self.professional_role)


@dataclass(frozen=True)
class TeamCaseloads:
    """One neighbourhood team's caseloads, heaviest first, with the team median."""

    neighbourhood_code: str | None
    caseloads: tuple[Caseload, ...]
    median: float

    @property
    def total(self) -> int:
        return sum(c.people for c in self.caseloads)

    @property
    def flagged(self) -> int:
        return sum(1 for c in self.caseloads if c.flagged)


def team_caseloads(
    sessions: sessionmaker[Session],
    *,
    practices: Collection[str] | None = None,
    neighbourhood: str | None = None,
) -> list[TeamCaseloads]:
    """Caseloads per neighbourhood team (register entries within `practices`; None: all)."""
    query = (
        select(
            RegisterEntry.neighbourhood_code,
            NamedProfessional.user_id,
            User.display_name,
            NamedProfessional.professional_role,
            func.count(),
        )
        .join(NamedProfessional, NamedProfessional.entry_id == RegisterEntry.id)
        .join(User, User.id == NamedProfessional.user_id)
        .where(NamedProfessional.ended_at.is_(None), RegisterEntry.status.not_in(ENDED_STATES))
        .group_by(
            RegisterEntry.neighbourhood_code,
            NamedProfessional.user_id,
            User.display_name,
            NamedProfessional.professional_role,
        )
    )
    if practices is not None:
        query = query.where(RegisterEntry.practice_code.in_(sorted(practices)))
    if neighbourhood:
        query = query.where(RegisterEntry.neighbourhood_code == neighbourhood)
    teams: dict[str | None, list[tuple[int, str, str, int]]] = {}
    with sessions() as session:
        for hood, user_id, name, kind, count in session.execute(query):
            teams.setdefault(hood, []).append((int(user_id), str(name), str(kind), int(count)))
    return [_team(hood, rows) for hood, rows in sorted(teams.items(), key=lambda t: t[0] or "")]


def _team(hood: str | None, rows: list[tuple[int, str, str, int]]) -> TeamCaseloads:
    median = float(statistics.median(r[3] for r in rows))
    loads = [
        Caseload(user_id, name, kind, count, is_heavy(count, median))
        for user_id, name, kind, count in rows
    ]
    loads.sort(key=lambda c: (-c.people, c.display_name, c.user_id))
    return TeamCaseloads(hood, tuple(loads), median)


def is_heavy(people: int, team_median: float) -> bool:
    """More than `IMBALANCE_RATIO` times the team median (never with a median of zero)."""
    return team_median > 0 and people > IMBALANCE_RATIO * team_median


def caseload_of(sessions: sessionmaker[Session], user_id: int) -> list[int]:
    """The people whose current named professional `user_id` is (open register entries)."""
    with sessions() as session:
        ids = session.scalars(
            select(NamedProfessional.person_id)
            .join(RegisterEntry, RegisterEntry.id == NamedProfessional.entry_id)
            .where(
                NamedProfessional.user_id == user_id,
                NamedProfessional.ended_at.is_(None),
                RegisterEntry.status.not_in(ENDED_STATES),
            )
            .order_by(NamedProfessional.person_id)
        ).all()
    return [int(i) for i in ids]
