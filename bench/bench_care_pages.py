"""Benchmark the person page and My worklist through the web app (in-process, warm).

    uv run python bench/bench_care_pages.py --home DIR [--requests 200] [--register 60]

DIR is a JOINEDUP home with a population store and a stratification run (ideally the
300,000-person demo area). The benchmark makes its own care store (SQLite, under DIR as
``care-bench.db``, replaced each time), a care coordinator working in the first neighbourhood,
and puts the `--register` highest-risk people of that neighbourhood on the register with the
coordinator as their named professional and an open action each, so the worklist has work.
Then it requests each page once to warm it, and `--requests` times each: the person page for
people of the neighbourhood in turn, the same people's pages again (as after an action on the
page, which returns to it), and the coordinator's worklist. Target: 95th percentile
under 300 ms. Each request includes the audit event it writes. Prints timings only, never
patient data. CPU is this process's CPU time per request (server and in-process client, all
threads): on a shared machine the fairer figure, since wall time includes waiting for a core.
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

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from joinedup.analytics.stratify import latest_run
from joinedup.care import register as reg
from joinedup.care.models import CareAction
from joinedup.care.named_professionals import assign
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.governance.roles import Principal
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


def _coordinator(sessions, neighbourhood: str) -> Principal:  # type: ignore[no-untyped-def]
    with sessions() as session, session.begin():
        user = User(
            username="bench-coordinator",
            display_name="Bench Coordinator",
            role="care_coordinator",
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=neighbourhood))
        uid = user.id
    return Principal(
        uid,
        "bench-coordinator",
        "Bench Coordinator",
        "care_coordinator",
        (neighbourhood,),
        csrf_token="bench",
    )


def _seed(sessions, settings: Settings, user: Principal, practices, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    run = latest_run(settings)
    assert run is not None, "the benchmark needs a stratification run"
    table = run.person_results(["person_id", "practice_code", "risk"]).drop_null()
    table = table.filter(pc.is_in(table["practice_code"], value_set=_strings(practices)))
    order = pc.sort_indices(table, [("risk", "descending")])
    store = PopulationStore(settings.population_dir)
    seeded: list[int] = []
    for person_id in table.take(order)["person_id"].to_pylist()[: count * 2]:
        if len(seeded) == count:
            break
        try:
            reg.add_to_register(
                sessions, store, user, person_id=person_id, source="referral", reason="bench"
            )
        except reg.RegisterError:
            continue
        assign(
            sessions,
            user,
            person_id=person_id,
            user_id=user.user_id,
            professional_role="care_coordinator",
        )
        with unit_of_work(
            sessions,
            actor=user.actor,
            actor_role=user.role,
            action="bench.action",
            entity_type="care_action",
            purpose="benchmark",
        ) as uow:
            uow.session.add(
                CareAction(
                    person_id=person_id,
                    title="Call to arrange a review",
                    source="register",
                    owner_user_id=user.user_id,
                    owner_name=user.display_name,
                    owner_org="bench",
                    due_on=dt.date.today(),
                    status="open",
                    created_at=uow.now,
                    created_by=user.user_id,
                    version=1,
                )
            )
        seeded.append(int(person_id))
    return seeded


def _strings(values: frozenset[str]) -> pa.Array:
    return pa.array(sorted(values), pa.string())


def _time(client: TestClient, urls: list[str], cpu: list[float] | None = None) -> list[float]:
    timings = []
    for url in urls:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append(1000 * (time.perf_counter() - started))
        if cpu is not None:  # this process's CPU per request: the wall time less the waiting
            cpu.append(1000 * (time.process_time() - cpu_started))
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return timings


def _report(name: str, timings: list[float], cpu: list[float]) -> None:
    print(
        f"{name}: {len(timings)} requests, median {statistics.median(timings):.0f} ms, "
        f"95th percentile {percentile(timings, 0.95):.0f} ms, slowest {max(timings):.0f} ms; "
        f"CPU median {statistics.median(cpu):.0f} ms, 95th {percentile(cpu, 0.95):.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a JOINEDUP home to read")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--register", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    home = args.home.resolve()
    db = home / "care-bench.db"
    db.unlink(missing_ok=True)
    settings = Settings(home=home, database_url=f"sqlite:///{db}")
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    orgs = pd.read_parquet(store.path("organisations"))
    neighbourhood = str(sorted(orgs[orgs.org_type == "neighbourhood"].org_code)[0])
    user = _coordinator(sessions, neighbourhood)
    with sessions() as session:
        practices = practices_covered(session, [neighbourhood])
    started = time.perf_counter()
    people = _seed(sessions, settings, user, practices, args.register)
    print(
        f"joinedup care pages on {home}: {pq.read_metadata(store.path('patients')).num_rows:,} "
        "people"
    )
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"seeded {len(people)} register entries in {time.perf_counter() - started:.1f} s")

    app = create_app(settings)
    app.dependency_overrides[current_principal] = lambda: user
    client = TestClient(app)
    rng = random.Random(args.seed)
    run = latest_run(settings)
    assert run is not None
    hood = run.person_results(["person_id", "practice_code"])
    local = hood.filter(pc.is_in(hood["practice_code"], value_set=_strings(practices)))
    ids = local["person_id"].to_pylist()
    # People registered at the coordinator's practices now (the run is as of its index date).
    pool = rng.sample(ids, min(len(ids), 2 * args.requests))
    current = [p for p in pool if (f := find_person(store, p)) and f.practice_code in practices]
    sample = people + current[: max(0, args.requests - len(people))]
    person_urls = [f"/people/{p}" for p in sample][: args.requests]

    first = time.perf_counter()
    _time(client, [*person_urls[:1], "/care-coordination/worklist"])
    print(f"first requests (cold caches): {1000 * (time.perf_counter() - first):.0f} ms")
    cpu: list[float] = []
    _report("person page", _time(client, person_urls, cpu), cpu)
    cpu = []
    # The same people again, as after an action on the page (it returns to the person page).
    _report("person page opened again", _time(client, person_urls, cpu), cpu)
    cpu = []
    worklist_urls = ["/care-coordination/worklist"] * args.requests
    _report("my worklist", _time(client, worklist_urls, cpu), cpu)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
