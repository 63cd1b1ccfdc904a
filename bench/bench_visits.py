"""Benchmark the district-nursing visit planner on generated days around real practices.

    uv run python bench/bench_visits.py [--shared ../shared] [--seconds 8] [--seed 1]

For days of 100, 200 and 300 visits (10, 20 and 30 nurses) prints: the time to the first
feasible plan (every plan here is held to the independent checker), and travel minutes,
continuity share and unplanned count for (a) the solver after `--seconds` of guided local
search, (b) the greedy time-oriented nearest-neighbour baseline, (c) a lower bound on travel;
then the travel-vs-continuity curve (continuity_weight swept on the 200-visit day) and
`joinedup visits plan` timed end to end as a process. Prints figures only, no patient data.

The lower bound: every visit a plan makes needs a journey into it, and no journey into a place
is shorter than the shortest from any other place of the day (another home or a base); so the
sum over the visits the solver planned (twice for two-person visits) of that shortest journey
bounds the travel of any plan making those visits. It ignores the way back to base.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from joinedup.neighbourhood.visits.baseline import greedy_plan
from joinedup.neighbourhood.visits.checker import check
from joinedup.neighbourhood.visits.generate import generate_day
from joinedup.neighbourhood.visits.model import Day, Plan, to_json
from joinedup.neighbourhood.visits.solver import plan_day
from joinedup.neighbourhood.visits.travel import StraightLine

SIZES = ((100, 10), (200, 20), (300, 30))
WEIGHTS = (0, 10, 20, 40, 80, 160)
TRAVEL = StraightLine()


def lower_bound(day: Day, plan: Plan) -> int:
    points = list(
        dict.fromkeys(
            [*((n.lat, n.lon) for n in day.nurses), *((v.lat, v.lon) for v in day.visits)]
        )
    )
    matrix = TRAVEL.matrix(points)
    row = {p: i for i, p in enumerate(points)}
    planned: dict[str, int] = {}
    for route in plan.routes:
        for stop in route.stops:
            planned[stop.visit_id] = planned.get(stop.visit_id, 0) + 1
    total = 0
    for visit in day.visits:
        here = row[(visit.lat, visit.lon)]
        others = [matrix[i][here] for i in range(len(points)) if i != here]
        same_place = sum(1 for v in day.visits if (v.lat, v.lon) == (visit.lat, visit.lon)) > 1
        total += planned.get(visit.id, 0) * (0 if same_place else min(others))
    return total


def figures(plan: Plan) -> str:
    s = plan.summary
    share = "n/a" if s.continuity_share is None else f"{s.continuity_share:.1%}"
    return f"travel {s.travel_min:5d} min  continuity {share:>6}  unplanned {s.unplanned:3d}"


def timed(what: str, make: object) -> tuple[Plan, float]:
    assert callable(make)
    started = time.perf_counter()
    plan = make()
    elapsed = time.perf_counter() - started
    violations = check(plan, TRAVEL)
    if violations:
        raise SystemExit(f"{what}: the checker found {len(violations)} violations: {violations[0]}")
    return plan, elapsed


def sizes(shared: Path, seconds: float, seed: int) -> None:
    print(
        "| visits / nurses | plan | seconds | travel min | continuity | unplanned | lower bound |"
    )
    print("|---|---|---|---|---|---|---|")
    for visits, nurses in SIZES:
        day = generate_day(shared, visits=visits, nurses=nurses, seed=seed)
        rows = [
            ("first solution", *timed("first", lambda d=day: plan_day(d, TRAVEL, seconds=0))),
            (
                f"solver {seconds:g} s",
                *timed("solver", lambda d=day: plan_day(d, TRAVEL, seconds=seconds)),
            ),
            ("greedy baseline", *timed("greedy", lambda d=day: greedy_plan(d, TRAVEL))),
        ]
        for name, plan, elapsed in rows:
            s = plan.summary
            share = "n/a" if s.continuity_share is None else f"{s.continuity_share:.1%}"
            bound = lower_bound(day, plan)
            print(
                f"| {visits} / {nurses} | {name} | {elapsed:.2f} | {s.travel_min} | {share} "
                f"({s.preferred_seen}/{s.preferred_on_shift}) | {s.unplanned} | {bound} |"
            )
        sys.stdout.flush()


def curve(shared: Path, seconds: float, seed: int) -> None:
    day = generate_day(shared, visits=200, nurses=20, seed=seed)
    print("\n| continuity_weight | travel min | continuity | unplanned |")
    print("|---|---|---|---|")
    for weight in WEIGHTS:
        plan, _ = timed(
            "curve", lambda w=weight: plan_day(day, TRAVEL, seconds=seconds, continuity_weight=w)
        )
        s = plan.summary
        print(
            f"| {weight} | {s.travel_min} | {s.continuity_share:.1%} "
            f"({s.preferred_seen}/{s.preferred_on_shift}) | {s.unplanned} |"
        )
        sys.stdout.flush()


def end_to_end(shared: Path, seed: int) -> None:
    print("\n| process: joinedup visits plan | visits | --seconds | wall s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        day_file, plan_file = Path(folder) / "day.json", Path(folder) / "plan.json"
        day_file.write_text(to_json(generate_day(shared, visits=300, nurses=30, seed=seed)))
        for seconds in ("0", "5"):
            started = time.perf_counter()
            subprocess.run(
                [
                    "joinedup",
                    "visits",
                    "plan",
                    "--input",
                    str(day_file),
                    "-o",
                    str(plan_file),
                    "--seconds",
                    seconds,
                ],
                check=True,
                capture_output=True,
                env={**os.environ, "JOINEDUP_OSRM_URL": ""},
            )
            print(f"| end to end | 300 | {seconds} | {time.perf_counter() - started:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--curve-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    machine = f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores"
    print(f"{machine}, seed {args.seed}\n")
    sizes(args.shared, args.seconds, args.seed)
    curve(args.shared, args.curve_seconds, args.seed)
    end_to_end(args.shared, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
