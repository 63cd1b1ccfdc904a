"""Time the population overview (Ibis on DuckDB over Parquet) on a generated area.

    uv run python bench/bench_overview.py 1000000          # generate an area of that size first
    uv run python bench/bench_overview.py --home var       # or time an area already generated

Prints the median and best of five runs for the whole area and for one neighbourhood.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from joinedup.population.overview import population_overview
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area


def time_overview(store: PopulationStore) -> None:
    first = population_overview(store)  # also warms the file cache
    hood = first.neighbourhoods[0].code if first.neighbourhoods else None
    for label, choice in (("whole area", None), ("one neighbourhood", hood)):
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            overview = population_overview(store, choice)
            timings.append(time.perf_counter() - started)
        print(
            f"population_overview, {label}: median {sorted(timings)[2]:.3f} s, "
            f"best {min(timings):.3f} s over 5 runs ({overview.total:,} registered)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patients", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="time the area already in HOME/population")
    args = parser.parse_args()
    if args.home:
        time_overview(PopulationStore(args.home / "population"))
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = PopulationStore(Path(tmp) / "population")
        started = time.perf_counter()
        generate_area(store, patients=args.patients, seed=1)
        print(f"generated {args.patients:,} people in {time.perf_counter() - started:.1f} s")
        time_overview(store)


if __name__ == "__main__":
    main()
