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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forms import form_fields
from run_load import _plan, _serve, _wait_for

from joinedup.carestore.db import make_engine, session_factory
from joinedup.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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
        costs = _measure(f"http://127.0.0.1:{args.port}", pid, plan, args.repeat, args.seed)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    summary = {"ready_seconds": round(ready, 1), "start_cpu_seconds": start_cpu, "pages": costs}
    (out / "page_costs.json").write_text(json.dumps(summary, indent=1))
    print(f"\nserver ready in {ready:.1f} s wall, {start_cpu:.1f} CPU-s to start (worker)")
    print("\n| page | cold CPU ms | cold wall ms | warm CPU ms (mean) | warm wall ms (p50) | n |")
    print("|---|---|---|---|---|---|")
    for name, c in costs.items():
        print(
            f"| {name} | {c['cold_cpu_ms']:.0f} | {c['cold_wall_ms']:.0f} "
            f"| {c['warm_cpu_ms']:.0f} | {c['warm_wall_p50_ms']:.0f} | {c['n']} |"
        )


def _worker_pid(server_pid: int) -> int:
    """`serve --workers 1` serves in its own process (no supervisor)."""
    return server_pid


def _measure(
    base: str, pid: int, plan: dict[str, Any], repeat: int, seed: int
) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    account = plan["accounts"][0]
    http = requests.Session()
    samples: dict[str, list[tuple[float, float]]] = {}

    def timed(name: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        answer = http.request(method, base + path, **kwargs)
        time.sleep(0.05)  # let the worker finish what follows the answer (e.g. its log line)
        used = cpu_seconds(pid) - cpu
        samples.setdefault(name, []).append((used * 1000, (time.perf_counter() - wall) * 1000))
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
    name = "register addition (POST, and the person page it returns to)"
    timed(name, "POST", "/care-coordination/register", data=fields)


def _save_plan(person: int, timed: Any) -> None:
    path = f"/people/{person}/care-plan/edit"
    form = timed("care-plan edit form", "GET", path)
    fields = [(k, v) for k, v in form_fields(form.text, path)]
    fields = [(k, v) for k, v in fields if k not in ("what_matters", "change_note")]
    fields += [("what_matters", "To stay at home (page cost)."), ("change_note", "Page cost.")]
    timed("care-plan save (POST)", "POST", path, data=fields, allow_redirects=False)


def _figures(values: list[tuple[float, float]]) -> dict[str, float]:
    cold, warm = values[0], values[1:] or values
    return {
        "cold_cpu_ms": cold[0],
        "cold_wall_ms": cold[1],
        "warm_cpu_ms": statistics.fmean(v[0] for v in warm),
        "warm_wall_p50_ms": statistics.median(v[1] for v in warm),
        "n": len(values),
    }


if __name__ == "__main__":
    main()
