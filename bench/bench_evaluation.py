"""Each evaluation method on the 300,000-person area with a planted programme (-20%).

    python3 -m uv run --frozen python bench/bench_evaluation.py [--home DIR]

Generates the area once into DIR (default: a temporary folder) with --plant-programme -0.2
unless an area with a planted programme is already there, then times, per method: reading the
cohort and its monthly outcomes from the population store (Ibis on DuckDB), the method, and
the regression-to-the-mean demonstration. Prints wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from joinedup.analytics.evaluation.programme import find
from joinedup.analytics.evaluation.service import METHODS, evaluate_programme
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area

PATIENTS = 300_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="joinedup-bench-evaluation-"))
    store = PopulationStore(home / "population")
    if not (store.root / "area.json").is_file() or "programmes" not in store.metadata():
        started = time.perf_counter()
        generate_area(store, patients=PATIENTS, seed=1, plant_programme=-0.2)
        print(f"generated {PATIENTS:,} people in {time.perf_counter() - started:.1f} s")
    programme = find("planted", store.metadata())
    for method in METHODS:
        wall, cpu = time.perf_counter(), time.process_time()
        result = evaluate_programme(store, programme, "emergency_admissions", method)
        print(
            f"{method:18s} {time.perf_counter() - wall:6.1f} s wall "
            f"{time.process_time() - cpu:6.1f} s CPU"
            f"  estimate {result.estimate:+.3f} ({result.ci_low:+.3f} to {result.ci_high:+.3f})"
        )


if __name__ == "__main__":
    main()
