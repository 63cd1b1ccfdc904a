"""The visit planner's plans, each held to the independent checker: generated days around real
practices and hand-made tricky cases; and the checker itself, fed broken plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from joinedup.neighbourhood.visits.baseline import greedy_plan
from joinedup.neighbourhood.visits.checker import check
from joinedup.neighbourhood.visits.generate import generate_day
from joinedup.neighbourhood.visits.model import Day, Plan, Route, Stop
from joinedup.neighbourhood.visits.solver import plan_day
from joinedup.neighbourhood.visits.travel import StraightLine

TRAVEL = StraightLine()
BASE = (51.5, -0.1)


def nurse(nurse_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": nurse_id,
        "lat": BASE[0],
        "lon": BASE[1],
        "shift_start": "08:00",
        "shift_end": "16:00",
        "skills": ["insulin", "wound_care"],
        "break_start": "12:00",
        "break_end": "14:00",
        "break_min": 30,
        **fields,
    }


def visit(visit_id: str, north_km: float = 1.0, **fields: Any) -> dict[str, Any]:
    return {
        "id": visit_id,
        "lat": BASE[0] + north_km / 111.2,
        "lon": BASE[1],
        "duration_min": 30,
        "window_start": "09:00",
        "window_end": "15:00",
        "skills": [],
        "priority": 2,
        **fields,
    }


def day_of(visits: list[dict[str, Any]], nurses: list[dict[str, Any]]) -> Day:
    return Day.model_validate({"visits": visits, "nurses": nurses})


def planned(plan: Plan) -> dict[str, list[tuple[str, Stop]]]:
    made: dict[str, list[tuple[str, Stop]]] = {}
    for route in plan.routes:
        for stop in route.stops:
            made.setdefault(stop.visit_id, []).append((route.nurse_id, stop))
    return made


def reasons(plan: Plan) -> dict[str, str]:
    return {u.visit_id: u.reason for u in plan.unplanned}


# --- generated days: every plan keeps every rule -----------------------------------------------


@pytest.fixture(scope="module", params=[(1, 60, 6), (2, 100, 10), (3, 150, 15)])
def generated(request: pytest.FixtureRequest, shared_dir: Path) -> Day:
    seed, visits, nurses = request.param
    return generate_day(shared_dir, visits=visits, nurses=nurses, seed=seed)


def test_generated_days_plans_keep_every_rule(generated: Day) -> None:
    for seconds in (0, 1):
        plan = plan_day(generated, TRAVEL, seconds=seconds)
        assert check(plan, TRAVEL) == []
        assert plan.summary.visits_planned > 0.7 * len(generated.visits)
        two_person = [v.id for v in generated.visits if v.two_person]
        assert any(v in planned(plan) for v in two_person)


def test_a_time_limit_shorter_than_the_first_solution_still_returns_it(generated: Day) -> None:
    first = plan_day(generated, TRAVEL, seconds=0)
    hurried = plan_day(generated, TRAVEL, seconds=0.001)
    assert hurried.summary.visits_planned >= first.summary.visits_planned > 0


def test_the_greedy_baseline_keeps_every_rule_and_the_solver_plans_at_least_as_much(
    generated: Day,
) -> None:
    greedy = greedy_plan(generated, TRAVEL)
    assert check(greedy, TRAVEL) == []
    solved = plan_day(generated, TRAVEL, seconds=1)
    assert solved.summary.visits_planned >= greedy.summary.visits_planned


def test_continuity_weight_trades_travel_for_continuity(shared_dir: Path) -> None:
    day = generate_day(shared_dir, visits=60, nurses=6, seed=4)
    least_travel = plan_day(day, TRAVEL, seconds=1, continuity_weight=0)
    continuity = plan_day(day, TRAVEL, seconds=1, continuity_weight=120)
    assert check(continuity, TRAVEL) == []
    assert continuity.summary.preferred_seen > least_travel.summary.preferred_seen
    assert least_travel.summary.travel_min < continuity.summary.travel_min


def test_the_generator_reads_real_practices_and_is_seeded(shared_dir: Path) -> None:
    first = generate_day(shared_dir, visits=30, nurses=3, seed=9)
    assert first == generate_day(shared_dir, visits=30, nurses=3, seed=9)
    assert first != generate_day(shared_dir, visits=30, nurses=3, seed=10)
    coordinates = (
        (shared_dir / "data/gp_practice_structures_qof_wylie102")
        .joinpath("GP_info_and_coordinates.csv")
        .read_text(encoding="utf-8")
    )
    for n in first.nurses:  # every base is a real practice's published coordinates
        assert f",{n.lat}," in coordinates or f",{n.lat:.7f}," in coordinates


# --- hand-made cases ---------------------------------------------------------------------------


def test_a_visit_needing_a_skill_no_nurse_holds_says_so() -> None:
    day = day_of([visit("V1", skills=["syringe_driver"]), visit("V2")], [nurse("N1")])
    plan = plan_day(day, TRAVEL, seconds=0)
    assert reasons(plan) == {"V1": "no nurse with skill syringe_driver on shift"}
    assert check(plan, TRAVEL) == []


def test_a_window_outside_every_shift_or_too_far_says_which() -> None:
    early = visit("early", window_start="07:00", window_end="07:30")
    far = visit("far", north_km=40, window_start="08:00", window_end="08:50")
    plan = plan_day(day_of([early, far], [nurse("N1")]), TRAVEL, seconds=0)
    assert reasons(plan) == {
        "early": "no nurse on shift during 07:00–07:30",
        "far": "window 08:00–08:50 cannot be reached from any base within a shift",
    }


def test_when_capacity_runs_out_the_lower_priority_visit_gives_way() -> None:
    day = day_of(
        [visit("routine", priority=3, north_km=0.2), visit("urgent", priority=1, north_km=4)],
        [nurse("N1", max_visits=1)],
    )
    plan = plan_day(day, TRAVEL, seconds=0.5)
    assert list(planned(plan)) == ["urgent"]
    assert reasons(plan) == {"routine": "no capacity left: dropped for higher-priority visits"}


def test_a_two_person_visit_has_two_nurses_starting_together() -> None:
    day = day_of(
        [visit("lift", two_person=True, window_start="10:00", window_end="11:00"), visit("V2")],
        [nurse("N1"), nurse("N2", lat=BASE[0] + 0.02)],
    )
    plan = plan_day(day, TRAVEL, seconds=0.5)
    made = planned(plan)["lift"]
    assert {n for n, _ in made} == {"N1", "N2"}
    assert made[0][1].start == made[1][1].start
    assert check(plan, TRAVEL) == []


def test_a_two_person_visit_with_one_nurse_on_shift_is_unplanned() -> None:
    plan = plan_day(day_of([visit("lift", two_person=True)], [nurse("N1")]), TRAVEL, seconds=0)
    assert reasons(plan) == {"lift": "needs two nurses on shift; 1 on shift"}


def test_fixed_times_windows_and_breaks_are_kept() -> None:
    day = day_of(
        [
            visit("insulin", fixed_time="12:15", duration_min=15, skills=["insulin"]),
            visit("dressing", window_start="12:30", window_end="13:45", duration_min=45),
            visit("late", window_start="15:00", window_end="15:45"),
        ],
        [nurse("N1")],
    )
    plan = plan_day(day, TRAVEL, seconds=0.5)
    made = planned(plan)
    assert made["insulin"][0][1].start == 12 * 60 + 15
    route = plan.routes[0]
    assert route.break_start is not None and route.break_end is not None
    assert route.break_start >= 12 * 60 and route.break_end <= 14 * 60
    assert check(plan, TRAVEL) == []


def test_a_nurse_with_no_visits_still_has_a_valid_day() -> None:
    day = day_of([visit("V1")], [nurse("N1"), nurse("N2", lat=BASE[0] + 0.5)])
    plan = plan_day(day, TRAVEL, seconds=0)
    assert check(plan, TRAVEL) == []
    assert plan.summary.visits_planned == 1


def test_continuity_share_counts_visits_whose_preferred_nurse_is_on_shift() -> None:
    day = day_of(
        [
            visit("V1", preferred_nurse="N1"),
            visit("V2", preferred_nurse="N2", lat=BASE[0] + 0.1),
            visit("V3", preferred_nurse="on-leave"),
        ],
        [nurse("N1"), nurse("N2", lat=BASE[0] + 0.1)],
    )
    plan = plan_day(day, TRAVEL, seconds=0.5, continuity_weight=60)
    assert plan.summary.preferred_on_shift == 2
    assert plan.summary.preferred_seen == 2
    assert plan.summary.continuity_share == 1.0


# --- the checker catches each broken rule ------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> Plan:
    day = day_of(
        [
            visit("A", north_km=1, skills=["wound_care"]),
            visit("B", north_km=2, window_start="09:00", window_end="10:30"),
            visit("C", north_km=3, two_person=True, window_start="14:00", window_end="15:00"),
            visit("D", north_km=1.5, window_start="10:00", window_end="12:00"),
        ],
        [nurse("N1", max_visits=4), nurse("N2", skills=["insulin"], max_visits=4)],
    )
    plan = plan_day(day, TRAVEL, seconds=0.5)
    assert check(plan, TRAVEL) == []
    assert len(planned(plan)) == 4
    return plan


def _edit_stop(plan: Plan, visit_id: str, **fields: Any) -> Plan:
    routes = [
        r.model_copy(
            update={
                "stops": [
                    s.model_copy(update=fields) if s.visit_id == visit_id else s for s in r.stops
                ]
            }
        )
        for r in plan.routes
    ]
    return plan.model_copy(update={"routes": routes})


def _edit_route(plan: Plan, who: str, **fields: Any) -> Plan:
    routes = [r.model_copy(update=fields) if r.nurse_id == who else r for r in plan.routes]
    return plan.model_copy(update={"routes": routes})


def _route_with(plan: Plan, visit_id: str) -> Route:
    return next(r for r in plan.routes if any(s.visit_id == visit_id for s in r.stops))


def _stop(plan: Plan, visit_id: str) -> Stop:
    return next(s for r in plan.routes for s in r.stops if s.visit_id == visit_id)


def _broken(good: Plan) -> dict[str, tuple[Plan, str]]:
    b = _stop(good, "B")
    a_route = _route_with(good, "A")
    first = a_route.stops[0]
    n1 = next(r for r in good.routes if r.nurse_id == "N1")
    c_stops = [(r.nurse_id, s) for r in good.routes for s in r.stops if s.visit_id == "C"]
    assert n1.break_start is not None
    late_b = _edit_stop(good, "B", start=10 * 60 + 15, departure=10 * 60 + 45)
    return {
        "window": (late_b, "outside its window"),
        "skill": (_edit_route(good, a_route.nurse_id, nurse_id="N2"), "who lacks wound_care"),
        "no break": (_edit_route(good, "N1", break_start=None, break_end=None), "takes no break"),
        "break in a visit": (
            _edit_route(
                good, "N1", break_start=n1.stops[0].start, break_end=n1.stops[0].start + 30
            ),
            "break",
        ),
        "twice": (
            _edit_route(good, "N1", stops=[*n1.stops, n1.stops[0]]),
            "needs 1 different nurse(s), has 2 visit(s)",
        ),
        "too quick": (
            _edit_stop(
                good,
                first.visit_id,
                start=a_route.leave_base,
                arrival=a_route.leave_base,
                departure=a_route.leave_base + 30,
            ),
            "no time for the",
        ),
        "two-person apart": (
            _edit_route(
                good,
                c_stops[0][0],
                stops=[
                    s.model_copy(update={"start": s.start + 5, "departure": s.departure + 5})
                    if s.visit_id == "C"
                    else s
                    for s in _route_by_id(good, c_stops[0][0]).stops
                ],
            ),
            "start at different times",
        ),
        "max visits": (
            plan_day_with_max(good, 1),
            "more than 1",
        ),
        "after the shift": (_edit_route(good, "N1", return_base=16 * 60 + 30), "after the shift"),
        "lost": (
            _edit_route(
                good,
                b_route_id(good),
                stops=[s for s in _route_by_id(good, b_route_id(good)).stops if s.visit_id != "B"],
            ),
            "neither planned nor unplanned",
        ),
        "travel": (_edit_stop(good, "B", travel_min=b.travel_min + 1), "travel given as"),
    }


def _route_by_id(plan: Plan, nurse_id: str) -> Route:
    return next(r for r in plan.routes if r.nurse_id == nurse_id)


def b_route_id(plan: Plan) -> str:
    return _route_with(plan, "B").nurse_id


def plan_day_with_max(plan: Plan, most: int) -> Plan:
    nurses = [n.model_copy(update={"max_visits": most}) for n in plan.day.nurses]
    return plan.model_copy(update={"day": plan.day.model_copy(update={"nurses": nurses})})


@pytest.mark.parametrize(
    "case",
    [
        "window",
        "skill",
        "no break",
        "break in a visit",
        "twice",
        "too quick",
        "two-person apart",
        "max visits",
        "after the shift",
        "lost",
        "travel",
    ],
)
def test_the_checker_catches_each_broken_rule(good: Plan, case: str) -> None:
    broken, expected = _broken(good)[case]
    violations = [str(v) for v in check(broken, TRAVEL)]
    assert any(expected in v for v in violations), violations
