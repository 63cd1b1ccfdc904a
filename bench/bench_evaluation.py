"""Benchmark (issue 18), end to end as the user runs it: each evaluation method on the
300,000-person area, and the contract ledger for a cohort of about 15,000 people over three
years, each as one `joinedup` command in its own process (start-up, imports and writing the
JSON included).

    python3 -m uv run --frozen python bench/bench_evaluation.py --home DIR [--demo-home DEMO]

DIR holds (or is given) a 300,000-person area generated with `--plant-programme -0.2`, and a
care store set up by `joinedup db upgrade` (the ledger leaves objectors out, so it reads the
care store). Then, each timed:

* `joinedup evaluate programme planted --method M --json OUT` for did, its, synthetic-control;
* `joinedup contract ledger FILE --json OUT` for the shipped contract with its cohort widened
  to 65+ with any frailty (mild added), about 15,000–23,000 members a year, three years.

With `--demo-home`, the shipped programme (`frailty-north`) is also evaluated on the demo area
(`joinedup demo`: 300,000 people, seed 1, nothing planted) to show it gives an estimate.

Wall and CPU seconds (the child process's user + system, every thread) are printed: on a
shared machine the wall time is an upper bound and the CPU time the figure to compare. One
untimed warm-up run first leaves the modules compiled to bytecode, as an installed joinedup has
them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import yaml

PATIENTS = 300_000
METHODS = ("did", "its", "synthetic-control")
# An installed joinedup runs from bytecode; with PYTHONDONTWRITEBYTECODE set (as in some shells
# and containers) every run would compile every module again, which is not what a user times.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def joinedup(*args: str) -> tuple[float, float]:
    """Run one `joinedup` command; its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", *args], capture_output=True, text=True, env=ENV
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"joinedup {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare(home: Path) -> None:
    area = home / "population" / "area.json"
    if not area.is_file() or "programmes" not in json.loads(area.read_text()):
        wall, cpu = joinedup(
            "generate", "-n", str(PATIENTS), "--seed", "1", "--plant-programme", "-0.2",
            "--home", str(home),
        )  # fmt: skip
        print(f"generated {PATIENTS:,} people: {wall:.1f} s wall, {cpu:.1f} s CPU")
    joinedup("db", "upgrade", "--home", str(home))


def evaluate(home: Path, programme: str, method: str, out: Path) -> None:
    wall, cpu = joinedup(
        "evaluate", "programme", programme, "--outcome", "emergency_admissions",
        "--method", method, "--json", str(out), "--home", str(home),
    )  # fmt: skip
    r = json.loads(out.read_text())
    print(
        f"{programme:14s} {method:18s} {wall:6.1f} s wall {cpu:6.1f} s CPU  estimate "
        f"{r['estimate']:+.3f} ({r['ci_low']:+.3f} to {r['ci_high']:+.3f})"
    )


def widened_contract(folder: Path) -> Path:
    """The shipped contract with mild frailty added to its cohort (about 15,000+ members)."""
    shipped = resources.files("joinedup.commissioning.contracts") / "frailty_alliance.yaml"
    data = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    data["name"] = "bench-any-frailty"
    data["cohort"]["conditions"] = [
        {"column": "age", "op": ">=", "value": 65},
        {"column": "efi_category", "op": "in", "value": ["mild", "moderate", "severe"]},
    ]
    # The shipped frailty weights already weigh mild frailty (2.0, Fogg et al. 2024).
    path = folder / "bench-any-frailty.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def ledger(home: Path, folder: Path) -> None:
    out = folder / "ledger.json"
    wall, cpu = joinedup(
        "contract", "ledger", str(widened_contract(folder)), "--json", str(out),
        "--home", str(home),
    )  # fmt: skip
    written = json.loads(out.read_text())
    members = [s["movement"]["members_at_start"] for s in written["statements"]]
    print(
        f"contract ledger: {len(written['months'])} months, members at the start of each year "
        f"{', '.join(f'{m:,}' for m in members)}: {wall:.1f} s wall {cpu:.1f} s CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--demo-home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="joinedup-bench-evaluation-"))
    print(f"machine: {os.cpu_count()} cores, shared with other sessions (wall: an upper bound)")
    prepare(home)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wall, cpu = joinedup("evaluate", "programme", "planted", "--home", str(home))
        print(f"warm-up run (modules compiled to bytecode): {wall:.1f} s wall {cpu:.1f} s CPU")
        for method in METHODS:
            evaluate(home, "planted", method, folder / f"{method}.json")
        ledger(home, folder)
        if args.demo_home is not None:
            for method in METHODS:
                evaluate(args.demo_home, "frailty-north", method, folder / f"demo-{method}.json")


if __name__ == "__main__":
    main()
