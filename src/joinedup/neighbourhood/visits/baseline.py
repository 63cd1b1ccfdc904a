"""A greedy baseline the solver is measured against: time-oriented nearest neighbour (Solomon,
"Algorithms for the vehicle routing and scheduling problems with time window constraints",
Oper Res 1987): the nurse who is free earliest takes, of the visits they may make and can
still fit, the one they can start soonest (then the nearest, then the most urgent). A break is
taken at the current place once its window opens, and a visit is taken only if the break and
the way back to base still fit after it. Two-person visits are left out: pairing is beyond a
plain greedy rule. Its plans obey every hard rule (the tests run the checker on them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from joinedup.neighbourhood.visits.model import (
    MINUTES_PER_DAY,
    Day,
    Nurse,
    Plan,
    Route,
    Stop,
    Unplanned,
    Visit,
)
from joinedup.neighbourhood.visits.solver import summarise
from joinedup.neighbourhood.visits.travel import Point, TravelTimes

Journey = Callable[[Point, Point], int]


@dataclass
class _Nurse:
    nurse: Nurse
    time: int
    here: Point
    stops: list[Stop] = field(default_factory=list)
    brk: tuple[int, int] | None = None
    done: bool = False

    @property
    def break_due(self) -> bool:
        return self.nurse.break_min > 0 and self.brk is None


def greedy_plan(day: Day, travel: TravelTimes) -> Plan:
    places = [*((n.lat, n.lon) for n in day.nurses), *((v.lat, v.lon) for v in day.visits)]
    points = list(dict.fromkeys(places))
    matrix = travel.matrix(points)
    row = {p: i for i, p in enumerate(points)}

    def minutes(a: Point, b: Point) -> int:
        return matrix[row[a]][row[b]]

    left = {v.id: v for v in day.visits if not v.two_person}
    nurses = [_Nurse(n, n.shift_start, (n.lat, n.lon)) for n in day.nurses]
    while active := [n for n in nurses if not n.done]:
        state = min(active, key=lambda n: (n.time, n.nurse.id))
        if state.break_due and state.time >= state.nurse.break_start:
            _take_break(state)
        options = [
            (start, minutes(state.here, (v.lat, v.lon)), v.priority, v.id)
            for v in left.values()
            if (start := _fits(state, v, minutes)) is not None
        ]
        if options:
            start, leg, _, visit_id = min(options)
            _add(state, left.pop(visit_id), start, leg)
        elif state.break_due and state.nurse.break_start > state.time:
            state.time = state.nurse.break_start  # nothing to do before the break
        else:
            state.done = True
    routes = [_route(s, minutes) for s in nurses]
    unplanned = [
        Unplanned(
            visit_id=v.id,
            reason="two-person: not planned by the baseline"
            if v.two_person
            else "the greedy baseline found no place for it",
        )
        for v in day.visits
        if v.two_person or v.id in left
    ]
    return Plan(
        day=day,
        continuity_weight=0,
        routes=routes,
        unplanned=unplanned,
        summary=summarise(day, routes, unplanned),
    )


def _take_break(state: _Nurse) -> None:
    opens = max(state.time, state.nurse.break_start)
    state.brk = (opens, opens + state.nurse.break_min)
    state.time = state.brk[1]


def _fits(state: _Nurse, visit: Visit, minutes: Journey) -> int | None:
    """The start if the nurse can make the visit now and still take the break and get back."""
    nurse = state.nurse
    if not set(visit.skills) <= set(nurse.skills):
        return None
    if nurse.max_visits is not None and len(state.stops) >= nurse.max_visits:
        return None
    there = (visit.lat, visit.lon)
    arrival = state.time + minutes(state.here, there)
    start = max(arrival, visit.window_start)
    if visit.fixed_time is not None:
        start = visit.fixed_time if arrival <= visit.fixed_time else MINUTES_PER_DAY
    if start > visit.latest_start:
        return None
    end = start + visit.duration_min
    if state.break_due:  # the break is taken here, after the visit, before travelling on
        if end + nurse.break_min > nurse.break_end:
            return None
        end = max(end, nurse.break_start) + nurse.break_min
    if end + minutes(there, (nurse.lat, nurse.lon)) > nurse.shift_end:
        return None
    return start


def _add(state: _Nurse, visit: Visit, start: int, leg: int) -> None:
    state.stops.append(
        Stop(
            visit_id=visit.id,
            travel_min=leg,
            arrival=state.time + leg,
            start=start,
            departure=start + visit.duration_min,
        )
    )
    state.time, state.here = start + visit.duration_min, (visit.lat, visit.lon)


def _route(state: _Nurse, minutes: Journey) -> Route:
    nurse = state.nurse
    if state.break_due:
        _take_break(state)
    back = minutes(state.here, (nurse.lat, nurse.lon))
    return Route(
        nurse_id=nurse.id,
        leave_base=nurse.shift_start,
        return_base=state.time + back,
        break_start=state.brk[0] if state.brk else None,
        break_end=state.brk[1] if state.brk else None,
        stops=state.stops,
        travel_min=sum(s.travel_min for s in state.stops) + back,
    )
