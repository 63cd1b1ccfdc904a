"""Benchmark hub booking on PostgreSQL: free-slot search and sustained bookings per second.

    uv run python bench/bench_booking.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
        [--hubs 30] [--days 14] [--searches 200] [--clients 8] [--seconds 20]

Makes a throwaway database on the server (dropped at the end), migrates it and loads a rota:
`--hubs` hubs open 08:00-20:00 every day, each with three clinicians (GP, nurse, pharmacist)
on 12-hour sessions of 15-minute slots for `--days` days from tomorrow, with a mix of GPAD
categories and modes. Then:

1. **Free-slot search** (target p95 < 100 ms): `--searches` searches over all hubs and the
   whole 14-day range, through the service (`search_free_slots`, the earliest 1,000) and
   through the FHIR API (``GET /api/fhir/Slot`` with ``_include``, in-process TestClient
   with a system token), each with a random filter (none, a mode, a category, one hub).
2. **Sustained booking** (target 200 per second, no double booking): `--clients` threads,
   each with its own connection, book for `--seconds` seconds, each picking slots at random
   from one shared pool so that clients collide; every refusal is counted. Afterwards plain
   SQL counts live bookings per slot (must never exceed 1) and checks every booked slot has
   exactly one live appointment.

Prints figures only, never patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from joinedup.access.booking import Booker, SlotUnavailable, book, search_free_slots
from joinedup.access.gpad import NATIONAL_CATEGORIES
from joinedup.access.rota import load_rota, local_instant
from joinedup.carestore.db import normalise_url, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.models import User
from joinedup.governance.system_tokens import issue_token
from joinedup.settings import Settings
from joinedup.web.app import create_app

EVERY_DAY = {d: ["08:00", "20:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CLINICIANS = (("GP", "gp"), ("Nurse", "nurse"), ("Pharmacist", "pharmacist"))
MODES = ("face_to_face", "telephone", "video")


def rota(hubs: int, days: int) -> dict[str, Any]:
    start = dt.date.today() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=days - 1)
    hub_specs, sessions = [], []
    for h in range(hubs):
        code = f"HUB{h:03d}"
        hub_specs.append(
            {
                "code": code,
                "name": f"Bench hub {h}",
                "address": f"{h} Bench Road",
                "pcn_code": f"PCN{h // 3:03d}",
                "opening_hours": EVERY_DAY,
                "rooms": ["Room 1", "Room 2", "Room 3"],
                "clinicians": [{"name": f"{name} {h}", "role": role} for name, role in CLINICIANS],
            }
        )
        for c, (name, _) in enumerate(CLINICIANS):
            sessions.append(
                {
                    "hub": code,
                    "clinician": f"{name} {h}",
                    "room": f"Room {c + 1}",
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "start": "08:00",
                    "end": "20:00",
                    "slot_minutes": 15,
                    "category": NATIONAL_CATEGORIES[(h + c) % 6],
                    "mode": MODES[(h + c) % 3],
                    "bookable_by": ["practice", "nhs111"],
                }
            )
    return {"hubs": hub_specs, "sessions": sessions}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timings(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"  {label}: n={len(ms)} median {statistics.median(ms):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms, max {max(ms):.1f} ms"
    )


def bench_search(sessions: Any, settings: Settings, token: str, days: int, n: int) -> None:
    start = local_instant(dt.date.today() + dt.timedelta(days=1), dt.time(0))
    end = start + dt.timedelta(days=days)
    filters: list[dict[str, Any]] = [
        {},
        {"mode": "telephone"},
        {"category": NATIONAL_CATEGORIES[2]},
        {"hubs": ["HUB007"]},
    ]
    rng = random.Random(1)
    service, cpu, found = [], [], []
    for _ in range(n):
        chosen = rng.choice(filters)
        began, began_cpu = time.perf_counter(), time.process_time()
        found.append(
            len(search_free_slots(sessions, kind="practice", start=start, end=end, **chosen))
        )
        service.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    print(f"Free-slot search, all hubs, {days} days (slots listed: up to {max(found)}):")
    timings("service (search_free_slots)", service)
    timings("  of which this process's CPU time", cpu)

    app = create_app(settings)
    app.state.care_sessions = sessions
    client = TestClient(app)
    first, last = start.date().isoformat(), (end - dt.timedelta(days=1)).date().isoformat()
    base = f"/api/fhir/Slot?start=ge{first}&end=le{last}&status=free&_include=Slot:schedule"
    queries = ["", "&mode=telephone", f"&service-type={NATIONAL_CATEGORIES[2]}", "&hub=HUB007"]
    headers = {"Authorization": f"Bearer {token}"}
    client.get(base, headers=headers)  # warm
    api = []
    for _ in range(n):
        began = time.perf_counter()
        answer = client.get(base + rng.choice(queries), headers=headers)
        api.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text
    timings("FHIR API (GET /api/fhir/Slot, Bundle built and serialised)", api)


def bench_booking(sessions: Any, clients: int, seconds: float) -> None:
    with sessions() as session:
        pool = list(session.scalars(text("SELECT id FROM slots WHERE status = 'free'")))
    booked, refused, errors = [0] * clients, [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds
    go = threading.Barrier(clients)

    def client(n: int) -> None:
        rng = random.Random(n)
        booker = Booker(f"bench-{n}", "receptionist", "practice", "P81001")
        go.wait()
        while time.perf_counter() < stop:
            try:
                book(
                    sessions,
                    booker,
                    slot_id=rng.choice(pool),
                    person_id=rng.randrange(1, 300_000),
                    registered_practice="P81001",
                )
                booked[n] += 1
            except SlotUnavailable:
                refused[n] += 1
            except Exception:  # counted and reported, never hidden
                errors[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    with sessions() as session:
        doubles = session.scalar(
            text(
                "SELECT count(*) FROM (SELECT slot_id FROM appointments WHERE status = 'booked'"
                " GROUP BY slot_id HAVING count(*) > 1) d"
            )
        )
        mismatched = session.scalar(
            text(
                "SELECT count(*) FROM slots s WHERE (s.status = 'booked') <> EXISTS (SELECT 1"
                " FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')"
            )
        )
        live = session.scalar(text("SELECT count(*) FROM appointments WHERE status = 'booked'"))
    total = sum(booked)
    print(
        f"Sustained booking, {clients} concurrent clients, {elapsed:.1f} s, pool {len(pool)} slots:"
    )
    print(
        f"  {total} booked ({total / elapsed:.0f} per second), {sum(refused)} refused as taken "
        f"({sum(refused) / elapsed:.0f} per second), {sum(errors)} errors"
    )
    print(
        f"  afterwards: {live} live appointments, {doubles} slots booked twice, "
        f"{mismatched} slots whose status disagrees with their appointments"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--hubs", type=int, default=30)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    name = f"joinedup_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(normalise_url(url), pool_size=args.clients + 2, max_overflow=2)
    try:
        upgrade(url)
        sessions = session_factory(engine)
        print(
            f"{platform.machine()}, {os.cpu_count()} CPUs, {dt.date.today()}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        began = time.perf_counter()
        summary = load_rota(sessions, rota(args.hubs, args.days), actor="bench", actor_role="cli")
        print(f"Rota loaded: {summary} in {time.perf_counter() - began:.1f} s")
        with engine.connect() as connection:  # fresh statistics, as autovacuum would give
            connection.execute(text("ANALYZE"))
            connection.commit()
        with unit_of_work(
            sessions,
            actor="bench",
            actor_role="cli",
            action="user.add",
            entity_type="user",
            purpose="benchmark",
        ) as uow:
            uow.session.add(
                User(
                    username="bench-reception",
                    display_name="Bench reception",
                    role="receptionist",
                    created_at=uow.now,
                )
            )
        with engine.begin() as connection:  # one federation; the bench user works at its practice
            connection.execute(
                text(
                    "INSERT INTO organisations"
                    " (org_code, name, org_type, parent_code, active, synced_at) VALUES"
                    " ('FED01', 'Bench federation', 'federation', NULL, true, now()),"
                    + ",".join(
                        f" ('PCN{p:03d}', 'Bench PCN {p}', 'neighbourhood', 'FED01', true, now())"
                        for p in range((args.hubs + 2) // 3)
                    )
                    + ", ('P81001', 'Bench practice', 'practice', 'PCN000', true, now());"
                    " INSERT INTO user_organisations (user_id, org_code)"
                    " SELECT id, 'P81001' FROM users WHERE username = 'bench-reception'"
                )
            )
        token, _ = issue_token(sessions, "bench-reception", days=1, actor="bench", actor_role="cli")
        settings = Settings(home=Path(tempfile.mkdtemp()), database_url=url)
        bench_search(sessions, settings, token, args.days, args.searches)
        bench_booking(sessions, args.clients, args.seconds)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        engine.dispose()
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
