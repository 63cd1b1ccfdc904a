"""What the day-of-visits pages show: the day's plans with names for nurses and visits, and one
nurse's day in order with the address and what to do at each visit (reads only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.neighbourhood.caseload import Entry, caseload, team
from joinedup.neighbourhood.visit_day import (
    OnShift,
    StoredPlan,
    current_plan,
    entry_of,
    latest_options,
    nurse_id,
    outcomes,
    plans_of_day,
    rota,
)
from joinedup.neighbourhood.visits.model import Route, Stop
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore

VISIT_TYPE_LABELS = {
    "insulin": "Insulin",
    "wound_care": "Wound care",
    "end_of_life": "End-of-life care",
    "catheter": "Catheter care",
    "compression": "Compression therapy",
    "medication": "Medication",
    "assessment": "Assessment",
}
OUTCOME_LABELS = {
    "done": "Done",
    "not_at_home": "Not at home",
    "declined": "Declined",
    "needs_review": "Needs review",
}


@dataclass(frozen=True)
class DayView:
    plans: list[StoredPlan]
    current: StoredPlan | None
    options: list[StoredPlan]
    rota: list[OnShift]
    nurse_names: dict[str, str]  # N<member id> -> name
    entries: dict[str, Entry]  # E<entry id> -> caseload entry (open or not)
    outcomes: dict[str, str]

    def person_of(self, visit_id: str) -> int | None:
        entry = self.entries.get(visit_id)
        return entry.person_id if entry else None


def day_view(sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date) -> DayView:
    plans = plans_of_day(sessions, neighbourhood_code, day)
    names = {nurse_id(m.id): m.display_name for m in team(sessions, neighbourhood_code)}
    entries = {f"E{e.id}": e for e in caseload(sessions, neighbourhood_code)}
    return DayView(
        plans,
        current_plan(plans),
        latest_options(plans),
        rota(sessions, neighbourhood_code, day),
        names,
        entries,
        outcomes(sessions, neighbourhood_code, day),
    )


@dataclass(frozen=True)
class NurseStop:
    stop: Stop
    entry: Entry | None
    address: str
    outcome: str | None

    @property
    def what(self) -> str:
        if self.entry is None:
            return "Visit"
        return VISIT_TYPE_LABELS.get(self.entry.visit_type, self.entry.visit_type)


@dataclass(frozen=True)
class NurseDay:
    name: str
    route: Route | None
    stops: list[NurseStop]

    @property
    def next_stop(self) -> NurseStop | None:
        """The first visit with no outcome yet: the one to go to."""
        return next((s for s in self.stops if s.outcome is None), None)


def nurse_day(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    neighbourhood_code: str,
    day: dt.date,
    member_id: int,
) -> NurseDay | None:
    """The member's route on the adopted plan, with addresses; None if not on the team."""
    view = day_view(sessions, neighbourhood_code, day)
    name = view.nurse_names.get(nurse_id(member_id))
    if name is None:
        return None
    route = (
        next((r for r in view.current.plan.routes if r.nurse_id == nurse_id(member_id)), None)
        if view.current
        else None
    )
    stops = [
        NurseStop(
            stop,
            view.entries.get(stop.visit_id),
            _address(store, view.person_of(stop.visit_id)),
            view.outcomes.get(stop.visit_id),
        )
        for stop in (route.stops if route else [])
    ]
    return NurseDay(name, route, stops)


def _address(store: PopulationStore, person_id: int | None) -> str:
    person = find_person(store, person_id) if person_id is not None else None
    if person is None:
        return "No address recorded"
    return ", ".join(p for p in (person.address_line, person.postcode) if p) or "No address"


def visit_people(view: DayView) -> Mapping[str, int]:
    """Visit id -> person id for every visit of the day's plans that is still on the caseload."""
    return {v: e.person_id for v, e in view.entries.items()}


def entry_id_of(visit_id: str) -> int:
    return entry_of(visit_id)
