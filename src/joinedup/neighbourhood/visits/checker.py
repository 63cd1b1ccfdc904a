"""An independent check of a plan against its day: every hard rule, in plain Python.

It shares nothing with the solver but the contract and the travel times, so a plan that
passes here keeps the rules however it was made (OR-Tools, the greedy baseline, a replan, or
a hand edit). `check` returns every violation found, each naming the nurse or visit.

The rules: each planned visit exists, is made once (twice, by two different nurses at the
same start, when two-person) and by nurses holding its skills; it starts and ends inside its
window, at its fixed time if it has one, and lasts its duration; each nurse leaves the base no
earlier than the shift start and is back by its end, makes no more than `max_visits`, takes a
break of `break_min` inside the break window and the shift, never during a visit; between two
places there is time for the journey (less any break taken on the way), the reported travel
minutes are the journey's, arrival comes after the journey and no later than the start; a
visit is either planned or listed as unplanned, never both, never neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from joinedup.neighbourhood.visits.model import Day, Nurse, Plan, Route, Visit, clock
from joinedup.neighbourhood.visits.travel import Point, TravelTimes

Journey = Callable[[Point, Point], int]


@dataclass(frozen=True)
class Violation:
    who: str  # the nurse or visit it concerns
    rule: str

    def __str__(self) -> str:
        return f"{self.who}: {self.rule}"


def check(plan: Plan, travel: TravelTimes, day: Day | None = None) -> list[Violation]:
    """Every hard rule `plan` breaks for `day` (by default the day the plan carries)."""
    day = day or plan.day
    points = _points(day)
    minutes = travel.matrix(points)
    row = {p: i for i, p in enumerate(points)}

    def journey(a: Point, b: Point) -> int:
        return minutes[row[a]][row[b]]

    return [
        *_coverage(day, plan),
        *(v for route in plan.routes for v in _route(day, route, journey)),
    ]


def _points(day: Day) -> list[Point]:
    seen: dict[Point, None] = {}
    for point in [*((n.lat, n.lon) for n in day.nurses), *((v.lat, v.lon) for v in day.visits)]:
        seen.setdefault(point, None)
    return list(seen)


def _coverage(day: Day, plan: Plan) -> Iterator[Violation]:
    visits = {v.id: v for v in day.visits}
    made: dict[str, list[tuple[str, int]]] = {}
    for route in plan.routes:
        for stop in route.stops:
            made.setdefault(stop.visit_id, []).append((route.nurse_id, stop.start))
    route_nurses = [r.nurse_id for r in plan.routes]
    for nurse_id in sorted({n for n in route_nurses if route_nurses.count(n) > 1}):
        yield Violation(nurse_id, "has more than one route")
    for nurse_id in sorted(set(route_nurses) - set(day.nurse_ids)):
        yield Violation(nurse_id, "is not on the rota")
    unplanned = [u.visit_id for u in plan.unplanned]
    for visit_id, by in sorted(made.items()):
        visit = visits.get(visit_id)
        if visit is None:
            yield Violation(visit_id, "is not a visit of the day")
            continue
        yield from _made_right(visit, by)
        if visit_id in unplanned:
            yield Violation(visit_id, "is both planned and unplanned")
    for visit_id in sorted({u for u in unplanned if unplanned.count(u) > 1}):
        yield Violation(visit_id, "is listed as unplanned more than once")
    for visit in day.visits:
        if visit.id not in made and visit.id not in unplanned:
            yield Violation(visit.id, "is neither planned nor unplanned")


def _made_right(visit: Visit, by: Sequence[tuple[str, int]]) -> Iterator[Violation]:
    needed = 2 if visit.two_person else 1
    nurses = {nurse for nurse, _ in by}
    if len(by) != needed or len(nurses) != needed:
        yield Violation(visit.id, f"needs {needed} different nurse(s), has {len(by)} visit(s)")
    if visit.two_person and len({start for _, start in by}) > 1:
        yield Violation(visit.id, "two-person visit: the nurses start at different times")


def _route(day: Day, route: Route, journey: Journey) -> Iterator[Violation]:
    if route.nurse_id not in day.nurse_ids:
        return
    nurse = day.nurse(route.nurse_id)
    yield from _shift(nurse, route)
    yield from _break(nurse, route)
    yield from _stops(day, nurse, route, journey)


def _shift(nurse: Nurse, route: Route) -> Iterator[Violation]:
    if route.leave_base < nurse.shift_start:
        yield Violation(nurse.id, f"leaves base at {clock(route.leave_base)}, before the shift")
    if route.return_base > nurse.shift_end:
        yield Violation(nurse.id, f"back at base at {clock(route.return_base)}, after the shift")
    if nurse.max_visits is not None and len(route.stops) > nurse.max_visits:
        yield Violation(nurse.id, f"makes {len(route.stops)} visits, more than {nurse.max_visits}")


def _break(nurse: Nurse, route: Route) -> Iterator[Violation]:
    if nurse.break_min == 0:
        return
    if route.break_start is None or route.break_end is None:
        yield Violation(nurse.id, "takes no break")
        return
    if route.break_end - route.break_start != nurse.break_min:
        yield Violation(nurse.id, f"break is not {nurse.break_min} minutes")
    if route.break_start < nurse.break_start or route.break_end > nurse.break_end:
        yield Violation(nurse.id, "break is outside its window")
    for stop in route.stops:
        if stop.start < route.break_end and route.break_start < stop.departure:
            yield Violation(nurse.id, f"break overlaps visit {stop.visit_id}")


def _stops(day: Day, nurse: Nurse, route: Route, journey: Journey) -> Iterator[Violation]:
    here, departed = (nurse.lat, nurse.lon), route.leave_base
    for stop in route.stops:
        visit = next((v for v in day.visits if v.id == stop.visit_id), None)
        if visit is None:
            return  # reported by _coverage
        there = (visit.lat, visit.lon)
        yield from _leg(
            nurse.id,
            stop.visit_id,
            journey(here, there),
            stop.travel_min,
            departed,
            stop.arrival,
            stop.start,
            route,
        )
        yield from _visit_rules(nurse, visit, stop.start, stop.departure)
        here, departed = there, stop.departure
    back = journey(here, (nurse.lat, nurse.lon))
    if route.return_base - departed - _break_between(route, departed, route.return_base) < back:
        yield Violation(nurse.id, "no time to travel back to base")
    total = sum(s.travel_min for s in route.stops) + back
    if route.travel_min != total:
        yield Violation(nurse.id, f"travel total is {route.travel_min}, the journeys make {total}")


def _leg(
    nurse_id: str,
    visit_id: str,
    needed: int,
    reported: int,
    departed: int,
    arrival: int,
    start: int,
    route: Route,
) -> Iterator[Violation]:
    who = f"{nurse_id} → {visit_id}"
    if reported != needed:
        yield Violation(who, f"travel given as {reported} min, the journey takes {needed}")
    if start - departed - _break_between(route, departed, start) < needed:
        yield Violation(who, f"starts {clock(start)}: no time for the {needed}-minute journey")
    if arrival < departed + needed or arrival > start:
        yield Violation(who, f"arrival {clock(arrival)} is not between the journey and the start")


def _break_between(route: Route, after: int, before: int) -> int:
    if route.break_start is None or route.break_end is None:
        return 0
    return max(0, min(route.break_end, before) - max(route.break_start, after))


def _visit_rules(nurse: Nurse, visit: Visit, start: int, departure: int) -> Iterator[Violation]:
    if not set(visit.skills) <= set(nurse.skills):
        missing = ", ".join(sorted(set(visit.skills) - set(nurse.skills)))
        yield Violation(visit.id, f"made by {nurse.id}, who lacks {missing}")
    if departure - start != visit.duration_min:
        yield Violation(visit.id, f"lasts {departure - start} min, not {visit.duration_min}")
    if start < visit.window_start or departure > visit.window_end:
        yield Violation(
            visit.id,
            f"{clock(start)}–{clock(departure)} is outside its window "
            f"{clock(visit.window_start)}–{clock(visit.window_end)}",
        )
    if visit.fixed_time is not None and start != visit.fixed_time:
        yield Violation(visit.id, f"starts {clock(start)}, not at its fixed time")
