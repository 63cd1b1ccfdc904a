"""The visit planner: a vehicle-routing problem with time windows (VRPTW) solved by Google
OR-Tools routing (https://developers.google.com/optimization/routing), one vehicle per nurse.

Hard (a plan never breaks them; `checker.check` verifies every plan independently):
- each visit starts and ends inside the window its named nurse set, or at its fixed time;
- only nurses holding every skill a visit needs may make it (`VehicleVar(i).SetValues`;
  `SetAllowedVehiclesForIndex` raises TypeError in the OR-Tools 9.15 Python wheel);
- each nurse leaves the base no earlier than the shift start, is back by its end, takes the
  break inside its window (an OR-Tools break interval on the time dimension, never during a
  visit) and makes at most `max_visits` visits (a count dimension);
- a two-person visit is two nodes at one place, on two different nurses, starting at the same
  minute (equal time cumuls), both or neither made; the two nurses and the minute are chosen
  first by `pairs.pair_up` (routing search cannot keep two routes in step: ADR 0014).
Soft (in the cost, in minutes of travel):
- travel time;
- `continuity_weight` minutes for each visit not made by its preferred nurse (0 = least travel);
- in a replan, `change_weight` minutes for each visit moved to another nurse, and a minute for
  each minute a visit moves beyond half an hour from its time in the earlier plan;
- leaving a visit unplanned, by priority: 1 costs 100,000, 2 costs 10,000, 3 costs 1,000 —
  far more than any travel saved, so a visit is dropped only when it cannot be fitted, and a
  lower-priority visit gives way to a higher one.

The search: parallel cheapest insertion for the first solution, then guided local search from
it for the given seconds (it never stops by itself: google/or-tools#1049). Every unplanned
visit gets its reason from `reasons`, worked out from the feasibility conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from joinedup.errors import UserError
from joinedup.neighbourhood.visits import reasons
from joinedup.neighbourhood.visits.model import (
    MINUTES_PER_DAY,
    Day,
    Plan,
    Route,
    Stop,
    Summary,
    Unplanned,
    Visit,
)
from joinedup.neighbourhood.visits.pairs import Pair, pair_up
from joinedup.neighbourhood.visits.problem import (
    DEFAULT_CONTINUITY_WEIGHT,
    Problem,
    Shift,
    places,
)
from joinedup.neighbourhood.visits.travel import Matrix, Places, TravelTimes

DROP_PENALTY = {1: 100_000, 2: 10_000, 3: 1_000}
DEFAULT_SECONDS = 5.0
TIME_LEEWAY_MIN = 30  # a replan may move a visit this much before it costs anything


def plan_day(
    day: Day,
    travel: TravelTimes,
    *,
    seconds: float = DEFAULT_SECONDS,
    continuity_weight: int = DEFAULT_CONTINUITY_WEIGHT,
) -> Plan:
    """The plan for `day`: each nurse's route, the visits left unplanned with reasons, totals."""
    problem = Problem(
        day=day,
        shifts=[Shift.whole_day(n) for n in day.nurses],
        visits=day.visits,
        continuity_weight=continuity_weight,
    )
    return solve(problem, travel, seconds=seconds)


# --- the model -------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Node numbering: a start and an end node per shift, then one node per visit nurse
    (two for a two-person visit); `point[n]` is the node's place in the travel matrix."""

    point: list[int]
    service: list[int]
    visit_of: list[Visit | None]

    @classmethod
    def of(cls, shifts: Sequence[Shift], visits: Sequence[Visit], where: Places) -> _Layout:
        starts = [where[s.start_point] for s in shifts]
        ends = [where[(s.nurse.lat, s.nurse.lon)] for s in shifts]
        layout = cls([*starts, *ends], [0] * (2 * len(shifts)), [None] * (2 * len(shifts)))
        for visit in visits:
            for _ in range(2 if visit.two_person else 1):
                layout.point.append(where[(visit.lat, visit.lon)])
                layout.service.append(visit.duration_min)
                layout.visit_of.append(visit)
        return layout


class _Model:
    def __init__(
        self, problem: Problem, layout: _Layout, minutes: Matrix, pairs: Mapping[str, Pair]
    ) -> None:
        self.problem, self.layout, self.pairs = problem, layout, pairs
        shifts = problem.shifts
        n_shifts = len(shifts)
        self.manager = pywrapcp.RoutingIndexManager(
            len(layout.point), n_shifts, list(range(n_shifts)), list(range(n_shifts, 2 * n_shifts))
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        node_points = np.asarray(layout.point)
        self.travel = np.asarray(minutes, dtype=np.int64)[np.ix_(node_points, node_points)]
        self.visit_nodes = [n for n, v in enumerate(layout.visit_of) if v is not None]
        self._time_dimension()
        self._costs()
        self._visit_counts()
        self._visits()
        self._breaks()

    def index(self, node: int) -> int:
        return int(self.manager.NodeToIndex(node))

    def _time_dimension(self) -> None:
        service = np.asarray(self.layout.service, dtype=np.int64)[:, None]
        transit = self.routing.RegisterTransitMatrix((self.travel + service).tolist())
        self.routing.AddDimension(transit, MINUTES_PER_DAY, MINUTES_PER_DAY, False, "Time")
        self.time = self.routing.GetDimensionOrDie("Time")
        for v, shift in enumerate(self.problem.shifts):
            start, end = self.routing.Start(v), self.routing.End(v)
            self.time.CumulVar(start).SetRange(shift.earliest, shift.nurse.shift_end)
            self.time.CumulVar(end).SetRange(shift.earliest, shift.nurse.shift_end)
            # Leave as late and come back as early as the route allows: no idle time at ends.
            self.routing.AddVariableMaximizedByFinalizer(self.time.CumulVar(start))
            self.routing.AddVariableMinimizedByFinalizer(self.time.CumulVar(end))

    def _costs(self) -> None:
        """Travel, plus per-nurse penalties on arriving at a visit someone else should make."""
        problem = self.problem
        on_shift = {s.nurse.id for s in problem.shifts}
        evaluators: dict[bytes, int] = {}
        for v, shift in enumerate(problem.shifts):
            penalty = np.zeros(len(self.layout.point), dtype=np.int64)
            for node in self.visit_nodes:
                visit = self.layout.visit_of[node]
                assert visit is not None
                if visit.preferred_nurse in on_shift and visit.preferred_nurse != shift.nurse.id:
                    penalty[node] += problem.continuity_weight
                was_with = problem.incumbent.get(visit.id)
                if was_with and shift.nurse.id not in was_with:
                    penalty[node] += problem.change_weight
            key = penalty.tobytes()
            if key not in evaluators:
                evaluators[key] = self.routing.RegisterTransitMatrix(
                    (self.travel + penalty[None, :]).tolist()
                )
            self.routing.SetArcCostEvaluatorOfVehicle(evaluators[key], v)

    def _visit_counts(self) -> None:
        caps = [s.visits_left for s in self.problem.shifts]
        if all(c is None for c in caps):
            return
        ones = [0 if v is None else 1 for v in self.layout.visit_of]
        counter = self.routing.RegisterUnaryTransitVector(ones)
        limit = len(self.visit_nodes)
        self.routing.AddDimensionWithVehicleCapacity(
            counter, 0, [limit if c is None else c for c in caps], True, "Visits"
        )

    def _visits(self) -> None:
        problem = self.problem
        nodes_of: dict[str, list[int]] = {}
        for node in self.visit_nodes:
            visit = self.layout.visit_of[node]
            assert visit is not None
            nodes_of.setdefault(visit.id, []).append(node)
            index = self.index(node)
            earliest = max(visit.window_start, problem.not_before)
            latest = visit.latest_start
            if visit.fixed_time is not None:
                earliest = latest = visit.fixed_time
            self.time.CumulVar(index).SetRange(earliest, latest)
            self._keep_near(index, problem.incumbent_start.get(visit.id))
            allowed = [v for v, s in enumerate(problem.shifts) if reasons.may_make(s, visit)]
            self.routing.VehicleVar(index).SetValues([-1, *allowed])
            self.routing.AddDisjunction([index], DROP_PENALTY[visit.priority])
        for visit_id, pair in self.pairs.items():
            first, second = (self.index(n) for n in nodes_of[visit_id])
            self._together(first, second, pair)

    def _keep_near(self, index: int, before: int | None) -> None:
        """In a replan, a minute of travel for each minute a visit moves beyond the leeway."""
        if before is not None:
            self.time.SetCumulVarSoftUpperBound(index, before + TIME_LEEWAY_MIN, 1)
            self.time.SetCumulVarSoftLowerBound(index, max(0, before - TIME_LEEWAY_MIN), 1)

    def _together(self, first: int, second: int, pair: Pair) -> None:
        """Two nurses, one start time, both or neither; pinned to the pair chosen beforehand
        (see `pairs`), which local search could not find by itself."""
        solver, routing = self.routing.solver(), self.routing
        routing.VehicleVar(first).SetValues([-1, pair.first])
        routing.VehicleVar(second).SetValues([-1, pair.second])
        self.time.CumulVar(first).SetValue(pair.start)
        self.time.CumulVar(second).SetValue(pair.start)
        solver.Add(routing.ActiveVar(first) == routing.ActiveVar(second))
        solver.Add(self.time.CumulVar(first) == self.time.CumulVar(second))
        different = solver.IsDifferentVar(routing.VehicleVar(first), routing.VehicleVar(second))
        solver.Add(different >= routing.ActiveVar(first))

    def _breaks(self) -> None:
        solver = self.routing.solver()
        visit_transits = [
            self.layout.service[self.manager.IndexToNode(i)] for i in range(self.routing.Size())
        ]
        for v, shift in enumerate(self.problem.shifts):
            if shift.break_min == 0:
                continue
            opens, closes = shift.break_window
            brk = solver.FixedDurationIntervalVar(
                opens, closes - shift.break_min, shift.break_min, False, f"break {v}"
            )
            self.time.SetBreakIntervalsOfVehicle([brk], v, visit_transits)


def _search(seconds: float) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    if seconds <= 0:
        params.solution_limit = 1
        return params
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, round(seconds * 1000)))
    return params


# --- solving and reading the solution --------------------------------------------------------


def solve(problem: Problem, travel: TravelTimes, *, seconds: float = DEFAULT_SECONDS) -> Plan:
    """Solve `problem`: the first solution, then `seconds` of guided local search from it."""
    where = places(problem)
    minutes = travel.matrix(list(where))
    placeable, excluded = reasons.screen(problem, minutes, where)
    pairs = pair_up(problem, placeable, minutes, where)
    unpaired = [v for v in placeable if v.two_person and v.id not in pairs]
    placeable = [v for v in placeable if not v.two_person or v.id in pairs]
    layout = _Layout.of(problem.shifts, placeable, where)
    model = _Model(problem, layout, minutes, pairs)
    # The first solution without a time limit (a limit that comes first leaves an empty plan),
    # then `seconds` of improvement from it.
    solution = model.routing.SolveWithParameters(_search(0))
    if solution is not None and seconds > 0:
        improved = model.routing.SolveFromAssignmentWithParameters(solution, _search(seconds))
        solution = improved or solution
    if solution is None:
        raise UserError("the planner found no plan at all for this day (please report it)")
    routes = [_route(model, solution, v, minutes) for v in range(len(problem.shifts))]
    planned = {s.visit_id for r in routes for s in r.stops}
    dropped = [*unpaired, *(v for v in placeable if v.id not in planned)]
    unplanned = [
        *problem.kept_unplanned,
        *excluded,
        *reasons.why_unplanned(problem, dropped, routes),
    ]
    return Plan(
        day=problem.day,
        continuity_weight=problem.continuity_weight,
        routes=routes,
        unplanned=unplanned,
        summary=summarise(problem.day, routes, unplanned),
    )


def _route(model: _Model, solution: pywrapcp.Assignment, v: int, minutes: Matrix) -> Route:
    shift = model.problem.shifts[v]
    routing, time, layout = model.routing, model.time, model.layout
    brk = shift.fixed_break or _break_of(solution, v, shift.break_min)
    stops = list(shift.prefix)
    index = routing.Start(v)
    departed, here = solution.Value(time.CumulVar(index)), layout.point[v]
    leave_base = departed if shift.leave_base is None else shift.leave_base
    travel_total = sum(s.travel_min for s in stops)
    while True:
        index = solution.Value(routing.NextVar(index))
        node = model.manager.IndexToNode(index)
        start = solution.Value(time.CumulVar(index))
        leg = minutes[here][layout.point[node]]
        arrival = _arrival(brk, departed, leg, start)
        travel_total += leg
        if routing.IsEnd(index):
            if not stops:  # an unused nurse: say so plainly, not "leaves at the shift end"
                leave_base = start = arrival = shift.earliest
            return Route(
                nurse_id=shift.nurse.id,
                leave_base=leave_base,
                return_base=max(start, arrival),
                break_start=brk[0] if brk else None,
                break_end=brk[1] if brk else None,
                stops=stops,
                travel_min=travel_total,
            )
        visit = layout.visit_of[node]
        assert visit is not None
        stops.append(
            Stop(
                visit_id=visit.id,
                travel_min=leg,
                arrival=arrival,
                start=start,
                departure=start + visit.duration_min,
            )
        )
        departed, here = start + visit.duration_min, layout.point[node]


def _break_of(solution: pywrapcp.Assignment, v: int, length: int) -> tuple[int, int] | None:
    if length == 0:
        return None
    intervals = solution.IntervalVarContainer()
    for i in range(intervals.Size()):
        element = intervals.Element(i)
        if element.Var().Name() == f"break {v}":
            return element.StartValue(), element.StartValue() + length
    raise AssertionError(f"no break in the solution for vehicle {v}")


def _arrival(brk: tuple[int, int] | None, departed: int, leg: int, start: int) -> int:
    """When the nurse arrives: straight after the journey, unless the break comes first."""
    if brk is None or not (departed < brk[1] and brk[0] < start) or brk[0] >= departed + leg:
        return departed + leg
    return departed + leg + min(brk[1], start) - max(brk[0], departed)


def summarise(day: Day, routes: Sequence[Route], unplanned: Sequence[Unplanned]) -> Summary:
    """Totals; continuity share counts every visit whose preferred nurse is on shift."""
    on_shift = set(day.nurse_ids)
    seen_by: dict[str, set[str]] = {}
    for route in routes:
        for stop in route.stops:
            seen_by.setdefault(stop.visit_id, set()).add(route.nurse_id)
    with_preferred = [v for v in day.visits if v.preferred_nurse in on_shift]
    seen = sum(1 for v in with_preferred if v.preferred_nurse in seen_by.get(v.id, set()))
    return Summary(
        travel_min=sum(r.travel_min for r in routes),
        visits_planned=len(seen_by),
        unplanned=len(unplanned),
        preferred_seen=seen,
        preferred_on_shift=len(with_preferred),
        continuity_share=round(seen / len(with_preferred), 4) if with_preferred else None,
    )
