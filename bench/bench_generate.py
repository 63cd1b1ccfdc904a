"""Benchmark the synthetic area generator: wall time, peak memory and rows per table.

    uv run python bench/bench_generate.py 300000 [--seed 1] [--keep DIR] [--calibrate]

Generates N people into a temporary folder (or DIR with --keep), then prints the figures to
record in bench/RESULTS.md. Targets on a 2-core machine: 300,000 people in 2 minutes or less,
1,000,000 in 8 minutes or less, peak memory under 8 GB. Prints counts only, never patient data.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patients", type=int, help="people registered at the extract date")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--calibrate", action="store_true", help="also print calibration figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="joinedup-bench-") as scratch:
        root = args.keep or Path(scratch) / "population"
        store = PopulationStore(root)
        stages: list[tuple[str, float]] = []
        started = time.perf_counter()

        def progress(stage: str, fraction: float) -> None:
            stages.append((stage, time.perf_counter() - started))

        metadata = generate_area(store, patients=args.patients, seed=args.seed, progress=progress)
        elapsed = time.perf_counter() - started
        peak = peak_rss_gb()

        print(f"joinedup synthetic area: {args.patients:,} registered people, seed {args.seed}")
        print(
            f"machine: {platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}, {_cpus()} CPUs"
        )
        print(f"wall time: {elapsed:.1f} s")
        print(f"peak RSS: {peak:.2f} GB")
        print(f"people in the record (incl. died or moved away): {metadata['people']:,}")
        print("stages (seconds from start):")
        for (stage, at), (_, following) in zip(stages, [*stages[1:], ("", elapsed)], strict=True):
            print(f"  {stage:<40} {at:7.1f}  ({following - at:5.1f} s)")
        print("rows per table:")
        total = 0
        for table, rows in metadata["rows"].items():
            size = store.path(table).stat().st_size / 1024**2
            print(f"  {table:<26} {rows:>12,}  {size:8.1f} MB")
            total += rows
        print(f"  {'total':<26} {total:>12,}")
        if args.calibrate:
            from joinedup.population.calibration import calibration_figures

            print("calibration:")
            for f in calibration_figures(store):
                mark = "ok" if f.within else "OUT"
                print(
                    f"  {f.name:<52} target {f.target:>7g}  measured {f.measured:>8.2f}  "
                    f"{f.unit}  {mark}"
                )
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
