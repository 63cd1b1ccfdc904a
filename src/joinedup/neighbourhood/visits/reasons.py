"""Why a visit is not in the plan, in words a coordinator understands.

Before the solve, `screen` sets aside the visits no plan could hold — no nurse on shift with the
skills, or a window no nurse can reach from where they start and still get back by the end of
the shift — so the solver never spends time on them. After the solve, `why_unplanned` says
why each dropped visit did not fit: the time went to higher-priority visits, the nurses who
could go reached their maximum visits, or they were busy at the times the window allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from joinedup.neighbourhood.visits.model import Route, Unplanned, Visit, clock
from joinedup.neighbourhood.visits.problem import Problem, Shift
from joinedup.neighbourhood.visits.travel import Matrix, Places


def may_make(shift: Shift, visit: Visit) -> bool:
    """The nurse holds every skill the visit needs and has visits left to make."""
    return set(visit.skills) <= set(shift.nurse.skills) and shift.visits_left != 0


def _needed(visit: Visit) -> int:
    return 2 if visit.two_person else 1


def _skills(visit: Visit) -> str:
    if not visit.skills:
        return ""
    names = sorted(visit.skills)
    word = "skill" if len(names) == 1 else "skills"
    return f" with {word} {' and '.join(names)}"


def reaches(shift: Shift, visit: Visit, minutes: Matrix, where: Places, not_before: int) -> bool:
    """The nurse can get there inside the window and back to base by the end of the shift."""
    here, there = where[shift.start_point], where[(visit.lat, visit.lon)]
    base = where[(shift.nurse.lat, shift.nurse.lon)]
    earliest = max(shift.earliest + minutes[here][there], visit.window_start, not_before)
    latest = visit.latest_start
    if visit.fixed_time is not None:
        earliest, latest = max(earliest, visit.fixed_time), visit.fixed_time
    return earliest <= latest and (
        earliest + visit.duration_min + minutes[there][base] <= shift.nurse.shift_end
    )


def _on_during_window(shift: Shift, visit: Visit) -> bool:
    """The nurse's (remaining) shift and the visit's window overlap by the visit's length."""
    opens = max(shift.earliest, visit.window_start)
    closes = min(shift.nurse.shift_end, visit.window_end)
    return closes - opens >= visit.duration_min


def _cannot_be_reached(problem: Problem, visit: Visit) -> str:
    if visit.latest_start < problem.not_before:
        return f"window {clock(visit.window_start)}–{clock(visit.window_end)} has passed"
    if visit.fixed_time is not None:
        what = f"fixed time {clock(visit.fixed_time)}"
    else:
        what = f"window {clock(visit.window_start)}–{clock(visit.window_end)}"
    where = "where the nurses are now" if problem.not_before else "any base"
    return f"{what} cannot be reached from {where} within a shift"


def _screen_one(problem: Problem, visit: Visit, minutes: Matrix, where: Places) -> str | None:
    """The reason no plan can hold `visit`, or None if some plan might."""
    skilled = [s for s in problem.shifts if set(visit.skills) <= set(s.nurse.skills)]
    if len(skilled) < _needed(visit):
        if visit.two_person:
            return f"needs two nurses{_skills(visit)} on shift; {len(skilled)} on shift"
        return f"no nurse{_skills(visit)} on shift"
    during = [s for s in skilled if _on_during_window(s, visit)]
    if len(during) < _needed(visit):
        window = f"{clock(visit.window_start)}–{clock(visit.window_end)}"
        if visit.two_person:
            return f"needs two nurses{_skills(visit)} on shift during {window}; {len(during)} on"
        return f"no nurse{_skills(visit)} on shift during {window}"
    able = [s for s in during if s.visits_left != 0]
    if len(able) < _needed(visit):
        return "no capacity left: every nurse who could go has made their maximum visits"
    reachable = [s for s in able if reaches(s, visit, minutes, where, problem.not_before)]
    if len(reachable) < _needed(visit):
        return _cannot_be_reached(problem, visit)
    return None


def screen(problem: Problem, minutes: Matrix, where: Places) -> tuple[list[Visit], list[Unplanned]]:
    """The visits worth giving the solver, and the others with their reasons."""
    placeable: list[Visit] = []
    excluded: list[Unplanned] = []
    for visit in problem.visits:
        reason = _screen_one(problem, visit, minutes, where)
        if reason is None:
            placeable.append(visit)
        else:
            excluded.append(Unplanned(visit_id=visit.id, reason=reason))
    return placeable, excluded


def why_unplanned(
    problem: Problem, dropped: Iterable[Visit], routes: Sequence[Route]
) -> Iterator[Unplanned]:
    """Each visit that fitted no route, with why: capacity went elsewhere."""
    by_nurse = {r.nurse_id: r for r in routes}
    priority = {v.id: v.priority for v in problem.day.visits}
    for visit in dropped:
        could_go = [s for s in problem.shifts if may_make(s, visit)]
        made = [priority[stop.visit_id] for s in could_go for stop in by_nurse[s.nurse.id].stops]
        full = [
            s
            for s in could_go
            if s.nurse.max_visits is not None
            and len(by_nurse[s.nurse.id].stops) >= s.nurse.max_visits
        ]
        if any(p < visit.priority for p in made):
            reason = "no capacity left: dropped for higher-priority visits"
        elif len(could_go) - len(full) < _needed(visit):
            reason = "no capacity left: every nurse who could go has made their maximum visits"
        elif visit.two_person:
            reason = "no capacity left: no two nurses who could go are free at the same time"
        else:
            reason = "no capacity left: the nurses who could go are busy at the times it allows"
        yield Unplanned(visit_id=visit.id, reason=reason)
