"""Coordinated-care measures (C1, C2, C3, C5) that commissioning reads, per neighbourhood.

The commissioning delivery tracker shows these as *measured* actuals with their rule; the
coordinated-care pages show them to neighbourhood leads. One definition, read by both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.care.models import (
    CareAction,
    CarePlan,
    CarePlanVersion,
    MdtMeeting,
    NamedProfessional,
    RegisterEntry,
)
from joinedup.care.register import OPEN_STATES
from joinedup.governance.objections import active_objectors
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


@dataclass(frozen=True)
class CoordinatedCareMeasures:
    """Raw counts for one neighbourhood (suppression is applied where they are shown).

    * top_risk_cohort — people in the latest run's top 5% by emergency-admission risk;
    * cohort_on_register / cohort_with_named_professional / cohort_with_agreed_plan — of them,
      how many are on the register (any state but discharged, declined, not contactable),
      have a current named professional, have a care plan the person agreed;
    * plan_reviews_due / plan_reviews_on_time — agreed plans whose review date fell in the
      last 12 months, and of them those reviewed (a newer agreed version) by that date;
    * mdt_meetings_held_90_days — meetings held in the 90 days to the as-of date;
    * actions_due / actions_closed_on_time — actions due in the last 12 months, and of them
      those completed by their due date.
    """

    neighbourhood_code: str
    top_risk_cohort: int
    cohort_on_register: int
    cohort_with_named_professional: int
    cohort_with_agreed_plan: int
    plan_reviews_due: int
    plan_reviews_on_time: int
    mdt_meetings_held_90_days: int
    actions_due: int
    actions_closed_on_time: int


#: The top-risk cohort: people within the top 5% of the area by emergency-admission risk.
TOP_RISK_SHARE = 0.05
YEAR = dt.timedelta(days=365)
NINETY_DAYS = dt.timedelta(days=90)


def coordinated_care_measures(
    sessions: sessionmaker[Session], settings: Settings, *, as_of: dt.date
) -> list[CoordinatedCareMeasures]:
    """The measures for every neighbourhood of the area, as of `as_of` (see the class).

    The cohort is the latest stratification run's (none, or a run without a risk: an empty
    cohort); it is ranked over the whole area as the top-risk case-finding list ranks it (ties
    at the boundary all in). People with an active objection to secondary use are left out of
    the cohort, as from every figure commissioning shows. "Agreed plan" means the person agreed
    at least one version of it. Cancelled actions are not counted as due.
    """
    store = PopulationStore(settings.population_dir)
    hoods = _neighbourhoods(store)
    run = latest_run(settings)
    home = _person_neighbourhoods(run)
    cohort = top_risk_cohort(run) - active_objectors(sessions)
    with sessions() as session:
        home.update(_register_neighbourhoods(session, home))
        tallies = {h: _Tally() for h in hoods}

        def tally(person_id: int) -> _Tally | None:
            return tallies.get(home.get(person_id, ""))

        on_register = _open_register(session)
        named = set(
            session.scalars(
                select(NamedProfessional.person_id).where(NamedProfessional.ended_at.is_(None))
            )
        )
        agreed = set(
            session.scalars(
                select(CarePlan.person_id)
                .join(CarePlanVersion, CarePlanVersion.plan_id == CarePlan.id)
                .where(CarePlanVersion.agreed_by_person.is_(True))
            )
        )
        for person_id in cohort:
            t = tally(person_id)
            if t is not None:
                t.cohort += 1
                t.on_register += person_id in on_register
                t.named += person_id in named
                t.agreed += person_id in agreed
        for person_id, _due, on_time in _plan_reviews(session, as_of):
            if (t := tally(person_id)) is not None:
                t.reviews_due += 1
                t.reviews_on_time += on_time
        for hood in _meetings_held(session, as_of):
            if hood in tallies:
                tallies[hood].meetings += 1
        for person_id, on_time in _actions_due(session, as_of):
            if (t := tally(person_id)) is not None:
                t.actions_due += 1
                t.actions_on_time += on_time
    return [tallies[h].measures(h) for h in hoods]


@dataclass
class _Tally:
    cohort: int = 0
    on_register: int = 0
    named: int = 0
    agreed: int = 0
    reviews_due: int = 0
    reviews_on_time: int = 0
    meetings: int = 0
    actions_due: int = 0
    actions_on_time: int = 0

    def measures(self, hood: str) -> CoordinatedCareMeasures:
        return CoordinatedCareMeasures(
            neighbourhood_code=hood,
            top_risk_cohort=self.cohort,
            cohort_on_register=self.on_register,
            cohort_with_named_professional=self.named,
            cohort_with_agreed_plan=self.agreed,
            plan_reviews_due=self.reviews_due,
            plan_reviews_on_time=self.reviews_on_time,
            mdt_meetings_held_90_days=self.meetings,
            actions_due=self.actions_due,
            actions_closed_on_time=self.actions_on_time,
        )


def _neighbourhoods(store: PopulationStore) -> list[str]:
    return sorted(code for code, o in organisations(store).items() if o.org_type == "neighbourhood")


def _person_neighbourhoods(run: StratificationRun | None) -> dict[int, str]:
    if run is None:
        return {}
    table = run.person_results(["person_id", "neighbourhood_code"])
    return {
        int(p): str(h)
        for p, h in zip(
            table["person_id"].to_pylist(), table["neighbourhood_code"].to_pylist(), strict=True
        )
        if h
    }


def _register_neighbourhoods(session: Session, known: dict[int, str]) -> dict[int, str]:
    """Where register members not in the run were registered when added."""
    rows = session.execute(select(RegisterEntry.person_id, RegisterEntry.neighbourhood_code))
    return {int(p): str(h) for p, h in rows if h and int(p) not in known}


def top_risk_cohort(run: StratificationRun | None, share: float = TOP_RISK_SHARE) -> frozenset[int]:
    """People of `run` with a risk of whom fewer than `share` of the area have a higher risk
    (ties at the boundary all in, as in the top-risk case-finding list)."""
    if run is None or "risk" not in run.metadata.get("risk_columns", []):
        return frozenset()
    table = run.person_results(["person_id", "risk"]).drop_null()
    risks = table["risk"].to_numpy()
    if len(risks) == 0:
        return frozenset()
    ordered = np.sort(risks)
    # People with a strictly higher risk than each person's: len - (index of first greater).
    higher = len(ordered) - np.searchsorted(ordered, risks, side="right")
    chosen = higher < share * len(ordered)
    return frozenset(int(p) for p in table["person_id"].to_numpy()[chosen])


def _open_register(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(RegisterEntry.person_id).where(RegisterEntry.status.in_(OPEN_STATES))
        )
    )


def _plan_reviews(session: Session, as_of: dt.date) -> Iterator[tuple[int, dt.date, bool]]:
    """(person, review date, reviewed on time) for each agreed version whose review date fell
    in the 12 months to `as_of`; reviewed on time = a later version agreed by that date."""
    rows = session.execute(
        select(CarePlan.person_id, CarePlanVersion.plan_id, CarePlanVersion.version)
        .add_columns(CarePlanVersion.agreed_at, CarePlanVersion.content)
        .join(CarePlan, CarePlan.id == CarePlanVersion.plan_id)
        .where(CarePlanVersion.agreed_by_person.is_(True))
        .order_by(CarePlanVersion.plan_id, CarePlanVersion.version)
    ).all()
    agreed_on: dict[int, list[tuple[int, dt.date | None]]] = {}
    for _person, plan_id, version, agreed_at, _content in rows:
        agreed_on.setdefault(plan_id, []).append(
            (version, agreed_at.date() if agreed_at is not None else None)
        )
    for person_id, plan_id, version, _agreed_at, content in rows:
        due = _review_date(content)
        if due is None or not (as_of - YEAR < due <= as_of):
            continue
        reviewed = any(
            later > version and when is not None and when <= due
            for later, when in agreed_on[plan_id]
        )
        yield int(person_id), due, reviewed


def _review_date(content: Any) -> dt.date | None:
    value = content.get("review_due_on") if isinstance(content, dict) else None
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _meetings_held(session: Session, as_of: dt.date) -> Iterator[str]:
    rows = session.execute(
        select(MdtMeeting.neighbourhood_code, MdtMeeting.held_at, MdtMeeting.starts_at).where(
            MdtMeeting.status == "held"
        )
    )
    for hood, held_at, starts_at in rows:
        day = (held_at or starts_at).date()
        if as_of - NINETY_DAYS < day <= as_of:
            yield str(hood)


def _actions_due(session: Session, as_of: dt.date) -> Iterator[tuple[int, bool]]:
    rows = session.execute(
        select(CareAction.person_id, CareAction.due_on, CareAction.status, CareAction.completed_at)
        .where(CareAction.due_on > as_of - YEAR, CareAction.due_on <= as_of)
        .where(CareAction.status != "cancelled")
    )
    for person_id, due_on, status, completed_at in rows:
        on_time = status == "done" and completed_at is not None and completed_at.date() <= due_on
        yield int(person_id), on_time
