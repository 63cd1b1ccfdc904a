"""Ingest throughput and peak memory: bundles and NDJSON at 10^5 and 10^6 resources.

    .venv/bin/python bench/bench_ingest.py [--sizes 100000 1000000] [--kinds ndjson bundle
        onebundle] [--no-validate]

Generates Observation-heavy synthetic FHIR (one Patient per 100 resources) in a temp folder,
ingests it into a fresh home with `run_batch`, and prints resources/second and the process's
peak RSS (ru_maxrss) for each case. Each case runs in a child process so peaks do not mix.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

PER_PATIENT = 100


def patient(n: int) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"p{n}",
        "gender": "female",
        "birthDate": "1950-01-01",
        "generalPractitioner": [{"reference": "Organization/org1"}],
    }


def observation(n: int, p: int) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"o{n}",
        "status": "final",
        "subject": {"reference": f"Patient/p{p}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "effectiveDateTime": "2021-02-03",
        "valueQuantity": {"value": 48.0, "code": "mmol/mol"},
    }


ORG = {"resourceType": "Organization", "id": "org1", "name": "Bench Surgery"}


def write_ndjson(folder: Path, total: int) -> list[Path]:
    people = total // PER_PATIENT
    with (folder / "Organization.ndjson").open("w") as h:
        h.write(json.dumps(ORG) + "\n")
    with (folder / "Patient.ndjson").open("w") as h:
        for p in range(people):
            h.write(json.dumps(patient(p)) + "\n")
    with (folder / "Observation.ndjson").open("w") as h:
        for n in range(total - people - 1):
            h.write(json.dumps(observation(n, n % people)) + "\n")
    return [folder]


def write_bundles(folder: Path, total: int) -> list[Path]:
    people = total // PER_PATIENT
    n = 0
    for p in range(people):
        entries = [ORG, patient(p)] + [observation(n + i, p) for i in range(PER_PATIENT - 2)]
        n += PER_PATIENT - 2
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in entries],
        }
        (folder / f"b{p:06d}.json").write_text(json.dumps(bundle))
    return [folder]


def write_one_bundle(folder: Path, total: int) -> list[Path]:
    """All resources in one bundle file: the streaming (ijson) check for a large bundle."""
    people = total // PER_PATIENT
    with (folder / "big.json").open("w") as h:
        h.write('{"resourceType":"Bundle","type":"collection","entry":[')
        h.write(json.dumps({"resource": ORG}))
        for p in range(people):
            h.write("," + json.dumps({"resource": patient(p)}))
        for n in range(total - people - 1):
            h.write("," + json.dumps({"resource": observation(n, n % people)}))
        h.write("]}")
    return [folder]


WRITERS = {"ndjson": write_ndjson, "bundle": write_bundles, "onebundle": write_one_bundle}


def case(kind: str, total: int, validate: bool, queue) -> None:
    from joinedup.population.ingest.batch import run_batch
    from joinedup.population.ingest.fhir import FhirReader
    from joinedup.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        paths = WRITERS[kind](data, total)
        size = sum(p.stat().st_size for p in data.iterdir())
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = run_batch(
            Settings.from_env(Path(tmp) / "home"),
            FhirReader(validate=validate).read(paths),
            source=kind,
        )
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        loaded = sum(c.loaded for c in result.tables.values())
        queue.put((kind, total, size, seconds, loaded, before, peak))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["ndjson", "bundle"], choices=list(WRITERS))
    parser.add_argument(
        "--no-validate", action="store_true", help="skip R4B model validation (to measure it)"
    )
    args = parser.parse_args()
    print(f"R4B model validation: {'off' if args.no_validate else 'on'}")
    print("kind     resources  input MB  seconds  resources/s  rows loaded  peak RSS MB")
    for total in args.sizes:
        for kind in args.kinds:
            queue = multiprocessing.Queue()
            child = multiprocessing.Process(
                target=case, args=(kind, total, not args.no_validate, queue)
            )
            child.start()
            row = queue.get()
            child.join()
            kind_, n, size, seconds, loaded, _before, peak = row
            print(
                f"{kind_:<8} {n:>9,} {size / 1e6:>9.0f} {seconds:>8.1f} {n / seconds:>12,.0f} "
                f"{loaded:>12,} {peak / 1024:>12.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
