"""Benchmark full stratification (scores, segments, risk, Pareto); check the engines agree.

    uv run python bench/bench_stratify.py --home DIR [--engine duckdb|spark|both]
    uv run python bench/bench_stratify.py --home DIR --generate 1000000 [--seed 1]

DIR is a joinedup home: DIR/population holds the area (made with --generate N, or by
bench/bench_generate.py --keep DIR/population), DIR/models the risk model (trained once here, not
timed, when none is there). Each engine runs `stratify` once, end to end, with the latest model's
risk scorer, exactly as `joinedup stratify` does; wall time, this process's peak resident memory
and the row counts are printed. With --engine both, the two runs' person results are compared
cell by cell. Prints counts and timings only, never patient data.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from joinedup.analytics.risk.registry import (
    list_models,
    load_model,
    risk_scorer,
    train_admission_model,
)
from joinedup.analytics.stratify import StratificationRun, stratify
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area
from joinedup.settings import Settings


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_once(settings: Settings, engine: str) -> StratificationRun:
    scorer = risk_scorer(load_model(settings))
    started = time.perf_counter()
    run = stratify(settings, engine=engine, risk_scorer=scorer)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    people = run.metadata["rows"]["person_results"]
    print(
        f"{engine:<7} {people:>10,} people  {seconds:7.1f} s  "
        f"peak RSS (this process) {peak_rss_gb():.2f} GB  run {run.run_id}",
        flush=True,
    )
    return run


def differences(left: pa.Table, right: pa.Table) -> dict[str, int]:
    """Cells that differ per column (floats compared exactly, nulls equal to nulls)."""
    assert left.column_names == right.column_names, "the runs have different columns"
    assert left.column("person_id").equals(right.column("person_id")), "different people"
    found = {}
    for name in left.column_names:
        a, b = left.column(name), right.column(name)
        same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
        found[name] = len(a) - pc.sum(same.cast(pa.int64())).as_py()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--generate", type=int, metavar="N", help="first generate N people")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["duckdb", "spark", "both"], default="duckdb")
    args = parser.parse_args()

    settings = Settings.from_env(args.home)
    if args.generate:
        generate_area(
            PopulationStore(settings.population_dir), patients=args.generate, seed=args.seed
        )
    if not list_models(settings):
        print("training a risk model on the area (not timed)", flush=True)
        train_admission_model(settings)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}; home {args.home}",
        flush=True,
    )
    engines = ["duckdb", "spark"] if args.engine == "both" else [args.engine]
    runs = [run_once(settings, engine) for engine in engines]
    if len(runs) == 2:
        diff = differences(runs[0].person_results(), runs[1].person_results())
        differing = {k: v for k, v in diff.items() if v}
        cells = sum(diff.values())
        print(f"person results compared over {len(diff)} columns: {cells:,} cells differ")
        for name, count in differing.items():
            print(f"  {name}: {count:,}")
        return 1 if cells else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
