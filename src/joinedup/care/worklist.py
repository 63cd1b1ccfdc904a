"""My worklist: what a signed-in professional should do next, from the care store and the runs.

* people due for review — on the user's caseload, whose register review date or care-plan
  review date is within `LOOK_AHEAD` days (or passed), or whose entry is in `review_due`;
* actions — every open tracked action the user owns, grouped overdue / due this week / later /
  no date (`ACTION_GROUPS`): an action due beyond the look-ahead is still the owner's to do;
  An action someone else assigned to the user in the last `NEW_ACTION_DAYS` days is marked
  new (`ActionDue.new`), and `new_action_count` counts them for the page header;
* new allocations — people the user became named professional for in the last
  `NEW_ALLOCATION_DAYS` days;
* risers — people on the user's caseload who rose between the last two stratification runs
  (`joinedup.analytics.stratify.compare_runs`).

The team worklist (`team_worklist`, for leads: permission ``worklist.team``) is every open action
on the people registered at the lead's practices (the legitimate-relationship rule by where they
work, `governance.relationships.user_practices`, applied to each person's practice on the
extract date), by owner — users and the guests an MDT named — in the same groups.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import compare_runs, list_runs
from joinedup.care.caseloads import caseload_of
from joinedup.care.models import CareAction, CarePlan, NamedProfessional, RegisterEntry
from joinedup.care.register import ENDED_STATES, STATE_LABELS
from joinedup.carestore.db import reading
from joinedup.population.reads import practices_of
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

LOOK_AHEAD = dt.timedelta(days=14)
NEW_ALLOCATION_DAYS = 14
#: An action assigned by someone else within this many days is marked new on the owner's list.
NEW_ACTION_DAYS = 7
THIS_WEEK = dt.timedelta(days=6)  # today and the next six days
#: The worklist's groups of open actions, in the order shown.
ACTION_GROUPS = {
    "overdue": "Overdue",
    "this_week": "Due this week",
    "later": "Due later",
    "no_date": "No due date",
}


@dataclass(frozen=True)
class ReviewDue:
    person_id: int
    what: str  # "register review" or "care plan review"
    due_on: dt.date | None
    status_label: str

    def overdue(self, today: dt.date) -> bool:
        return self.due_on is not None and self.due_on < today


@dataclass(frozen=True)
class ActionDue:
    action_id: int
    person_id: int
    title: str
    due_on: dt.date | None
    version: int
    new: bool = False  # assigned by someone else in the last NEW_ACTION_DAYS days

    def overdue(self, today: dt.date) -> bool:
        return self.due_on is not None and self.due_on < today

    def group(self, today: dt.date) -> str:
        """Which of `ACTION_GROUPS` the action falls in on `today`."""
        if self.due_on is None:
            return "no_date"
        if self.due_on < today:
            return "overdue"
        return "this_week" if self.due_on <= today + THIS_WEEK else "later"


@dataclass(frozen=True)
class Allocation:
    person_id: int
    started_at: dt.datetime
    professional_role: str


@dataclass(frozen=True)
class Riser:
    person_id: int
    reason: str


@dataclass(frozen=True)
class Worklist:
    today: dt.date
    caseload: int
    reviews: tuple[ReviewDue, ...]
    actions: tuple[ActionDue, ...]
    allocations: tuple[Allocation, ...]
    risers: tuple[Riser, ...]
    runs_compared: tuple[str, str] | None
    #: The index dates of the two runs compared (what the page names them by).
    dates_compared: tuple[dt.date, dt.date] | None = None

    @property
    def people(self) -> frozenset[int]:
        """Everyone the worklist names (for the audit event)."""
        return frozenset(
            {r.person_id for r in self.reviews}
            | {a.person_id for a in self.actions}
            | {a.person_id for a in self.allocations}
            | {r.person_id for r in self.risers}
        )


def worklist(
    sessions: sessionmaker[Session], settings: Settings, user_id: int, *, today: dt.date
) -> Worklist:
    people = caseload_of(sessions, user_id)
    horizon = today + LOOK_AHEAD
    with sessions() as session:
        reviews = _reviews(session, user_id, horizon)
        actions = _actions(session, user_id, today)
        allocations = _allocations(session, user_id, today)
    compared, dates, risers = _risers(settings, people)
    return Worklist(today, len(people), reviews, actions, allocations, risers, compared, dates)


def _reviews(session: Session, user_id: int, horizon: dt.date) -> tuple[ReviewDue, ...]:
    mine = (
        select(NamedProfessional.person_id)
        .where(NamedProfessional.user_id == user_id, NamedProfessional.ended_at.is_(None))
        .scalar_subquery()
    )
    found: list[ReviewDue] = []
    for person_id, due, status in session.execute(
        select(RegisterEntry.person_id, RegisterEntry.review_due_on, RegisterEntry.status).where(
            RegisterEntry.person_id.in_(mine),
            RegisterEntry.status.not_in(ENDED_STATES),
            or_(RegisterEntry.status == "review_due", RegisterEntry.review_due_on <= horizon),
        )
    ):
        found.append(ReviewDue(int(person_id), "register review", due, STATE_LABELS[status]))
    for person_id, due, status in session.execute(
        select(CarePlan.person_id, CarePlan.review_due_on, CarePlan.status).where(
            CarePlan.person_id.in_(mine), CarePlan.review_due_on <= horizon
        )
    ):
        found.append(ReviewDue(int(person_id), "care plan review", due, f"Plan {status}"))
    found.sort(key=lambda r: (r.due_on or dt.date.min, r.person_id, r.what))
    return tuple(found)


def _new_since(today: dt.date) -> dt.datetime:
    return dt.datetime.combine(today - dt.timedelta(days=NEW_ACTION_DAYS), dt.time(), dt.UTC)


def _assigned_by_others_since(user_id: int, today: dt.date) -> Any:
    """The SQL condition: assigned to `user_id` by someone else in the last NEW_ACTION_DAYS."""
    return and_(CareAction.created_by != user_id, CareAction.created_at >= _new_since(today))


def _actions(session: Session, user_id: int, today: dt.date) -> tuple[ActionDue, ...]:
    new = _assigned_by_others_since(user_id, today)
    rows = session.execute(
        select(CareAction.id, CareAction.person_id, CareAction.title, CareAction.due_on)
        .add_columns(CareAction.version, case((new, True), else_=False))
        .where(
            CareAction.owner_user_id == user_id,
            CareAction.status == "open",
        )
        .order_by(CareAction.due_on, CareAction.id)
    )
    return tuple(ActionDue(int(i), int(p), str(t), d, int(v), bool(n)) for i, p, t, d, v, n in rows)


@dataclass(frozen=True)
class OwnerActions:
    """One owner's open actions on the team worklist."""

    owner_user_id: int | None  # None: a guest named at an MDT (housing officer, ...)
    owner_name: str
    owner_org: str
    actions: tuple[ActionDue, ...]  # by due date

    def counts(self, today: dt.date) -> dict[str, int]:
        """Open actions in each of `ACTION_GROUPS` on `today`."""
        counts = dict.fromkeys(ACTION_GROUPS, 0)
        for action in self.actions:
            counts[action.group(today)] += 1
        return counts


@dataclass(frozen=True)
class TeamWorklist:
    today: dt.date
    practices: int  # how many practices the lead's team covers
    owners: tuple[OwnerActions, ...]  # most overdue first, then by name

    @property
    def people(self) -> frozenset[int]:
        """Everyone the team worklist names (for the audit event)."""
        return frozenset(a.person_id for o in self.owners for a in o.actions)

    def counts(self, today: dt.date) -> dict[str, int]:
        """The team's open actions in each of `ACTION_GROUPS`."""
        totals = dict.fromkeys(ACTION_GROUPS, 0)
        for owner in self.owners:
            for group, count in owner.counts(today).items():
                totals[group] += count
        return totals


def team_worklist(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    practices: frozenset[str],
    *,
    today: dt.date,
) -> TeamWorklist:
    """Every open action on people registered at `practices`, by owner (see the module)."""
    with sessions() as session:
        rows = session.execute(
            select(
                CareAction.id,
                CareAction.person_id,
                CareAction.title,
                CareAction.due_on,
                CareAction.version,
                CareAction.owner_user_id,
                CareAction.owner_name,
                CareAction.owner_org,
            )
            .where(CareAction.status == "open")
            .order_by(CareAction.due_on, CareAction.id)
        ).all()
    registered_at = practices_of(store, {int(r.person_id) for r in rows})
    by_owner: dict[tuple[int | None, str, str], list[ActionDue]] = {}
    for r in rows:
        if registered_at.get(int(r.person_id)) not in practices:
            continue
        owner = (r.owner_user_id, str(r.owner_name), str(r.owner_org))
        by_owner.setdefault(owner, []).append(
            ActionDue(int(r.id), int(r.person_id), str(r.title), r.due_on, int(r.version))
        )
    owners = [OwnerActions(u, n, o, tuple(a)) for (u, n, o), a in by_owner.items()]
    owners.sort(key=lambda o: (-o.counts(today)["overdue"], o.owner_name, o.owner_org))
    return TeamWorklist(today, len(practices), tuple(owners))


def new_action_count(sessions: sessionmaker[Session], user_id: int, today: dt.date) -> int:
    """How many open actions someone else assigned to `user_id` in the last NEW_ACTION_DAYS."""
    with reading(sessions)() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(CareAction)
                .where(
                    CareAction.owner_user_id == user_id,
                    CareAction.status == "open",
                    _assigned_by_others_since(user_id, today),
                )
            )
            or 0
        )


def _allocations(session: Session, user_id: int, today: dt.date) -> tuple[Allocation, ...]:
    since = dt.datetime.combine(today - dt.timedelta(days=NEW_ALLOCATION_DAYS), dt.time(), dt.UTC)
    rows = session.execute(
        select(
            NamedProfessional.person_id,
            NamedProfessional.started_at,
            NamedProfessional.professional_role,
        )
        .where(
            NamedProfessional.user_id == user_id,
            NamedProfessional.ended_at.is_(None),
            NamedProfessional.started_at >= since,
        )
        .order_by(NamedProfessional.started_at.desc())
    )
    return tuple(Allocation(int(p), s, str(r)) for p, s, r in rows)


def _risers(
    settings: Settings, people: list[int]
) -> tuple[tuple[str, str] | None, tuple[dt.date, dt.date] | None, tuple[Riser, ...]]:
    runs = list_runs(settings)
    if len(runs) < 2:
        return None, None, ()
    earlier, later = runs[-2].run_id, runs[-1].run_id
    reasons = risers_between(settings, earlier, later)
    found = tuple(Riser(p, reasons[p]) for p in people if p in reasons)
    return (earlier, later), (runs[-2].index_date, runs[-1].index_date), found


def risers_between(settings: Settings, earlier: str, later: str) -> dict[int, str]:
    """Every riser between two runs with their reason (cached: runs never change)."""
    return _risers_cached(str(settings.home), settings, earlier, later)


@functools.lru_cache(maxsize=4)
def _risers_cached(home: str, settings: Settings, earlier: str, later: str) -> dict[int, str]:
    table = compare_runs(settings, earlier, later)
    return dict(
        zip(
            (int(p) for p in table["person_id"].to_pylist()),
            (str(r) for r in table["reason"].to_pylist()),
            strict=True,
        )
    )
