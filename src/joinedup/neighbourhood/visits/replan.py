"""Same-day replanning: the morning plan, what has happened by now, and a new plan that keeps
what is under way and moves as little as it can.

Kept as they are: visits started or done (with their nurse and times) and breaks already begun.
A nurse off from a time finishes the visit in hand (and a break already begun), then their shift
ends at that time (or when they are back, if later); a break not yet begun is dropped; their
other visits go to others. An urgent
visit is added to the day; a cancelled visit leaves it. Every other visit is planned again
from now: no visit starts before `now`, and each nurse carries on from where the last kept
visit left them. Moving a visit to another nurse costs `change_weight` minutes in the solve,
so visits stay with their nurse unless that is worth it. A planned visit not reported as
started or done is treated as not yet made and planned again from now.

The result says who must be told: each nurse whose route changed, and each patient whose visit
moved by more than `TELL_PATIENT_MIN` minutes, changed nurse, or is no longer planned today.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from joinedup.neighbourhood.visits.model import (
    ContractError,
    Day,
    Events,
    Nurse,
    Plan,
    Route,
    Stop,
    clock,
)
from joinedup.neighbourhood.visits.problem import Problem, Shift
from joinedup.neighbourhood.visits.solver import DEFAULT_SECONDS, solve, summarise
from joinedup.neighbourhood.visits.travel import TravelTimes

TELL_PATIENT_MIN = 30
DEFAULT_CHANGE_WEIGHT = 60  # minutes of travel worth keeping a visit with its nurse


@dataclass(frozen=True)
class Change:
    visit_id: str
    what: str
    tell_patient: bool

    def __str__(self) -> str:
        return f"{'tell patient: ' if self.tell_patient else ''}{self.visit_id} {self.what}"


@dataclass(frozen=True)
class Replan:
    plan: Plan
    changes: list[Change]
    nurses_to_tell: list[str]

    @property
    def patients_to_tell(self) -> list[str]:
        return [c.visit_id for c in self.changes if c.tell_patient]


def replan(
    plan: Plan,
    events: Events,
    travel: TravelTimes,
    *,
    seconds: float = DEFAULT_SECONDS,
    change_weight: int = DEFAULT_CHANGE_WEIGHT,
) -> Replan:
    """The plan for the rest of the day after `events`, and what changed."""
    _check_events(plan, events)
    kept_ids = set(events.started) | set(events.done)
    kept = {r.nurse_id: [s for s in r.stops if s.visit_id in kept_ids] for r in plan.routes}
    routes = {r.nurse_id: r for r in plan.routes}
    day = _day_now(plan, events, kept, travel)
    shifts, fixed_routes = [], []
    for nurse in day.nurses:
        shift = _shift_now(nurse, routes[nurse.id], kept[nurse.id], events.now, day, travel)
        if shift is None:
            fixed_routes.append(
                _kept_route(nurse, routes[nurse.id], kept[nurse.id], events.now, day, travel)
            )
        else:
            shifts.append(shift)
    before = _seen(plan)
    problem = Problem(
        day=day,
        shifts=shifts,
        visits=[v for v in day.visits if v.id not in kept_ids],
        continuity_weight=plan.continuity_weight,
        not_before=events.now,
        incumbent={visit_id: nurses for visit_id, (nurses, _) in before.items()},
        change_weight=change_weight,
        incumbent_start={visit_id: start for visit_id, (_, start) in before.items()},
    )
    solved = solve(problem, travel, seconds=seconds)
    order = {n: i for i, n in enumerate(day.nurse_ids)}
    all_routes = sorted([*solved.routes, *fixed_routes], key=lambda r: order[r.nurse_id])
    new = solved.model_copy(
        update={"routes": all_routes, "summary": summarise(day, all_routes, solved.unplanned)}
    )
    changes = list(_changes(plan, new, events))
    return Replan(new, changes, _nurses_to_tell(plan, new, events))


def _check_events(plan: Plan, events: Events) -> None:
    planned = {s.visit_id for r in plan.routes for s in r.stops}
    day_ids = {v.id for v in plan.day.visits}
    problems = [
        f"nurses_off: {off.nurse_id} is not on the rota"
        for off in events.nurses_off
        if off.nurse_id not in plan.day.nurse_ids
    ]
    for field in ("started", "done"):
        problems += [
            f"{field}: {i} is not a planned visit"
            for i in getattr(events, field)
            if i not in planned
        ]
    problems += [
        f"cancelled: {i} is not a visit of the day" for i in events.cancelled if i not in day_ids
    ]
    both = set(events.started) & set(events.done) | (
        (set(events.started) | set(events.done)) & set(events.cancelled)
    )
    problems += [f"{i} is reported in two states" for i in sorted(both)]
    problems += [
        f"urgent_visits: {v.id} is already a visit of the day"
        for v in events.urgent_visits
        if v.id in day_ids
    ]
    if problems:
        raise ContractError("the events", problems)


def _day_now(plan: Plan, events: Events, kept: dict[str, list[Stop]], travel: TravelTimes) -> Day:
    """The day as it now is: urgent visits in, cancelled out, shortened shifts."""
    off = {o.nurse_id: o.from_time for o in events.nurses_off}
    routes = {r.nurse_id: r for r in plan.routes}
    visits = [v for v in plan.day.visits if v.id not in set(events.cancelled)]
    nurses = []
    for nurse in plan.day.nurses:
        if nurse.id in off:
            route = routes[nurse.id]
            began = _break_begun(route, min(events.now, off[nurse.id]))
            back = _back_at_base(nurse, kept[nurse.id], began, plan.day, travel)
            nurse = _shortened(nurse, off[nurse.id], back, began)
        nurses.append(nurse)
    return Day(visits=[*visits, *events.urgent_visits], nurses=nurses)


def _break_begun(route: Route, by: int) -> tuple[int, int] | None:
    """The route's break if it began before `by` (then it is kept as it was)."""
    if route.break_start is None or route.break_end is None or route.break_start >= by:
        return None
    return route.break_start, route.break_end


def _back_at_base(
    nurse: Nurse,
    stops: Sequence[Stop],
    began: tuple[int, int] | None,
    day: Day,
    travel: TravelTimes,
) -> int:
    """When the nurse is back at base after the kept visits and a break already begun."""
    free = max(stops[-1].departure if stops else nurse.shift_start, began[1] if began else 0)
    if not stops:
        return free
    last = day.visit(stops[-1].visit_id)
    return free + travel.matrix([(last.lat, last.lon), (nurse.lat, nurse.lon)])[0][1]


def _shortened(nurse: Nurse, off_from: int, back: int, began: tuple[int, int] | None) -> Nurse:
    """A nurse's shift ending at `off_from`, or when back from the visit in hand or the break
    already begun; a break not yet begun is dropped (the nurse is going home)."""
    end = min(max(off_from, back, nurse.shift_start + 1), nurse.shift_end)
    if nurse.break_min and began:
        return nurse.model_copy(update={"shift_end": end, "break_end": min(nurse.break_end, end)})
    return nurse.model_copy(
        update={
            "shift_end": end,
            "break_start": nurse.shift_start,
            "break_end": nurse.shift_start,
            "break_min": 0,
        }
    )


def _shift_now(
    nurse: Nurse, route: Route, stops: Sequence[Stop], now: int, day: Day, travel: TravelTimes
) -> Shift | None:
    """Where and from when the nurse is free now; None if their day is over."""
    if stops:
        last = day.visit(stops[-1].visit_id)
        point, earliest = (last.lat, last.lon), max(now, stops[-1].departure)
    else:
        point, earliest = (nurse.lat, nurse.lon), max(now, nurse.shift_start)
    break_window, break_min, fixed_break = (
        (nurse.break_start, nurse.break_end),
        nurse.break_min,
        None,
    )
    if nurse.break_min and route.break_start is not None and route.break_start < now:
        fixed_break = (route.break_start, route.break_start + nurse.break_min)
        earliest, break_min = max(earliest, fixed_break[1]), 0
    elif nurse.break_min:
        opens = max(nurse.break_start, earliest)
        break_window = (opens, max(nurse.break_end, opens + nurse.break_min))
    home = travel.matrix([point, (nurse.lat, nurse.lon)])[0][1]
    if earliest + home + break_min > nurse.shift_end or break_window[1] > nurse.shift_end:
        return None  # only time left to go back to base
    left = None if nurse.max_visits is None else nurse.max_visits - len(stops)
    return Shift(
        nurse=nurse,
        start_point=point,
        earliest=earliest,
        break_window=break_window,
        break_min=break_min,
        visits_left=left,
        prefix=tuple(_relinked(nurse, stops, day, travel)),
        leave_base=route.leave_base if stops else None,
        fixed_break=fixed_break,
    )


def _relinked(nurse: Nurse, stops: Sequence[Stop], day: Day, travel: TravelTimes) -> Iterator[Stop]:
    """The kept stops with their journeys worked out again (visits between them are gone)."""
    here = (nurse.lat, nurse.lon)
    for stop in stops:
        visit = day.visit(stop.visit_id)
        there = (visit.lat, visit.lon)
        leg = travel.matrix([here, there])[0][1]
        yield stop.model_copy(update={"travel_min": leg, "arrival": min(stop.arrival, stop.start)})
        here = there


def _kept_route(
    nurse: Nurse, route: Route, stops: Sequence[Stop], now: int, day: Day, travel: TravelTimes
) -> Route:
    """The route of a nurse whose day is over: the visits made, a break begun, back to base."""
    prefix = list(_relinked(nurse, stops, day, travel))
    began = _break_begun(route, now) if nurse.break_min else None
    back = _back_at_base(nurse, prefix, began, day, travel)
    last = day.visit(prefix[-1].visit_id) if prefix else None
    leg = travel.matrix([(last.lat, last.lon), (nurse.lat, nurse.lon)])[0][1] if last else 0
    return Route(
        nurse_id=nurse.id,
        leave_base=route.leave_base if prefix else nurse.shift_start,
        return_base=back,
        break_start=began[0] if began else None,
        break_end=began[1] if began else None,
        stops=prefix,
        travel_min=sum(s.travel_min for s in prefix) + leg,
    )


def _seen(plan: Plan) -> dict[str, tuple[frozenset[str], int]]:
    seen: dict[str, tuple[set[str], int]] = {}
    for route in plan.routes:
        for stop in route.stops:
            seen.setdefault(stop.visit_id, (set(), stop.start))[0].add(route.nurse_id)
    return {k: (frozenset(n), t) for k, (n, t) in seen.items()}


def _changes(old: Plan, new: Plan, events: Events) -> Iterator[Change]:
    before, after = _seen(old), _seen(new)
    reasons = {u.visit_id: u.reason for u in new.unplanned}
    for visit_id in events.cancelled:
        yield Change(visit_id, "cancelled", tell_patient=False)
    for visit in new.day.visits:
        was, now = before.get(visit.id), after.get(visit.id)
        if now is None and was is not None:
            yield Change(visit.id, f"no longer planned today: {reasons[visit.id]}", True)
        elif now is not None and was is None:
            yield Change(visit.id, f"now planned at {clock(now[1])} with {_names(now[0])}", True)
        elif now is not None and was is not None and now != was:
            moved = abs(now[1] - was[1])
            what = f"{clock(was[1])} with {_names(was[0])} → {clock(now[1])} with {_names(now[0])}"
            yield Change(visit.id, what, moved > TELL_PATIENT_MIN or now[0] != was[0])


def _names(nurses: frozenset[str]) -> str:
    return " and ".join(sorted(nurses))


def _nurses_to_tell(old: Plan, new: Plan, events: Events) -> list[str]:
    gone = {o.nurse_id for o in events.nurses_off if o.from_time <= events.now}
    before = {r.nurse_id: [(s.visit_id, s.start) for s in r.stops] for r in old.routes}
    return [
        r.nurse_id
        for r in new.routes
        if r.nurse_id not in gone
        and [(s.visit_id, s.start) for s in r.stops] != before.get(r.nurse_id)
    ]
