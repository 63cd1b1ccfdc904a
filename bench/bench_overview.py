"""Time the population overview (Ibis on DuckDB over Parquet) on a large store.

    uv run python bench/bench_overview.py 1000000

Builds a plain random store of the given size in a temporary folder (a quick stand-in for the
synthetic generator: the overview's speed depends on row counts, not on realism), then times
`population_overview` for the whole area and for one neighbourhood.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from joinedup.population.nhs_numbers import synthetic_nhs_numbers
from joinedup.population.overview import population_overview
from joinedup.population.store import PopulationStore

EXTRACT_DATE = date(2025, 3, 31)


def build_store(root: Path, people: int, seed: int = 1) -> PopulationStore:
    """A random area of about `people` registered people (plus some deceased and moved away)."""
    rng = np.random.default_rng(seed)
    n_practices = max(4, people // 9_000)
    n_neighbourhoods = max(2, people // 40_000)
    practices = [f"P{i:05d}" for i in range(n_practices)]
    hoods = [f"N{i:04d}" for i in range(n_neighbourhoods)]
    organisations = pa.table(
        {
            "org_code": ["AREA01", "FED01", *hoods, *practices],
            "name": [
                "Bench area",
                "Bench federation",
                *[f"Neighbourhood {i}" for i in range(n_neighbourhoods)],
                *[f"Practice {i}" for i in range(n_practices)],
            ],
            "org_type": [
                "commissioning_area",
                "federation",
                *["neighbourhood"] * n_neighbourhoods,
                *["practice"] * n_practices,
            ],
            "parent_code": [
                None,
                "AREA01",
                *["FED01"] * n_neighbourhoods,
                *[hoods[i % n_neighbourhoods] for i in range(n_practices)],
            ],
            "imd_decile": [
                *[None] * (2 + n_neighbourhoods),
                *rng.integers(1, 11, n_practices).tolist(),
            ],
            "opened": [None] * (2 + n_neighbourhoods + n_practices),
        }
    )
    n = int(people * 1.06)
    epoch = np.datetime64(EXTRACT_DATE)
    dob = epoch - rng.integers(0, 100 * 365, n).astype("timedelta64[D]")
    died = rng.random(n) < 0.03
    death = np.where(died, epoch - rng.integers(0, 3 * 365, n).astype("timedelta64[D]"), epoch)
    patients = pa.table(
        {
            "person_id": np.arange(1, n + 1),
            "nhs_number": synthetic_nhs_numbers(n, rng),
            "date_of_birth": pa.array(dob, pa.date32()),
            "sex": rng.choice(["F", "M"], n),
            "ethnicity": rng.choice(["White", "Asian", "Black", "Mixed", "Other"], n),
            "lsoa_code": [f"E0{d:07d}" for d in rng.integers(0, 10_000_000, n)],
            "imd_decile": rng.integers(1, 11, n),
            "care_home": rng.random(n) < 0.005,
            "housebound": rng.random(n) < 0.02,
            "carer": rng.random(n) < 0.05,
            "date_of_death": pa.array(np.where(died, death, np.datetime64("NaT")), pa.date32()),
        }
    )
    start = np.maximum(dob, epoch - rng.integers(0, 30 * 365, n).astype("timedelta64[D]"))
    moved = rng.random(n) < 0.03
    end = np.where(moved, epoch - rng.integers(1, 365, n).astype("timedelta64[D]"), epoch)
    registrations = pa.table(
        {
            "person_id": np.arange(1, n + 1),
            "practice_code": rng.choice(practices, n),
            "start_date": pa.array(start, pa.date32()),
            "end_date": pa.array(np.where(moved, end, np.datetime64("NaT")), pa.date32()),
        }
    )
    store = PopulationStore(root)
    store.write("organisations", organisations)
    store.write("patients", patients)
    store.write("registrations", registrations)
    store.write_metadata(
        {
            "synthetic": True,
            "area_name": "Bench area",
            "extract_date": EXTRACT_DATE.isoformat(),
            "seed": seed,
        }
    )
    return store


def main(people: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = build_store(Path(tmp) / "population", people)
        print(f"built a store of {people:,} people in {time.perf_counter() - started:.1f} s")
        population_overview(store)  # warm the file cache
        for label, hood in (("whole area", None), ("one neighbourhood", "N0000")):
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                overview = population_overview(store, hood)
                timings.append(time.perf_counter() - started)
            print(
                f"population_overview, {label}: median {sorted(timings)[2]:.3f} s, "
                f"best {min(timings):.3f} s over 5 runs ({overview.total:,} registered)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
