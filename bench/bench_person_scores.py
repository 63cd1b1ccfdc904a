"""Benchmark one person's scores page service: `person_scores` for random registered people.

    uv run python bench/bench_person_scores.py --home DIR [--people 50] [--seed 1]

DIR is a JOINEDUP home with a population store (and ideally a stratification run and a trained
risk model, so the timings include the segments, the risk rank and the explanation). The first
call compiles the pipelines to SQL for the run's index date and is reported on its own; the
next `--people` calls are the timings of a warm server. Target: under 300 ms per person on a
300,000-person area on DuckDB. Prints timings only, never patient data.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from joinedup.analytics.person_scores import person_scores
from joinedup.analytics.stratify import latest_run
from joinedup.settings import Settings


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share from 0 to 1) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a JOINEDUP home to read")
    parser.add_argument("--people", type=int, default=50, help="people to time (default 50)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    settings = Settings(home=args.home.resolve(), database_url="sqlite://")
    run = latest_run(settings)
    if run is not None:
        ids = run.person_results(["person_id"]).column("person_id").to_pylist()
    else:
        ids = pq.read_table(settings.population_dir / "patients.parquet", columns=["person_id"])
        ids = ids.column("person_id").to_pylist()
    chosen = random.Random(args.seed).sample(ids, min(args.people + 1, len(ids)))

    print(f"joinedup person_scores on {settings.home}: {len(ids):,} people")
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"latest run: {run.run_id if run else 'none'}")
    started = time.perf_counter()
    person_scores(settings, chosen[0])
    print(f"first call (compiles the pipelines): {1000 * (time.perf_counter() - started):.0f} ms")

    timings: list[float] = []
    cpu: list[float] = []
    parts: dict[str, list[float]] = {}
    for person_id in chosen[1:]:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = person_scores(settings, person_id)
        timings.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - cpu_started))
        for name, seconds in result.timings.items():
            parts.setdefault(name, []).append(1000 * seconds)
    print(f"people timed: {len(timings)}")
    print(f"median: {statistics.median(timings):.0f} ms")
    print(f"95th percentile: {percentile(timings, 0.95):.0f} ms")
    print(f"slowest: {max(timings):.0f} ms")
    # CPU time of this process per call: on a busy shared machine the wall time includes
    # waiting for a core; the CPU time is what the call itself costs.
    print(f"CPU time: median {statistics.median(cpu):.0f} ms, 95th {percentile(cpu, 0.95):.0f} ms")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, values in parts.items():
        print(f"  {name:<6} median {statistics.median(values):6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
