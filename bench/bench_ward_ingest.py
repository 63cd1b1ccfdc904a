"""Benchmark device readings into the virtual ward: FHIR NDJSON read, gathered into sets,
scored, stored in the admitted people's stays with their alerts (`joinedup ward ingest`'s work).

    uv run python bench/bench_ward_ingest.py --home DIR [--patients 200] [--readings 100000]

DIR is a JOINEDUP home with a population store (`joinedup generate`). The benchmark makes its own
care store (SQLite, ``ward-ingest-bench.db`` under DIR, replaced each time), a nurse in the first
neighbourhood, a ward, and admits `--patients` people of it (admissions backdated 30 days). It
writes `--readings` device Observations as NDJSON — sets of 6–7 Observations as a home kit sends
them (`bench_news2.device_set`), for those people by NHS number, spread over the 30 days — then
times reading the file (JSON, shape check or R4B validation, field checks) and storing it
(`ward_ingest.ingest`: sets, NEWS2, alert rules, one transaction). Target (issue 15): ≥ 10,000
readings per second. `--api-chunk N` instead posts the file to the FHIR API (`POST
/api/fhir/Observation` as NDJSON, in bodies of about N readings cut between sets, in-process,
with a `ward_device` system token; the bad records left out first, untimed), so the figures
include HTTP, the token and its audit. `--profile PREFIX` writes cProfile stats of each stage
to PREFIX.read and PREFIX.store. Prints figures only, never patient data.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.carestore.models import Organisation
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import readings, ward, ward_ingest
from joinedup.neighbourhood.models import WardAdmission
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person, practices_of, registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from bench_news2 import device_set

DAYS = 30


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _nurse(sessions, neighbourhood: str) -> Principal:  # type: ignore[no-untyped-def]
    with sessions() as session, session.begin():
        user = User(
            username="bench-nurse",
            display_name="Bench Nurse",
            role="nurse",
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=neighbourhood))
        uid = user.id
    return Principal(uid, "bench-nurse", "Bench Nurse", "nurse", (neighbourhood,), "bench")


def _admit(sessions, store, nurse, practices, patients: int) -> list[str]:  # type: ignore[no-untyped-def]
    ward_id = ward.create_ward(
        sessions, nurse, name="Bench ward", org_code=nurse.organisations[0], capacity_beds=patients
    )
    ids = [int(p) for p in registered_person_ids(store)]
    local = sorted(p for p, practice in practices_of(store, ids).items() if practice in practices)
    numbers = []
    for person_id in local[:patients]:
        person = find_person(store, person_id)
        assert person is not None
        ward.admit(
            sessions,
            nurse,
            person,
            ward_id=ward_id,
            pathway="step_up",
            source="gp",
            reason="bench",
            expected_stay_days=30,
            responsible_user_id=nurse.user_id,
        )
        numbers.append(person.nhs_number)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS, hours=1)
    with sessions() as session, session.begin():
        session.execute(update(WardAdmission).values(admitted_at=start))
    return numbers


def _write(path: Path, numbers: list[str], count: int, seed: int) -> int:
    """`count` readings: each person's sets spread evenly over the days, in time order."""
    rng = random.Random(seed)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS)
    sets_each = max(1, count // (6 * len(numbers)) + 1)
    step = dt.timedelta(days=DAYS) / sets_each
    written = 0
    with path.open("w") as handle:
        for index in range(sets_each):
            for person, number in enumerate(numbers):
                when = (start + index * step + dt.timedelta(minutes=person % 50)).replace(
                    microsecond=0
                )
                for item in device_set(rng, person, when, written):
                    item["subject"] = {"reference": f"Patient/{number}"}
                    handle.write(json.dumps(item, separators=(",", ":")) + "\n")
                    written += 1
                if written >= count:
                    return written
    return written


def _profiled(profile: Path | None, stage: str, function, *args):  # type: ignore[no-untyped-def]
    """`function(*args)`, under cProfile when asked (stats in PROFILE.<stage>)."""
    if profile is None:
        return function(*args)
    profiler = cProfile.Profile()
    found = profiler.runcall(function, *args)
    profiler.dump_stats(f"{profile}.{stage}")
    return found


def _bodies(path: Path, chunk: int) -> tuple[list[bytes], int]:
    """The file's good lines as NDJSON bodies of about `chunk` readings, cut between sets (a
    set split over two bodies would be refused the second time as already recorded)."""
    bodies, current, count, last_set = [], [], 0, None
    for line in path.read_bytes().splitlines():
        items = list(readings.read_resource_json(line, "x"))
        if not all(isinstance(i, readings.Reading) for i in items):
            continue  # a bad record: a real feed would be told and resend the rest
        resource = json.loads(line)
        this_set = (resource["subject"]["reference"], resource["effectiveDateTime"])
        if len(current) >= chunk and this_set != last_set:
            bodies.append(b"\n".join(current))
            current = []
        current.append(line)
        count += 1
        last_set = this_set
    if current:
        bodies.append(b"\n".join(current))
    return bodies, count


def _post(settings: Settings, sessions, org: str, path: Path, chunk: int) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from joinedup.governance.system_tokens import issue_token
    from joinedup.governance.users import add_user
    from joinedup.web.app import create_app

    add_user(sessions, "bench-kit", "Bench kit platform", "ward_device", [org], None, actor="bench")
    token, _ = issue_token(sessions, "bench-kit", actor="bench", actor_role="administrator")
    bodies, count = _bodies(path, chunk)
    client = TestClient(create_app(settings))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+ndjson"}
    wall, cpu, sets = time.perf_counter(), _cpu(), 0
    for body in bodies:
        answer = client.post("/api/fhir/Observation", content=body, headers=headers)
        assert answer.status_code == 201, answer.text[:500]
        text = answer.json()["issue"][-1]["diagnostics"]
        sets += int(text.split(": ")[1].split(" sets")[0].replace(",", ""))
    took, used = time.perf_counter() - wall, _cpu() - cpu
    print(
        f"API: {count:,} readings in {len(bodies)} NDJSON bodies, {sets:,} sets: {took:.1f} s "
        f"wall, {count / took:,.0f} readings/s ({count / used:,.0f} per CPU second, server and "
        "client in one process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", type=Path, help="write cProfile stats of each stage to PROFILE.read/.store"
    )
    parser.add_argument("--api-chunk", type=int, help="post to the FHIR API, N readings a body")
    args = parser.parse_args()
    database = args.home / "ward-ingest-bench.db"
    database.unlink(missing_ok=True)
    settings = Settings(home=args.home, database_url=f"sqlite:///{database}")
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    with sessions() as session:
        neighbourhood = session.scalar(
            select(Organisation.org_code)
            .where(Organisation.org_type == "neighbourhood")
            .order_by(Organisation.org_code)
        )
        assert neighbourhood is not None
        practices = practices_covered(session, [neighbourhood])
    nurse = _nurse(sessions, neighbourhood)
    numbers = _admit(sessions, store, nurse, practices, args.patients)
    path = args.home / "ward-ingest-bench.ndjson"
    written = _write(path, numbers, args.readings, args.seed)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{written:,} readings for {len(numbers)} people ({path.stat().st_size / 1e6:.1f} MB)")
    # Warm up as a running server is: the first Observation of a shape loads the R4B models.
    with path.open("rb") as handle:
        list(readings.read_ndjson([next(handle) for _ in range(50)]))
    if args.api_chunk:
        _post(settings, sessions, neighbourhood, path, args.api_chunk)
        return
    wall, cpu = time.perf_counter(), _cpu()
    batch = _profiled(args.profile, "read", readings.read_paths, [path])
    read_wall, read_cpu = time.perf_counter() - wall, _cpu() - cpu
    print(
        f"read: {read_wall:.1f} s wall, {written / read_wall:,.0f} readings/s "
        f"({written / read_cpu:,.0f} per CPU second); {len(batch.rejects):,} rejected"
    )
    # A real feed's bad readings are reported and the file resent; store the good ones here.
    batch.rejects.clear()
    wall, cpu = time.perf_counter(), _cpu()
    result = _profiled(args.profile, "store", ward_ingest.ingest, sessions, store, nurse, batch)
    store_wall, store_cpu = time.perf_counter() - wall, _cpu() - cpu
    print(
        f"store: {store_wall:.1f} s wall, {result.sets:,} sets, {result.alerts_raised:,} alerts, "
        f"{len(result.rejects)} refused ({written / store_wall:,.0f} readings/s; "
        f"{written / store_cpu:,.0f} per CPU second)"
    )
    total_wall, total_cpu = read_wall + store_wall, read_cpu + store_cpu
    print(
        f"end to end: {total_wall:.1f} s wall, {written / total_wall:,.0f} readings/s "
        f"({written / total_cpu:,.0f} per CPU second)"
    )


if __name__ == "__main__":
    main()
