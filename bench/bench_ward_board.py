"""Benchmark the virtual-ward board for a full ward through the web app (in-process, warm).

    uv run python bench/bench_ward_board.py --home DIR [--patients 200] [--days 5] [--requests 100]

DIR is a JOINEDUP home with a population store (`joinedup generate`). The benchmark makes its own
care store (SQLite, under DIR as ``ward-bench.db``, replaced each time), a nurse working in the
first neighbourhood, a ward with `--patients` beds, admits that many people of the neighbourhood
and records four sets a day for `--days` days each through the services (`ward.record_reading`,
so each set is scored and raises its alerts as it would in use). Then it requests the board
page once to warm it and `--requests` times, and the HTMX fragment as often. Target (issue 15):
95th percentile under 300 ms. Each request includes the list-view audit event it writes. Wall
time and this process's CPU time are printed for each (on a shared machine the CPU time is the
figure to compare). Prints timings only, never patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.carestore.models import Organisation
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import ward
from joinedup.neighbourhood.models import WardAdmission
from joinedup.neighbourhood.news2 import Observations
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.security import current_principal


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share from 0 to 1) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


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


def _random_set(rng: random.Random) -> Observations:
    """A plausible home set: mostly calm, sometimes unwell, sometimes without resp. rate."""
    unwell = rng.random() < 0.15
    return Observations(
        None if rng.random() < 0.2 else rng.randint(20, 26) if unwell else rng.randint(13, 19),
        rng.randint(90, 94) if unwell else rng.randint(95, 99),
        False,
        rng.randint(100, 150),
        rng.randint(95, 125) if unwell else rng.randint(60, 90),
        "A",
        round(rng.uniform(37.5, 39.0) if unwell else rng.uniform(36.2, 37.4), 1),
    )


def _seed(sessions, store, nurse, practices, args) -> int:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    neighbourhood = nurse.organisations[0]
    ward_id = ward.create_ward(
        sessions, nurse, name="Bench ward", org_code=neighbourhood, capacity_beds=args.patients
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)
    admitted = 0
    for person_id in range(1, 1_000_000):
        person = find_person(store, person_id)
        if person is None or person.practice_code not in practices or person.date_of_death:
            continue
        admission = ward.admit(
            sessions,
            nurse,
            person,
            ward_id=ward_id,
            pathway=rng.choice(["step_up", "step_down"]),
            source="gp",
            reason="bench",
            expected_stay_days=7,
            responsible_user_id=nurse.user_id,
        )
        with sessions() as session, session.begin():  # backdate the stay to hold its history
            session.execute(
                update(WardAdmission).where(WardAdmission.id == admission).values(admitted_at=start)
            )
        for index in range(args.days * 4):
            taken = start + dt.timedelta(hours=6 * index + 1)
            ward.record_reading(
                sessions, nurse, admission, _random_set(rng), taken_at=taken, taken_by="device"
            )
        admitted += 1
        if admitted == args.patients:
            return ward_id
    raise SystemExit(f"only {admitted} people in the neighbourhood")


def _time(client: TestClient, url: str, count: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `count` warm requests (CPU: this process, all threads)."""
    assert client.get(url).status_code == 200
    timings, cpu = [], []
    for _ in range(count):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 200
    return timings, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    database = args.home / "ward-bench.db"
    database.unlink(missing_ok=True)
    settings = Settings(home=args.home, database_url=f"sqlite:///{database}")
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    with sessions() as session:
        neighbourhood = (
            session.query(Organisation.org_code)
            .filter_by(org_type="neighbourhood")
            .order_by(Organisation.org_code)
            .first()[0]
        )
        practices = practices_covered(session, [neighbourhood])
    nurse = _nurse(sessions, neighbourhood)
    began = time.perf_counter()
    ward_id = _seed(sessions, store, nurse, practices, args)
    seeding = time.perf_counter() - began
    app = create_app(settings)
    app.dependency_overrides[current_principal] = lambda: nurse
    client = TestClient(app)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"ward: {args.patients} patients, {args.patients * args.days * 4} sets "
        f"(seeded through the services in {seeding:.1f} s)"
    )
    for name, path in (("board page", ""), ("board fragment (HTMX)", "/board")):
        url = f"/neighbourhood/wards/{ward_id}{path}"
        timings, cpu = _time(client, url, args.requests)
        print(
            f"{name}: median {statistics.median(timings):.0f} ms, "
            f"p95 {percentile(timings, 0.95):.0f} ms, max {max(timings):.0f} ms wall; "
            f"CPU median {statistics.median(cpu):.0f} ms, p95 {percentile(cpu, 0.95):.0f} ms "
            f"({args.requests} requests)"
        )


if __name__ == "__main__":
    main()
