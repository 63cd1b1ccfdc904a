"""A planning problem as the solver sees it: the nurses' shifts from where and when each is free,
the visits still to place, and the costs that steer the choice. A morning plan and a same-day
replan both become a `Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from joinedup.neighbourhood.visits.model import Day, Nurse, Stop, Unplanned, Visit
from joinedup.neighbourhood.visits.travel import Places, Point

DEFAULT_CONTINUITY_WEIGHT = 20  # minutes of travel worth one visit by the preferred nurse


@dataclass(frozen=True)
class Shift:
    """A nurse as the solver sees them: where and from when they are free to visit."""

    nurse: Nurse
    start_point: Point
    earliest: int
    break_window: tuple[int, int]  # the break lies inside; unused when break_min is 0
    break_min: int
    visits_left: int | None
    prefix: tuple[Stop, ...] = ()  # visits already made (a replan), before start_point
    leave_base: int | None = None  # when the prefix began
    fixed_break: tuple[int, int] | None = None  # a break already begun (a replan)

    @classmethod
    def whole_day(cls, nurse: Nurse) -> Shift:
        return cls(
            nurse=nurse,
            start_point=(nurse.lat, nurse.lon),
            earliest=nurse.shift_start,
            break_window=(nurse.break_start, nurse.break_end),
            break_min=nurse.break_min,
            visits_left=nurse.max_visits,
        )


@dataclass(frozen=True)
class Problem:
    """What to plan: `day` is the day the plan answers to (and is checked against)."""

    day: Day
    shifts: Sequence[Shift]
    visits: Sequence[Visit]  # the visits still to place
    continuity_weight: int = DEFAULT_CONTINUITY_WEIGHT
    not_before: int = 0  # no visit may start earlier (a replan's "now")
    incumbent: Mapping[str, frozenset[str]] = field(default_factory=dict)  # visit -> nurses
    change_weight: int = 0
    incumbent_start: Mapping[str, int] = field(default_factory=dict)  # visit -> start before
    kept_unplanned: Sequence[Unplanned] = ()  # decided before the solve


def places(problem: Problem) -> Places:
    """Every place in the problem, once each, numbered in order of first mention."""
    where: Places = {}
    points = [
        *(s.start_point for s in problem.shifts),
        *((s.nurse.lat, s.nurse.lon) for s in problem.shifts),
        *((v.lat, v.lon) for v in problem.visits),
    ]
    for point in points:
        where.setdefault(point, len(where))
    return where
