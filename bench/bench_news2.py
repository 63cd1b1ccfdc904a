"""Device readings into NEWS2: parse + validate + score N readings from NDJSON, and
`joinedup news2` end to end as a process on a CSV.

    .venv/bin/python bench/bench_news2.py [--readings 100000] [--csv-rows 100000] [--seed 1]

Generates, with a seeded generator, home-monitoring sets as a device platform sends them: one
FHIR R4 Observation per parameter (respiration rate, SpO2, air/oxygen, a blood-pressure panel,
pulse, ACVPU, temperature; home kits leave out respiration rate in about a third of sets and
consciousness in a fifth), values spread around normal with some people deteriorating, a few
readings with a wrong unit or an impossible value. Prints, each stage timed on its own:
readings/second for reading the NDJSON (JSON parse + R4B validation + field checks; also
split over --workers processes, as lines are independent), for
gathering and scoring the sets, end to end, and for the parts (JSON alone, R4B validation
alone, NEWS2 scoring alone), then the process wall time of `joinedup news2` on a CSV.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
ACVPU = {"A": "248234008", "C": "130987000", "V": "300202002", "P": "450847001", "U": "422768004"}


def _quantity(code: str, value: float, unit: str) -> dict:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def _vitals(rng: random.Random, unwell: float) -> dict:
    """One set's values: normal, shifted towards deterioration by `unwell` (0–1)."""
    return {
        "resp_rate": round(rng.gauss(16 + 8 * unwell, 2)),
        "spo2": min(100, round(rng.gauss(96 - 6 * unwell, 1.5))),
        "on_oxygen": rng.random() < 0.05 + 0.3 * unwell,
        "systolic_bp": round(rng.gauss(128 - 25 * unwell, 12)),
        "diastolic_bp": round(rng.gauss(78 - 10 * unwell, 8)),
        "pulse": round(rng.gauss(76 + 30 * unwell, 10)),
        "consciousness": "A" if rng.random() > 0.25 * unwell else rng.choice("CVPU"),
        "temperature": round(rng.gauss(36.8 + 1.5 * unwell, 0.4), 1),
    }


def device_set(rng: random.Random, person: int, when: dt.datetime, first_id: int) -> list[dict]:
    """The Observations of one set (one per parameter; 6–7 of them)."""
    vitals = _vitals(rng, unwell=max(0.0, rng.gauss(0.1, 0.25)))
    parts: list[dict] = []
    if rng.random() > 0.33:  # home kits often have no respiration rate
        parts.append(_quantity("9279-1", vitals["resp_rate"], "/min"))
    parts.append(_quantity("59408-5", vitals["spo2"], "%"))
    oxygen = "371825009" if vitals["on_oxygen"] else "722742002"
    parts.append({"code": {"coding": [{"system": SNOMED, "code": oxygen}]}})
    parts.append(
        {
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "component": [
                _quantity("8480-6", vitals["systolic_bp"], "mm[Hg]"),
                _quantity("8462-4", vitals["diastolic_bp"], "mm[Hg]"),
            ],
        }
    )
    parts.append(_quantity("8867-4", vitals["pulse"], "/min"))
    if rng.random() > 0.2:  # consciousness is self-reported, often not sent
        parts.append(
            {
                "code": {"coding": [{"system": SNOMED, "code": "1104441000000107"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": SNOMED, "code": ACVPU[vitals["consciousness"]]}]
                },
            }
        )
    temperature = _quantity("8310-5", vitals["temperature"], "Cel")
    if rng.random() < 0.01:  # a kit set to Fahrenheit, or a typing error
        temperature = _quantity("8310-5", round(vitals["temperature"] * 9 / 5 + 32, 1), "[degF]")
    if rng.random() < 0.005:
        temperature = _quantity("8310-5", 3.7, "mmol/L")
    parts.append(temperature)
    return [
        {
            "resourceType": "Observation",
            "id": f"r{first_id + index}",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "subject": {"reference": f"Patient/vw-{person}"},
            "effectiveDateTime": when.isoformat(),
            "device": {"reference": f"Device/kit-{person}"},
            **part,
        }
        for index, part in enumerate(parts)
    ]


def write_ndjson(path: Path, readings: int, seed: int) -> int:
    rng = random.Random(seed)
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    written = 0
    with path.open("w") as handle:
        person = 0
        while written < readings:
            person += 1
            for day in range(14):
                when = start + dt.timedelta(days=day, minutes=rng.randrange(0, 120))
                for resource in device_set(rng, person, when, written):
                    handle.write(json.dumps(resource, separators=(",", ":")) + "\n")
                    written += 1
                if written >= readings:
                    break
    return written


def write_csv(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    columns = ["id", "resp_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse"]
    columns += ["consciousness", "temperature", "source"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in range(rows):
            v = _vitals(rng, unwell=max(0.0, rng.gauss(0.1, 0.25)))
            writer.writerow(
                [
                    f"VW-{row:07d}",
                    v["resp_rate"] if rng.random() > 0.3 else "",
                    v["spo2"],
                    "2" if rng.random() < 0.05 else "1",
                    rng.choice(["yes", "no", "True", "false"]) if v["on_oxygen"] else "no",
                    v["systolic_bp"],
                    v["pulse"],
                    v["consciousness"] if rng.random() > 0.2 else "",
                    v["temperature"],
                    "home kit",
                ]
            )


def _read_chunk(lines: list[bytes]) -> list:
    from joinedup.neighbourhood.readings import read_ndjson

    return list(read_ndjson(lines))


def timed(label: str, count: int, unit: str, work, per_cpu: bool = True):
    """Run `work`; print wall seconds and the rate per wall second and per CPU second (the CPU
    figure is what one core gives when other work shares the machine)."""
    began, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    cpu_rate = f"  ({count / cpu_seconds:,.0f} per CPU second)" if per_cpu else ""
    print(f"{label:<52} {seconds:8.2f} s  {count / seconds:>10,.0f} {unit}/s{cpu_rate}")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel read")
    options = parser.parse_args()

    from fhir.resources.R4B.observation import Observation

    from joinedup.neighbourhood.news2 import ImplausibleObservations, score
    from joinedup.neighbourhood.readings import Reading, observation_sets, read_ndjson

    with tempfile.TemporaryDirectory() as folder:
        ndjson = Path(folder) / "readings.ndjson"
        total = write_ndjson(ndjson, options.readings, options.seed)
        lines = ndjson.read_bytes().splitlines()
        print(f"{total:,} device readings (Observations) in {ndjson.stat().st_size / 1e6:.1f} MB")

        def read_all():
            return list(read_ndjson(lines, ndjson.name))

        items, read_s = timed(
            "read: JSON + R4B validation + field checks", total, "readings", read_all
        )
        readings = [i for i in items if isinstance(i, Reading)]
        print(f"  {len(readings):,} readings, {len(items) - len(readings):,} rejected or skipped")

        def score_all():
            sets, _ = observation_sets(readings)
            results = []
            for found in sets:
                with contextlib.suppress(ImplausibleObservations):
                    results.append(score(found.observations))
            return sets, results

        (sets, results), score_s = timed("gather into sets + NEWS2", total, "readings", score_all)
        complete = sum(r.total is not None for r in results)
        print(
            f"  {len(sets):,} sets, {complete:,} complete, {len(results) - complete:,} incomplete"
        )
        print(
            f"{'end to end (read + score)':<52} {read_s + score_s:8.2f} s  "
            f"{total / (read_s + score_s):>10,.0f} readings/s"
        )
        if options.workers > 1:
            chunks = [lines[i : i + 2_000] for i in range(0, len(lines), 2_000)]
            with ProcessPoolExecutor(options.workers) as pool:
                list(pool.map(_read_chunk, [lines[:1]] * options.workers))  # start the workers
                timed(
                    f"read in {options.workers} processes (chunks of 2,000 lines)",
                    total,
                    "readings",
                    lambda: [i for part in pool.map(_read_chunk, chunks) for i in part],
                    per_cpu=False,  # the work is in the workers, not this process
                )
        print("parts:")
        timed("  JSON parse alone", total, "readings", lambda: [json.loads(x) for x in lines])
        timed(
            "  R4B Observation validation alone (from JSON text)",
            total,
            "readings",
            lambda: [Observation.model_validate_json(x) for x in lines],
        )
        observations = [found.observations for found in sets]
        timed(
            "  NEWS2 scoring alone (sets)",
            len(observations),
            "sets",
            lambda: [score(o) for o in observations if o.pulse is None or o.pulse <= 300],
        )

        table = Path(folder) / "sets.csv"
        write_csv(table, options.csv_rows, options.seed)
        command = [sys.executable, "-m", "joinedup.cli", "news2", str(table), "-o"]
        command.append(str(Path(folder) / "scored.csv"))
        done, seconds, cpu = _process(command)
        if done.returncode != 0:
            raise SystemExit(f"joinedup news2 failed: {done.stderr}")
        summary = done.stderr.strip().splitlines()[-1]
        print(
            f"{'joinedup news2 (process, CSV in and out)':<52} {seconds:8.2f} s  "
            f"{options.csv_rows / seconds:>10,.0f} rows/s  (CPU {cpu:.2f} s)"
        )
        print(f"  {summary.split(';')[0]}")
        _, seconds, cpu = _process([sys.executable, "-m", "joinedup.cli", "--help"])
        print(f"{'  of which start-up (joinedup --help)':<52} {seconds:8.2f} s  (CPU {cpu:.2f} s)")


def _process(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `command`; its result, wall seconds and CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, seconds, cpu


if __name__ == "__main__":
    main()
