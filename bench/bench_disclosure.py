"""Benchmark disclosure control of pseudonymised rows (`joinedup.governance.disclosure`).

    uv run python bench/bench_disclosure.py --home DIR [--k 10]

DIR is a JOINEDUP home with a population store (ideally the 300,000-person demo area). For each
case-finding list the store alone computes (whole area, nobody left out), prints how many rows
the list has, how long pseudonymising and making them k-anonymous takes, how many keep their
practice, how many are shown by neighbourhood or area only, how many are withheld, and the
smallest equivalence class before (exact age, sex, practice) and after. Figures only, never
patient data.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path

from joinedup.analytics import case_finding as cf
from joinedup.governance.disclosure import DEFAULT_K
from joinedup.population.store import PopulationStore

KEY = b"bench-disclosure-key-32-bytes..."
AFTER = ("age_band", "sex", "practice_code", "neighbourhood_code")


def _smallest(rows: list[dict[str, object]], columns: tuple[str, ...]) -> int | str:
    sizes = Counter(tuple(r[c] for c in columns) for r in rows)
    return min(sizes.values()) if sizes else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    args = parser.parse_args()
    store = PopulationStore(args.home / "population")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        "list | rows | seconds | by practice | by neighbourhood | by area only | withheld | "
        "smallest class before (age, sex, practice) | after"
    )
    for definition in cf.list_definitions():
        if not definition.available or definition.run_columns:
            continue
        result = cf.run_list(store, definition.id)
        started = time.perf_counter()
        out = cf.disclosed_rows(result.rows, KEY, args.k)
        seconds = time.perf_counter() - started
        level = Counter(
            "practice"
            if r["practice_code"]
            else "neighbourhood"
            if r["neighbourhood_code"]
            else "area"
            for r in out.rows
        )
        before = _smallest(result.rows.to_pylist(), ("age", "sex", "practice_code"))
        print(
            f"{definition.id} | {result.total:,} | {seconds:.2f} | {level['practice']:,} | "
            f"{level['neighbourhood']:,} | {level['area']:,} | {out.withheld:,} | {before} | "
            f"{_smallest(out.rows, AFTER)}"
        )


if __name__ == "__main__":
    main()
