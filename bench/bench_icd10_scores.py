"""`joinedup score hfrs|charlson` end to end beside comorbidipy 0.8.0, as a user runs them.

    uv run python bench/bench_icd10_scores.py [--rows 657000 1000000] [--runs 3]
        [--comorbidipy COMORBIDIPY_VENV/bin/python] [--shared ../shared]

Each run is a whole process, timed from its start to its exit: start-up and imports, the CSV
read, every row checked, the scores computed and the output CSV written. Both tools read the
same CSV and write CSV.

The extract scales up the diagnosis mix of the NHS Digital artificial HES APC sample
(``../shared/data/nhs_artificial_hes_sample/``): each synthetic admission copies the DIAG_4_nn
codes of a random episode of the sample (so codes, their spelling, e.g. ``I50X``, and which
codes come together are HES's), and belongs to one of ROWS / 8 people, each with a HES-like
identifier (``TEST`` + 28 letters and digits) and an age; dates fall over the two years to
2025-03-31. Seeded: the same ROWS give the same file.

comorbidipy 0.8.0 needs Python 3.13: give the interpreter of a throwaway environment outside
the repository (``python3.13 -m venv VENV && VENV/bin/pip install comorbidipy==0.8.0``);
its command line (``comorbidipy hfrs-cmd``, ``comorbidipy charlson -m quan -w charlson -a
age``) is run with it. Then the scores are compared person by person and every difference is
explained (or counted as unexplained).

Before timing, each command runs once untimed (the file in the page cache, and Python's
compiled bytecode written for both tools). Prints the figures; they are recorded by hand in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np

from joinedup.analytics.scores.hfrs import hfrs_weights
from joinedup.terminology.icd10 import normalise_icd10

SEED = 20261206
INDEX = dt.date(2025, 3, 31)
ROWS_PER_PERSON = 8
HES_APC = Path("data") / "nhs_artificial_hes_sample" / "artificial_hes_apc_0102.csv"
HES_NO_CODE = {"", "-"}
ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))


def hes_episodes(shared: Path) -> list[list[str]]:
    """The diagnosis codes of each episode of the HES sample, as HES writes them."""
    with (shared / HES_APC).open(newline="", encoding="utf-8") as handle:
        episodes = [
            [e[f"DIAG_4_{n:02d}"].strip() for n in range(1, 21)] for e in csv.DictReader(handle)
        ]
    return [[c for c in codes if c not in HES_NO_CODE] for codes in episodes if codes]


def write_extract(path: Path, rows: int, episodes: list[list[str]], seed: int = SEED) -> int:
    """person_id,code,date,age: `rows` diagnoses in the HES mix; returns the people in it."""
    rng = np.random.default_rng(seed)
    people = max(1, rows // ROWS_PER_PERSON)
    ids = ["TEST" + "".join(chars) for chars in ALPHABET[rng.integers(0, 62, (people, 28))]]
    ages = rng.integers(40, 101, people)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["person_id", "code", "date", "age"])
        while written < rows:
            batch = 10_000
            picks = rng.integers(0, len(episodes), batch)
            owners = rng.integers(0, people, batch)
            days = rng.integers(0, 2 * 365, batch)
            for pick, owner, day in zip(picks, owners, days, strict=True):
                when = (INDEX - dt.timedelta(days=int(day))).isoformat()
                for code in episodes[pick][: rows - written]:
                    writer.writerow([ids[owner], code, when, ages[owner]])
                    written += 1
                if written >= rows:
                    break
    return people


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds from the start of `command` to its exit, CPU seconds it used: user +
    system, all its threads). `command` must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def timed(commands: dict[str, list[str]], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Each command `runs` times, taking turns (so a machine shared with other work loads each
    alike), after one untimed run each (page cache and compiled bytecode)."""
    for command in commands.values():
        run(command)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            times[label].append(run(command))
    return times


def read_scores(path: Path, score: str, total: str) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["person_id"]: r for r in csv.DictReader(handle) if r.get(score) or r.get(total)}


def extract_codes(path: Path) -> dict[str, set[str]]:
    codes: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            codes[row["person_id"]].add(row["code"])
    return codes


def print_unexplained(unexplained: list[tuple[str, str | None, str]]) -> None:
    print(f"    {len(unexplained):,} unexplained")
    for person, ours, theirs in unexplained[:10]:
        print(f"      {person}: joinedup {ours}, comorbidipy {theirs}")


def compare_hfrs(ours: Path, theirs: Path, codes: dict[str, set[str]]) -> None:
    mine = read_scores(ours, "hfrs_score", "hfrs_score")
    other = read_scores(theirs, "hfrs_score", "hfrs_score")
    weights = hfrs_weights()
    equal = rounding = spelled_twice = only_rejected = 0
    unexplained = []
    for person, b in other.items():
        a = mine.get(person)
        if a is None:
            # every code of theirs was rejected by us (not ICD-10, e.g. 0000): comorbidipy
            # scores them 0 without saying so
            only_rejected += all(normalise_icd10(c) is None for c in codes[person])
            if not all(normalise_icd10(c) is None for c in codes[person]):
                unexplained.append((person, None, b["hfrs_score"]))
            continue
        if float(a["hfrs_score"]) == float(b["hfrs_score"]):
            equal += 1
        elif abs(float(a["hfrs_score"]) - float(b["hfrs_score"])) < 1e-9:
            rounding += 1
        else:
            # comorbidipy de-duplicates codes as written, then cuts each to three characters:
            # a group written two ways (F001 and F009) counts twice there, once in Gilbert 2018.
            emulated = sum(
                (weights.get(c.strip().upper()[:3], Decimal(0)) for c in codes[person]),
                Decimal(0),
            )
            if abs(float(emulated) - float(b["hfrs_score"])) < 1e-9:
                spelled_twice += 1
            else:
                unexplained.append((person, a["hfrs_score"], b["hfrs_score"]))
    n = len(other)
    together = (equal + rounding) / n
    print(f"  HFRS: {n:,} people; equal scores {equal:,} ({equal / n:.3%}); "
          f"equal but for float rounding {rounding:,} ({together:.3%} together)")  # fmt: skip
    print(f"    {spelled_twice:,} differ because comorbidipy counts a group once per spelling "
          "(e.g. F001 and F009 count F00 twice); Gilbert counts each group once")  # fmt: skip
    print(f"    {only_rejected:,} scored 0 by comorbidipy have no ICD-10 code at all (e.g. 0000): "
          "joinedup rejects those rows with their reason and scores nobody from them")  # fmt: skip
    print_unexplained(unexplained)


def compare_charlson(ours: Path, theirs: Path, codes: dict[str, set[str]]) -> None:
    mine = read_scores(ours, "charlson_score", "charlson_score")
    other = read_scores(theirs, "comorbidity_score", "comorbidity_score")
    equal = only_rejected = normalising = 0
    unexplained = []
    for person, b in other.items():
        a = mine.get(person)
        if a is None:
            only_rejected += all(normalise_icd10(c) is None for c in codes[person])
            if not all(normalise_icd10(c) is None for c in codes[person]):
                unexplained.append((person, None, b["comorbidity_score"]))
            continue
        pair = (float(a["charlson_score"]), float(a["charlson_age_adjusted"] or "nan"))
        if pair == (float(b["comorbidity_score"]), float(b["age_adj_comorbidity_score"])):
            equal += 1
        elif any(normalise_icd10(c) != c for c in codes[person]):
            normalising += 1  # a code comorbidipy reads as written (e.g. I50X, dotted)
        else:
            unexplained.append((person, a["charlson_score"], b["comorbidity_score"]))
    n = len(other)
    print(f"  Charlson (1987 weights, age-adjusted): {n:,} people; "
          f"equal {equal:,} ({equal / n:.3%})")  # fmt: skip
    print(f"    {normalising:,} differ where a code is written other than in its normal form "
          "(joinedup normalises, comorbidipy matches the text as written)")  # fmt: skip
    print(f"    {only_rejected:,} scored 0 by comorbidipy have no ICD-10 code at all")
    print_unexplained(unexplained)


def show(label: str, times: list[tuple[float, float]]) -> float:
    wall = statistics.median(w for w, _ in times)
    cpu = statistics.median(c for _, c in times)
    runs = ", ".join(f"{w:.2f}" for w, _ in times)
    print(f"  {label:<36} wall median {wall:5.2f} s ({runs}); CPU median {cpu:5.2f} s")
    return wall


def joinedup_command() -> list[str]:
    found = shutil.which("joinedup", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "joinedup.cli"]


def bench(rows: int, args: argparse.Namespace, episodes: list[list[str]], folder: Path) -> None:
    source = folder / f"extract_{rows}.csv"
    people = write_extract(source, rows, episodes)
    size = source.stat().st_size / 1e6
    print(f"\n{rows:,} rows, {people:,} people ({size:.1f} MB), seed {SEED}:")
    joinedup = joinedup_command()
    ours = {s: folder / f"ours_{s}_{rows}.csv" for s in ("hfrs", "charlson")}
    theirs = {s: folder / f"theirs_{s}_{rows}.csv" for s in ("hfrs", "charlson")}
    commands = {
        f"joinedup score {score}": [*joinedup, "score", score, str(source), "-o", str(ours[score])]
        for score in ("hfrs", "charlson")
    }
    if args.comorbidipy:
        cli = [args.comorbidipy, "-c", "from comorbidipy.cli import app; app()"]
        commands["comorbidipy 0.8.0 hfrs-cmd"] = [
            *cli, "hfrs-cmd", str(source), str(theirs["hfrs"]), "-i", "person_id", "-c", "code"
        ]  # fmt: skip
        commands["comorbidipy 0.8.0 charlson"] = [
            *cli, "charlson", str(source), str(theirs["charlson"]), "-i", "person_id",
            "-c", "code", "-a", "age", "-m", "quan", "-w", "charlson",
        ]  # fmt: skip
    times = timed(commands, args.runs)
    medians = {label: show(label, found) for label, found in times.items()}
    if not args.comorbidipy:
        print("  comorbidipy: not run (pass --comorbidipy PYTHON)")
        return
    for score, theirs_label in (("hfrs", "hfrs-cmd"), ("charlson", "charlson")):
        ratio = medians[f"comorbidipy 0.8.0 {theirs_label}"] / medians[f"joinedup score {score}"]
        print(f"  {score}: comorbidipy wall time / joinedup wall time = {ratio:.2f}")
    codes = extract_codes(source)
    compare_hfrs(ours["hfrs"], theirs["hfrs"], codes)
    compare_charlson(ours["charlson"], theirs["charlson"], codes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[657_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--comorbidipy", help="a Python 3.13 with comorbidipy 0.8.0 installed")
    parser.add_argument("--shared", type=Path, default=Path(__file__).parents[2] / "shared")
    args = parser.parse_args(argv)
    episodes = hes_episodes(args.shared)
    print(f"HES APC sample: {len(episodes):,} episodes, "
          f"{sum(map(len, episodes)):,} diagnoses, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-icd10-") as tmp:
        for rows in args.rows:
            bench(rows, args, episodes, Path(tmp))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
