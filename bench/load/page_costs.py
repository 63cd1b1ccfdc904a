"""What each page of the load test's mix costs the server in CPU, cold and warm (issue 14).

    JOINEDUP_HOME=DIR JOINEDUP_DATABASE_URL=postgresql://... \\
        uv run python bench/load/page_costs.py --repeat 20 --out OUT

The home and database are those of `run_load.py` (a set-up demo area, stopped). The script adds
one GP account as `run_load.py` does, starts `joinedup serve --workers 1`, waits for /health,
then asks for each page of the mix in turn, one request at a time, and reads the server
process's CPU time (user + system, every thread: `/proc/PID/stat`) before and after each. The
first request of each page is the cold one (a fresh worker); then `--repeat` more, warm. Sign-in
(argon2 at the production cost) is measured too. On a shared machine CPU seconds are the figure
to compare; wall times include waiting for a core. Prints a Markdown table (ms of server CPU
per request) and writes OUT/page_costs.json. Timings only, never patient data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forms import form_fields
from run_load import _plan, _serve, _wait_for

from joinedup.carestore.db import make_engine, session_factory
from joinedup.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
ADDITION = "register addition (POST, and the person page it returns to)"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (all its threads); 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving `database` on this machine (their process titles name
    it): the care store's side of each request runs on the same cores."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                found.append(int(entry.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--out", default="page-costs-out")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    sessions = session_factory(make_engine(settings.database_url))
    plan = _plan(settings, sessions, 1, args.seed)
    (out / "plan.json").write_text(json.dumps(plan))
    server = _serve(1, args.port, out)
    try:
        started = time.monotonic()
        _wait_for(f"http://127.0.0.1:{args.port}/health", 900)
        ready = time.monotonic() - started
        pid = _worker_pid(server.pid)
        start_cpu = cpu_seconds(pid)
        database = make_url(settings.database_url).database or ""
        costs = _measure(
            f"http://127.0.0.1:{args.port}", pid, database, plan, args.repeat, args.seed
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    mix = _mix(costs)
    summary = {
        "ready_seconds": round(ready, 1),
        "start_cpu_seconds": start_cpu,
        "pages": costs,
        "mix_per_task": mix,
    }
    (out / "page_costs.json").write_text(json.dumps(summary, indent=1))
    _print(summary)


def _print(summary: dict[str, Any]) -> None:
    print(
        f"\nserver ready in {summary['ready_seconds']:.1f} s wall, "
        f"{summary['start_cpu_seconds']:.1f} CPU-s to start (the worker)"
    )
    print(
        "\n| page | cold: worker CPU ms | cold wall ms | warm: worker CPU ms (mean) "
        "| warm: PostgreSQL CPU ms (mean) | warm wall ms (p50) | n |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, c in summary["pages"].items():
        print(
            f"| {name} | {c['cold_cpu_ms']:.0f} | {c['cold_wall_ms']:.0f} "
            f"| {c['warm_cpu_ms']:.1f} | {c['warm_db_ms']:.1f} | {c['warm_wall_p50_ms']:.0f} "
            f"| {c['n']} |"
        )
    mix = summary["mix_per_task"]
    print(
        f"\nthe locustfile's mix, per task (warm): worker {mix['worker_ms']:.1f} ms + "
        f"PostgreSQL {mix['db_ms']:.1f} ms CPU"
    )


#: The locustfile's tasks and weights, as the pages measured here.
MIX = (
    (4, ("person page",)),
    (3, ("worklist",)),
    (2, ("case-finding lists",)),
    (1, ("person page (to add)", ADDITION)),
    (1, ("care-plan edit form", "care-plan save (POST)")),
)


def _mix(costs: dict[str, dict[str, float]]) -> dict[str, float]:
    """Server CPU per task of the locustfile's mix (its weights), warm."""
    lists = [c for name, c in costs.items() if name.startswith("case-finding list")]
    pages = dict(costs)
    pages["case-finding lists"] = {
        key: statistics.fmean(c[key] for c in lists) for key in ("warm_cpu_ms", "warm_db_ms")
    }
    weights = sum(w for w, _ in MIX)
    return {
        out: sum(w * sum(pages[n][key] for n in names) for w, names in MIX) / weights
        for out, key in (("worker_ms", "warm_cpu_ms"), ("db_ms", "warm_db_ms"))
    }


def _worker_pid(server_pid: int) -> int:
    """`serve --workers 1` serves in its own process (no supervisor)."""
    return server_pid


def _measure(
    base: str, pid: int, database: str, plan: dict[str, Any], repeat: int, seed: int
) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    account = plan["accounts"][0]
    http = requests.Session()
    samples: dict[str, list[tuple[float, float, float]]] = {}

    def db_cpu() -> dict[int, float]:
        return {b: cpu_seconds(b) for b in backend_pids(database)}

    def timed(name: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        db_before = db_cpu()
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        answer = http.request(method, base + path, **kwargs)
        took = time.perf_counter() - wall
        time.sleep(0.05)  # let the worker finish what follows the answer (e.g. its log line)
        used = cpu_seconds(pid) - cpu
        db = sum(t - db_before.get(b, 0.0) for b, t in db_cpu().items())
        samples.setdefault(name, []).append((used * 1000, took * 1000, db * 1000))
        if answer.status_code >= 500:
            raise SystemExit(f"{name} answered {answer.status_code}")
        return answer

    form = timed("sign-in form", "GET", "/sign-in")
    fields = dict(form_fields(form.text, "/sign-in"))
    fields.update(username=account["username"], password=account["password"])
    timed("sign in", "POST", "/sign-in", data=fields, allow_redirects=False)
    to_add = list(account["to_add"])
    lists = plan["case_finding_lists"]
    for _ in range(repeat + 1):
        person = rng.choice(plan["viewable"])
        timed("person page", "GET", f"/people/{person}")
        timed("worklist", "GET", "/care-coordination/worklist")
        for list_id in lists:
            timed(f"case-finding list ({list_id})", "GET", f"/case-finding/{list_id}")
        _add_one(to_add.pop(), timed)
        _save_plan(rng.choice(plan["planned"]), timed)
    return {name: _figures(values) for name, values in samples.items()}


def _add_one(person: int, timed: Any) -> None:
    page = timed("person page (to add)", "GET", f"/people/{person}")
    fields = dict(form_fields(page.text, "/care-coordination/register"))
    fields.update(person_id=str(person), reason="Page cost addition.")
    timed(ADDITION, "POST", "/care-coordination/register", data=fields)


def _save_plan(person: int, timed: Any) -> None:
    path = f"/people/{person}/care-plan/edit"
    form = timed("care-plan edit form", "GET", path)
    fields = [(k, v) for k, v in form_fields(form.text, path)]
    fields = [(k, v) for k, v in fields if k not in ("what_matters", "change_note")]
    fields += [("what_matters", "To stay at home (page cost)."), ("change_note", "Page cost.")]
    timed("care-plan save (POST)", "POST", path, data=fields, allow_redirects=False)


def _figures(values: list[tuple[float, float, float]]) -> dict[str, float]:
    cold, warm = values[0], values[1:] or values
    return {
        "cold_cpu_ms": cold[0],
        "cold_wall_ms": cold[1],
        "warm_cpu_ms": statistics.fmean(v[0] for v in warm),
        "warm_db_ms": statistics.fmean(v[2] for v in warm),
        "warm_wall_p50_ms": statistics.median(v[1] for v in warm),
        "n": len(values),
    }


if __name__ == "__main__":
    main()
