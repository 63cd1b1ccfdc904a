"""Time every score's ``from_store`` on a synthetic area (DuckDB): median of RUNS runs each.

    uv run python bench/bench_scores.py --store AREA_HOME/population [--runs 3]
    uv run python bench/bench_scores.py --patients 300000 [--seed 1] [--runs 3]

With --store, reads an existing population store (from bench/bench_generate.py --keep DIR);
otherwise generates --patients people into a temporary folder first (not timed). Each score is
run end to end (``con.to_pyarrow(from_store(tables, extract_date))``) on one DuckDB connection
and reported with its row count and the median, min and max wall time. Prints counts and timings
only, never patient data; figures are recorded by hand in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.scores import charlson, cms, conditions, efi, elixhauser, hfrs
from joinedup.population.store import PopulationStore

SCORES: dict[str, Callable[..., Any]] = {
    "conditions": conditions.from_store,
    "efi": efi.from_store,
    "cms": cms.from_store,
    "hfrs": hfrs.from_store,
    "charlson": charlson.from_store,
    "elixhauser": elixhauser.from_store,
}
TABLES = ["clinical_events", "medications", "hospital_spells", "spell_diagnoses"]


def bench(store: PopulationStore, runs: int) -> None:
    con = connect("duckdb")
    tables = read_store(con, store, TABLES)
    index_date = dt.date.fromisoformat(store.metadata()["extract_date"])
    sizes = ", ".join(f"{name} {tables[name].count().execute():,}" for name in TABLES)
    print(f"store {store.root}: {sizes}; index date {index_date}; {os.cpu_count()} CPUs")
    total = 0.0
    for name, from_store in SCORES.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            rows = con.to_pyarrow(from_store(tables, index_date)).num_rows
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        total += median
        print(
            f"{name:<11} {rows:>10,} rows  median {median:6.2f} s"
            f"  (min {min(times):.2f}, max {max(times):.2f}, {runs} runs)"
        )
    print(f"{'all scores':<22} sum of medians {total:6.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="an existing population store folder")
    parser.add_argument("--patients", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.store is not None:
        bench(PopulationStore(args.store), args.runs)
        return 0
    from joinedup.population.synthetic import generate_area

    with tempfile.TemporaryDirectory(prefix="joinedup-bench-") as folder:
        store = PopulationStore(Path(folder) / "population")
        generate_area(store, patients=args.patients, seed=args.seed)
        bench(store, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
