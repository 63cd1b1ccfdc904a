"""Benchmark hub booking on PostgreSQL: free-slot search and sustained bookings per second.

    uv run python bench/bench_booking.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
        [--hubs 30] [--days 14] [--searches 200] [--clients 8] [--seconds 20] [--processes]

Makes a throwaway database on the server (dropped at the end), migrates it and loads a rota:
`--hubs` hubs open 08:00-20:00 every day, each with three clinicians (GP, nurse, pharmacist)
on 12-hour sessions of 15-minute slots for `--days` days from tomorrow, with a mix of GPAD
categories and modes. Then:

1. **Free-slot search** (target p95 < 100 ms): `--searches` searches over all hubs and the
   whole 14-day range, through the service (`search_free_slots`, the earliest 1,000) and
   through the FHIR API (``GET /api/fhir/Slot`` with ``_include``, in-process TestClient
   with a system token), each with a random filter (none, a mode, a category, one hub).
2. **Sustained booking** (target 200 per second, no double booking): `--clients` threads
   (or, with `--processes`, processes, as `joinedup serve --workers N` runs), each with its
   own connection, book for `--seconds` seconds, each picking slots at random from one shared
   pool so that clients collide; every refusal is counted. Afterwards plain SQL counts live
   bookings per slot (must never exceed 1) and checks every booked slot has exactly one live
   appointment.

Beside every wall time it prints CPU time, since the machine may be shared: this process's
(and its client processes') CPU, and for booking the PostgreSQL backends' CPU read from
/proc when the server runs on this machine, with the bookings a second that cost would allow
on this machine's CPUs if nothing else ran.

Prints figures only, never patient data.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
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
    api, api_cpu = [], []
    for _ in range(n):
        began, began_cpu = time.perf_counter(), time.process_time()
        answer = client.get(base + rng.choice(queries), headers=headers)
        api.append(time.perf_counter() - began)
        api_cpu.append(time.process_time() - began_cpu)
        assert answer.status_code == 200, answer.text
    timings("FHIR API (GET /api/fhir/Slot, Bundle built and serialised)", api)
    timings("  of which this process's CPU time (client and app)", api_cpu)


def _server_cpu(sessions: Any, pids: set[int] | None = None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each PostgreSQL backend serving the bench's
    database, read from /proc: only when the server runs on this machine (else empty)."""
    with sessions() as session:
        found = set(
            session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        )
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in found | (pids or set()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def _book_for(
    sessions: Any, n: int, pool: list[int], seconds: float, go: Any, counts: Any, slot: int
) -> None:
    """One client: once all are ready, book slots picked at random from `pool` for `seconds`;
    counts[slot..+3]
    get booked, refused as taken, errors and the client's CPU seconds while booking (a
    thread's own CPU clock; for a process, its process clock)."""
    rng = random.Random(n)
    booker = Booker(f"bench-{n}", "receptionist", "practice", "P81001")
    booked = refused = errors = 0

    def attempt() -> None:
        book(
            sessions,
            booker,
            slot_id=rng.choice(pool),
            person_id=rng.randrange(1, 300_000),
            registered_practice="P81001",
        )

    for _ in range(5):  # warm this client's statement caches and connection: not counted
        with contextlib.suppress(SlotUnavailable):
            attempt()
    go.wait()
    began, stop = time.thread_time(), time.perf_counter() + seconds
    while time.perf_counter() < stop:
        try:
            attempt()
            booked += 1
        except SlotUnavailable:
            refused += 1
        except Exception:  # counted and reported, never hidden
            errors += 1
    counts[slot : slot + 4] = [booked, refused, errors, time.thread_time() - began]


def _process_client(
    url: str, n: int, pool: list[int], seconds: float, go: Any, done: Any, counts: Any
) -> None:
    engine = create_engine(normalise_url(url), pool_size=1, max_overflow=0)
    try:
        _book_for(session_factory(engine), n, pool, seconds, go, counts, 4 * n)
        done.wait()  # the parent reads the server's CPU before this connection closes
        done.wait()
    finally:
        engine.dispose()


def bench_booking(sessions: Any, url: str, clients: int, seconds: float, processes: bool) -> None:
    """Sustained booking by `clients` threads of this process, or (`processes`) by as many
    processes, as `joinedup serve --workers N` runs them (each with its own connection)."""
    with sessions() as session:
        pool = list(session.scalars(text("SELECT id FROM slots WHERE status = 'free'")))
    server_before = _server_cpu(sessions)
    if processes:
        # Spawned, not forked: a forked child pays copy-on-write faults on this process's
        # memory while it books, which a server's worker process does not.
        context = multiprocessing.get_context("spawn")
        go_p, done = context.Barrier(clients + 1), context.Barrier(clients + 1)
        shared = context.Array("d", 4 * clients)
        workers = [
            context.Process(
                target=_process_client, args=(url, n, pool, seconds, go_p, done, shared)
            )
            for n in range(clients)
        ]
        for worker in workers:
            worker.start()
        go_p.wait()
        began = time.perf_counter()
        done.wait()
        elapsed = time.perf_counter() - began
        server_after = _server_cpu(sessions, set(server_before))
        done.wait()
        for worker in workers:
            worker.join()
        counts = list(shared)
    else:
        go_t = threading.Barrier(clients + 1)
        counts = [0.0] * (4 * clients)
        threads = [
            threading.Thread(
                target=_book_for, args=(sessions, n, pool, seconds, go_t, counts, 4 * n)
            )
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        go_t.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        server_after = _server_cpu(sessions, set(server_before))
    client_cpu = sum(counts[3::4])
    server_cpu = sum(server_after.values()) - sum(
        server_before.get(pid, 0.0) for pid in server_after
    )
    booked, refused, errors = (int(sum(counts[k::4])) for k in range(3))
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
    how = "processes" if processes else "threads of one process"
    print(
        f"Sustained booking, {clients} concurrent clients ({how}), {elapsed:.1f} s, "
        f"pool {len(pool)} slots:"
    )
    print(
        f"  {booked} booked ({booked / elapsed:.0f} per second), {refused} refused as taken "
        f"({refused / elapsed:.0f} per second), {errors} errors"
    )
    attempts = max(1, booked + refused + errors)
    per_attempt = (client_cpu + server_cpu) / attempts
    print(
        f"  CPU per attempt: client {1000 * client_cpu / attempts:.1f} ms, PostgreSQL backend "
        f"{1000 * server_cpu / attempts:.1f} ms"
        + ("" if server_after else " (server not on this machine: not measured)")
        + f"; at that cost {os.cpu_count()} idle CPUs would book about "
        f"{(os.cpu_count() or 1) / per_attempt:.0f} a second"
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
    parser.add_argument(
        "--processes", action="store_true", help="clients as processes rather than threads"
    )
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
        bench_booking(sessions, url, args.clients, args.seconds, args.processes)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        engine.dispose()
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
