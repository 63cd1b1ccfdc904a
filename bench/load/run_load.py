"""Run the Locust load test against `joinedup serve --workers N` on PostgreSQL and count the
writes afterwards (issue 14, "Under load"); optionally inject faults.

    JOINEDUP_HOME=DIR JOINEDUP_DATABASE_URL=postgresql://... \\
        uv run python bench/load/run_load.py --workers 4 --users 50 --minutes 5 --out OUT

The home must hold a set-up demo area (`joinedup demo -n N`, stopped once it serves) and the
database its care store. The script

1. adds one GP account per simulated user (fresh names each run) at the demo GP's places, and
   picks for each the people it will add to the register (disjoint, none on it already);
2. starts `joinedup serve --workers N` and waits for /health and for every worker to say its
   caches are warm (`joinedup.web.warm`);
3. runs Locust headless (bench/load/locustfile.py) for the given minutes;
4. with ``--kill-worker-at S``: SIGKILLs one worker process S seconds in (uvicorn replaces
   it); with ``--restart-postgres-at S --pg-data DIR``: restarts that PostgreSQL cluster (one
   you started yourself) S seconds in;
5. stops the server (its sealers seal what is left), then counts, per account, the register
   entries and care-plan versions in the care store against what the client was told was done
   (lost, unconfirmed, duplicated), runs `verify_audit_chain`, and prints p50/p95/p99 per page
   from Locust's statistics.

Figures print as Markdown for bench/RESULTS.md and are written to OUT/summary.json.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from joinedup.analytics.case_finding.definitions import list_definitions, unavailable_reason
from joinedup.analytics.stratify import latest_run
from joinedup.care.models import CarePlan, CarePlanVersion, RegisterEntry
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.audit import verify_audit_chain
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.governance.users import add_user
from joinedup.settings import Settings

HERE = Path(__file__).resolve().parent
PASSWORD = "Load-test-passphrase-2026!"
ADDS_PER_ACCOUNT = 40
VIEWABLE = 3_000


def main() -> None:
    args = _arguments()
    settings = Settings.from_env()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sessions = session_factory(make_engine(settings.database_url))
    plan = _plan(settings, sessions, args.users, args.seed)
    (out / "plan.json").write_text(json.dumps(plan))
    before = _counts(sessions)
    server = _serve(args.workers, args.port, out)
    faults: list[str] = []
    try:
        _wait_for(f"http://127.0.0.1:{args.port}/health", 900)
        _wait_for_warm_workers(out / "server.log", args.workers, 900)
        timers = _faults(args, server, faults)
        started = time.monotonic()
        _locust(args, plan_path=out / "plan.json", out=out)
        elapsed = time.monotonic() - started
        for timer in timers:
            timer.cancel()
    finally:
        server.send_signal(signal.SIGINT)  # graceful: the workers' sealers seal what is left
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    summary = _summarise(args, settings, sessions, plan, before, out, elapsed, faults)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    _print(summary)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", default="load-out")
    parser.add_argument("--kill-worker-at", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--restart-postgres-at", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--pg-data", default=None, help="data folder of that cluster")
    return parser.parse_args()


# --- Set-up ----------------------------------------------------------------------------------


def _plan(settings: Settings, sessions: Any, users: int, seed: int) -> dict[str, Any]:
    """The accounts (one per simulated user) and the people each may view, add and plan."""
    rng = random.Random(seed)
    with sessions() as session:
        gp = session.scalar(select(User).where(User.username == "demo-gp"))
        if gp is None:
            raise SystemExit("no demo-gp user: run `joinedup demo` on this home first")
        orgs = list(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == gp.id)
            )
        )
        practices = practices_covered(session, orgs)
        on_register = set(session.scalars(select(RegisterEntry.person_id)))
        planned = sorted(set(session.scalars(select(CarePlan.person_id))))
    run = latest_run(settings)
    if run is None:
        raise SystemExit("no stratification run: run `joinedup demo` on this home first")
    table = run.person_results(["person_id", "practice_code"]).to_pylist()
    local = sorted(r["person_id"] for r in table if r["practice_code"] in practices)
    rng.shuffle(local)
    addable = [p for p in local if p not in on_register]
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    accounts = []
    for n in range(users):
        username = f"load-{stamp}-{n:02d}"
        add_user(sessions, username, f"Load GP {n}", "gp", orgs, PASSWORD, actor="load-test")
        to_add = addable[n * ADDS_PER_ACCOUNT : (n + 1) * ADDS_PER_ACCOUNT]
        accounts.append({"username": username, "password": PASSWORD, "to_add": to_add})
    lists = [d.id for d in list_definitions() if not unavailable_reason(d, run)]
    return {
        "accounts": accounts,
        "viewable": local[:VIEWABLE],
        "planned": planned,
        "case_finding_lists": lists,
        "people_in_area": len(table),
    }


def _counts(sessions: Any) -> dict[str, int]:
    with sessions() as session:
        return {
            "register_entries": session.scalar(select(func.count(RegisterEntry.id))) or 0,
            "plan_versions": session.scalar(select(func.count(CarePlanVersion.id))) or 0,
            "audit_events": session.scalar(select(func.count(AuditEvent.id))) or 0,
        }


def _serve(workers: int, port: int, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "joinedup.cli", "serve", "--workers", str(workers)]
    command += ["--port", str(port)]
    log = (out / "server.log").open("wb")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {seconds:.0f} s")


def _wait_for_warm_workers(log: Path, workers: int, seconds: float) -> None:
    """Until every worker has said its caches are warm (`joinedup.web.warm`): /health answers
    from the first warm worker, and the test should meet them all warm."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(": caches warm in ") >= workers:
            return
        time.sleep(0.5)
    raise SystemExit(f"{workers} workers did not say their caches were warm within {seconds} s")


def _locust(args: argparse.Namespace, plan_path: Path, out: Path) -> None:
    env = dict(
        os.environ,
        JOINEDUP_LOAD_PLAN=str(plan_path),
        JOINEDUP_LOAD_TALLY=str(out / "tally.json"),
    )
    command = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{int(args.minutes * 60)}s",
        "--host", f"http://127.0.0.1:{args.port}", "--csv", str(out / "locust"),
        "--only-summary", "--stop-timeout", "10", "--exit-code-on-error", "0",
    ]  # fmt: skip
    subprocess.run(command, env=env, check=True)


# --- Faults ----------------------------------------------------------------------------------


def _faults(
    args: argparse.Namespace, server: subprocess.Popen[bytes], log: list[str]
) -> list[threading.Timer]:
    timers = []
    if args.kill_worker_at is not None:
        timers.append(threading.Timer(args.kill_worker_at, _kill_a_worker, (server.pid, log)))
    if args.restart_postgres_at is not None:
        if not args.pg_data:
            raise SystemExit("--restart-postgres-at needs --pg-data (a cluster you started)")
        timers.append(
            threading.Timer(args.restart_postgres_at, _restart_postgres, (args.pg_data, log))
        )
    for timer in timers:
        timer.start()
    return timers


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _kill_a_worker(server_pid: int, log: list[str]) -> None:
    # serve --workers runs uvicorn's supervisor in the server process; the workers are its
    # children started by multiprocessing's spawn (not its resource tracker).
    workers = [
        pid
        for pid in _children(server_pid)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    victim = random.choice(workers)
    os.kill(victim, signal.SIGKILL)
    log.append(f"{_now()} SIGKILL worker pid {victim} (one of {len(workers)} workers)")


def _restart_postgres(data: str, log: list[str]) -> None:
    started = time.monotonic()
    pg_ctl = shutil.which("pg_ctl") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
    command = [pg_ctl, "-D", data, "-m", "fast", "-w", "restart", "-l", f"{data}/restart.log"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    took = time.monotonic() - started
    log.append(f"{_now()} PostgreSQL restart (-m fast): exit {result.returncode}, {took:.1f} s")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%H:%M:%S")


# --- Counting --------------------------------------------------------------------------------


def _summarise(
    args: argparse.Namespace,
    settings: Settings,
    sessions: Any,
    plan: dict[str, Any],
    before: dict[str, int],
    out: Path,
    elapsed: float,
    faults: list[str],
) -> dict[str, Any]:
    tally = json.loads((out / "tally.json").read_text())
    writes = _writes_against_tally(sessions, tally)
    chain = verify_audit_chain(sessions)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "users": args.users,
        "seconds": round(elapsed),
        "people_in_area": plan["people_in_area"],
        "faults": faults,
        "pages": _pages(out / "locust_stats.csv"),
        "errors": _errors(out / "locust_failures.csv"),
        "writes": writes,
        "counts_before": before,
        "counts_after": _counts(sessions),
        "audit_chain": {"ok": chain.ok, "entries": chain.rows_checked, "problem": chain.problem},
    }


def _writes_against_tally(sessions: Any, tally: dict[str, Any]) -> dict[str, int]:
    result = collections.Counter[str]()
    with sessions() as session:
        ids = dict(
            session.execute(select(User.username, User.id).where(User.username.in_(tally))).all()
        )
        for username, done in tally.items():
            user_id = ids[username]
            added = list(
                session.scalars(
                    select(RegisterEntry.person_id).where(RegisterEntry.added_by == user_id)
                )
            )
            saves = (
                session.scalar(
                    select(func.count(CarePlanVersion.id)).where(
                        CarePlanVersion.saved_by == user_id
                    )
                )
                or 0
            )
            confirmed = collections.Counter(done["added"])
            stored = collections.Counter(added)
            result["register_additions_confirmed"] += sum(confirmed.values())
            result["register_additions_stored"] += sum(stored.values())
            result["register_additions_lost"] += sum((confirmed - stored).values())
            result["register_additions_unconfirmed"] += sum((stored - confirmed).values())
            result["register_additions_duplicated"] += sum(n - 1 for n in stored.values() if n > 1)
            result["plan_saves_confirmed"] += len(done["plan_saves"])
            result["plan_saves_stored"] += saves
        audited = session.execute(
            select(AuditEvent.action, func.count())
            .where(AuditEvent.actor.in_(tally))
            .where(AuditEvent.action.in_(("register.add", "care_plan.save")))
            .group_by(AuditEvent.action)
        ).all()
    result.update({f"audit_{action}": n for action, n in audited})
    result["plan_saves_lost"] = max(0, result["plan_saves_confirmed"] - result["plan_saves_stored"])
    result["plan_saves_unconfirmed"] = max(
        0, result["plan_saves_stored"] - result["plan_saves_confirmed"]
    )
    return dict(result)


def _pages(stats: Path) -> list[dict[str, Any]]:
    rows = []
    with stats.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                {
                    "page": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50": row["50%"],
                    "p95": row["95%"],
                    "p99": row["99%"],
                    "per_second": round(float(row["Requests/s"]), 1),
                }
            )
    return rows


def _errors(failures: Path) -> list[dict[str, Any]]:
    if not failures.exists():
        return []
    with failures.open(newline="") as handle:
        return [
            {"page": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
            for r in csv.DictReader(handle)
        ]


def _print(summary: dict[str, Any]) -> None:
    print(f"\n{summary['when']}: {summary['users']} users, {summary['workers']} workers, "
          f"{summary['seconds']} s, area of {summary['people_in_area']:,} people")  # fmt: skip
    for fault in summary["faults"]:
        print(f"- fault: {fault}")
    print("\n| page | requests | failures | p50 ms | p95 ms | p99 ms | per s |")
    print("|---|---|---|---|---|---|---|")
    for p in summary["pages"]:
        print(f"| {p['page']} | {p['requests']:,} | {p['failures']} | {p['p50']} | {p['p95']} "
              f"| {p['p99']} | {p['per_second']} |")  # fmt: skip
    for e in summary["errors"]:
        print(f"- error: {e['page']}: {e['error']} × {e['count']}")
    print("\nwrites:", json.dumps(summary["writes"], sort_keys=True))
    print("audit chain:", json.dumps(summary["audit_chain"]))


if __name__ == "__main__":
    main()
