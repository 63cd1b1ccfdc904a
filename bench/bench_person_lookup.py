"""Benchmark the person gate's lookup (`joinedup.population.reads.find_person`).

    uv run python bench/bench_person_lookup.py --home DIR [--lookups 2000]

DIR is a JOINEDUP home with a population store (ideally the 300,000-person demo area). Prints
how long the in-memory index takes to build (the first lookup in a process), then the time of
`--lookups` lookups of random people (warm), and of `practices_of` for an MDT-sized agenda of
30 people. Prints timings only, never patient data.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from pathlib import Path

from joinedup.population.reads import find_person, practices_of, registered_person_ids
from joinedup.population.store import PopulationStore


def _ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (
        f"median {statistics.median(ordered) * 1000:.3f} ms, "
        f"95th percentile {p95 * 1000:.3f} ms, slowest {ordered[-1] * 1000:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    store = PopulationStore(args.home / "population")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    started = time.perf_counter()
    find_person(store, 1)
    print(
        f"index build (first lookup in a process): {(time.perf_counter() - started) * 1000:.0f} ms"
    )

    everyone = registered_person_ids(store).tolist()
    print(f"people registered at the extract date: {len(everyone):,}")
    rng = random.Random(7)
    times = []
    for _ in range(args.lookups):
        person = rng.choice(everyone)
        started = time.perf_counter()
        find_person(store, person)
        times.append(time.perf_counter() - started)
    print(f"find_person, {args.lookups} warm lookups: {_ms(times)}")

    agendas = []
    for _ in range(200):
        agenda = rng.sample(everyone, 30)
        started = time.perf_counter()
        practices_of(store, agenda)
        agendas.append(time.perf_counter() - started)
    print(f"practices_of, 200 agendas of 30 people: {_ms(agendas)}")


if __name__ == "__main__":
    main()
