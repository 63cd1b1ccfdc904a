"""Two-person visits: which two nurses go, and when, chosen before the routing solve.

Routing search moves one visit at a time, so two nodes that must start at the same minute on
two different nurses are nearly impossible for it to place: with the pair left free, a
generated day of 300 visits (14 two-person) took 10.7 s to a first solution that planned no
visit at all, against about 1 s without two-person visits (ADR 0014). So each two-person
visit, most urgent first, gets the earliest start in its window at which two nurses who hold
its skills can both be there — reachable from where they start, back to base by the end of the
shift, clear of the other pairs already placed (with travel between), and leaving room for
each nurse's break. Preferred nurses and the nearest bases are tried first. The routing model
then pins those nodes to those nurses and that time, and still states the equalities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from joinedup.neighbourhood.visits.model import Visit
from joinedup.neighbourhood.visits.problem import Problem, Shift
from joinedup.neighbourhood.visits.reasons import may_make
from joinedup.neighbourhood.visits.travel import Matrix, Places

STEP_MIN = 5  # start times tried, minutes apart


@dataclass(frozen=True)
class Pair:
    first: int  # shift indexes
    second: int
    start: int


@dataclass
class _Booked:
    """Pinned visits per shift: (start, end, place)."""

    visits: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)

    def of(self, shift: int) -> list[tuple[int, int, int]]:
        return self.visits.setdefault(shift, [])


def _has_room(shift: Shift, visit: Visit, booked: list[tuple[int, int, int]]) -> bool:
    return may_make(shift, visit) and (shift.visits_left is None or len(booked) < shift.visits_left)


def _fits(
    shift: Shift,
    booked: list[tuple[int, int, int]],
    start: int,
    end: int,
    here: int,
    minutes: Matrix,
    where: Places,
) -> bool:
    origin = where[shift.start_point]
    base = where[(shift.nurse.lat, shift.nurse.lon)]
    if start < shift.earliest + minutes[origin][here]:
        return False
    if end + minutes[here][base] > shift.nurse.shift_end:
        return False
    for other_start, other_end, there in booked:
        if not (
            other_end + minutes[there][here] <= start or end + minutes[here][there] <= other_start
        ):
            return False
    return _break_still_fits(shift, [*booked, (start, end, here)])


def _break_still_fits(shift: Shift, booked: Sequence[tuple[int, int, int]]) -> bool:
    if shift.break_min == 0:
        return True
    opens, closes = shift.break_window
    cursor = opens
    for start, end, _ in sorted(booked):
        if start - cursor >= shift.break_min and start <= closes:
            return True
        cursor = max(cursor, end)
    return min(closes, shift.nurse.shift_end) - cursor >= shift.break_min


def pair_up(
    problem: Problem, visits: Sequence[Visit], minutes: Matrix, where: Places
) -> dict[str, Pair]:
    """For each two-person visit that can be paired, its two nurses and its start."""
    booked = _Booked()
    pairs: dict[str, Pair] = {}
    two_person = [v for v in visits if v.two_person]
    for visit in sorted(two_person, key=lambda v: (v.priority, v.latest_start, v.id)):
        here = where[(visit.lat, visit.lon)]

        def closeness(i: int, visit: Visit = visit, here: int = here) -> tuple[bool, int]:
            shift = problem.shifts[i]
            return (
                shift.nurse.id != visit.preferred_nurse,
                minutes[where[shift.start_point]][here],
            )

        able = sorted(
            (i for i, s in enumerate(problem.shifts) if _has_room(s, visit, booked.of(i))),
            key=closeness,
        )
        earliest = max(visit.window_start, problem.not_before)
        starts = (
            [visit.fixed_time]
            if visit.fixed_time is not None
            else range(earliest, visit.latest_start + 1, STEP_MIN)
        )
        pair = _first_pair(problem, able, starts, visit.duration_min, here, booked, minutes, where)
        if pair is not None:
            pairs[visit.id] = pair
            end = pair.start + visit.duration_min
            booked.of(pair.first).append((pair.start, end, here))
            booked.of(pair.second).append((pair.start, end, here))
    return pairs


def _first_pair(
    problem: Problem,
    able: Sequence[int],
    starts: Sequence[int] | range,
    duration: int,
    here: int,
    booked: _Booked,
    minutes: Matrix,
    where: Places,
) -> Pair | None:
    for start in starts:
        free = [
            i
            for i in able
            if _fits(problem.shifts[i], booked.of(i), start, start + duration, here, minutes, where)
        ]
        for first, second in combinations(free, 2):
            return Pair(first, second, start)
    return None
