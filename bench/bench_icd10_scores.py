"""Time HFRS, Charlson and Elixhauser on DuckDB, and compare with comorbidipy 0.8.0.

    uv run python bench/bench_icd10_scores.py [ROWS] [--comorbidipy /tmp/cmb/bin/python]

Generates ROWS (default 1,000,000) random ICD-10 diagnosis rows with a fixed seed: about eight
per person; half the codes drawn from the published mapping tables (HFRS groups, Quan Charlson
and Elixhauser prefixes, often with a further digit), half noise codes; 85% written undotted in
upper case, 10% with a dot, 5% in lower case; admission dates over the four years before the
index date; an age per person. Then:

1. times the Ibis pipelines on DuckDB over the Parquet file, with the index date (HFRS's
   two-year look-back, Charlson and Elixhauser on all history);
2. if a Python with comorbidipy 0.8.0 is given (a throwaway venv outside the repository:
   ``python3 -m venv /tmp/cmb && /tmp/cmb/bin/pip install --ignore-requires-python
   comorbidipy==0.8.0``), runs comorbidipy's ``hfrs`` and ``comorbidity`` on the same rows
   (HFRS on the rows inside the two-year window, since comorbidipy has no dates), times them
   against our pipelines on that same input, and compares the results person by person,
   explaining each difference.

Prints the figures; they are recorded by hand in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup.analytics.engine import connect
from joinedup.analytics.scores import icd10
from joinedup.analytics.scores.charlson import charlson_scores
from joinedup.analytics.scores.elixhauser import elixhauser_scores
from joinedup.analytics.scores.hfrs import hfrs_scores, hfrs_weights
from joinedup.terminology.icd10 import normalise_icd10

SEED = 20261123
INDEX = dt.date(2025, 3, 31)
ROWS_PER_PERSON = 8
RUNS = 3


def generate(rows: int, seed: int = SEED) -> pa.Table:
    """person_id, code, date, age: random diagnoses (see the module docstring)."""
    rng = np.random.default_rng(seed)
    people = max(1, rows // ROWS_PER_PERSON)
    prefixes = np.array(
        sorted(
            set(hfrs_weights())
            | {p for _, p in icd10.prefix_mapping("charlson", "charlson_icd10_quan.csv")}
            | {p for _, p in icd10.prefix_mapping("elixhauser", "elixhauser_icd10_quan.csv")}
        )
    )
    mapped = rng.random(rows) < 0.5
    digits = rng.integers(0, 10, size=(rows, 4))
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[rng.integers(0, 26, rows)]
    picks = prefixes[rng.integers(0, len(prefixes), rows)]
    extra = rng.random(rows) < 0.6
    style = rng.random(rows)
    codes = []
    for i in range(rows):
        if mapped[i]:
            code = picks[i] + (str(digits[i, 0]) if extra[i] and len(picks[i]) == 3 else "")
        else:
            code = f"{letters[i]}{digits[i, 1]}{digits[i, 2]}{digits[i, 3]}"
        if style[i] > 0.95:
            code = code.lower()
        elif style[i] > 0.85 and len(code) > 3:
            code = code[:3] + "." + code[3:]
        codes.append(code)
    person = rng.integers(1, people + 1, rows)
    ages = rng.integers(40, 101, people + 1)
    days = rng.integers(0, 4 * 365, rows)
    dates = np.datetime64(INDEX) - days.astype("timedelta64[D]")
    return pa.table(
        {
            "person_id": pa.array(person, pa.int64()),
            "code": pa.array(codes, pa.string()),
            "date": pa.array(dates.astype("datetime64[D]"), pa.date32()),
            "age": pa.array(ages[person], pa.int64()),
        }
    )


def timed(run: Callable[[], pa.Table]) -> tuple[pa.Table, list[float]]:
    seconds = []
    result = pa.table({})
    for _ in range(RUNS):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return result, seconds


def show(label: str, seconds: list[float], rows: int) -> None:
    median = statistics.median(seconds)
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"  {label:<46} median {median:6.2f} s  ({runs})  {rows / median / 1e6:5.1f} M rows/s")


COMORBIDIPY_SCRIPT = textwrap.dedent(
    """
    import sys, time, polars as pl
    from comorbidipy import comorbidity, hfrs
    hfrs_in, charlson_in, out = sys.argv[1:4]
    runs = int(sys.argv[4])
    def timed(f):
        seconds = []
        for _ in range(runs):
            start = time.perf_counter(); result = f(); seconds.append(time.perf_counter() - start)
        return result, seconds
    h = pl.read_parquet(hfrs_in); c = pl.read_parquet(charlson_in)
    rh, th = timed(lambda: hfrs(h, id_col="person_id", code_col="code"))
    rc, tc = timed(lambda: comorbidity(c, id_col="person_id", code_col="code", age_col="age",
                                       score="charlson", icd="icd10", variant="quan",
                                       weighting="charlson"))
    cn = c.with_columns(pl.col("normal").alias("code"))
    rn, _ = timed(lambda: comorbidity(cn, id_col="person_id", code_col="code", age_col="age",
                                      score="charlson", icd="icd10", variant="quan",
                                      weighting="charlson"))
    rh.write_parquet(out + "/hfrs.parquet")
    rc.select("person_id", "comorbidity_score", "age_adj_comorbidity_score").write_parquet(
        out + "/charlson.parquet")
    rn.select("person_id", "comorbidity_score").write_parquet(out + "/charlson_normal.parquet")
    print(repr({"hfrs": th, "charlson": tc}))
    """
)


def run_comorbidipy(python: str, hfrs_in: Path, charlson_in: Path, out: Path) -> dict:
    done = subprocess.run(
        [python, "-c", COMORBIDIPY_SCRIPT, str(hfrs_in), str(charlson_in), str(out), str(RUNS)],
        check=True,
        capture_output=True,
        text=True,
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])  # {"hfrs": [s, ...], ...}


def compare_hfrs(ours: pa.Table, theirs: pa.Table, window_rows: pa.Table) -> None:
    mine = {r["person_id"]: r for r in ours.to_pylist()}
    other = {r["person_id"]: r for r in theirs.to_pylist()}
    weights = hfrs_weights()
    # comorbidipy's rule, to explain differences: de-duplicate the codes as written, then strip,
    # upper-case and cut each to 3 characters and add up (a group counted once per spelling).
    spellings: dict[int, set[str]] = defaultdict(set)
    for person_id, code in zip(
        window_rows.column("person_id").to_pylist(),
        window_rows.column("code").to_pylist(),
        strict=True,
    ):
        spellings[person_id].add(code)
    people = sorted(set(mine) | set(other))
    agree = drift = flipped = spelled_twice = missing = 0
    unexplained = []
    for person_id in people:
        a, b = mine.get(person_id), other.get(person_id)
        if a is None or b is None:
            missing += 1
            continue
        exact = Decimal(repr(a["hfrs_score"]))
        if a["hfrs_score"] == b["hfrs_score"] and a["hfrs_category"] == b["hfrs_category"].lower():
            agree += 1
        elif abs(float(exact) - b["hfrs_score"]) < 1e-9:
            drift += 1  # same sum up to float rounding
            flipped += a["hfrs_category"] != b["hfrs_category"].lower()
        else:
            emulated = sum(
                (weights.get(c.strip().upper()[:3], Decimal(0)) for c in spellings[person_id]),
                Decimal(0),
            )
            if abs(float(emulated) - b["hfrs_score"]) < 1e-9:
                spelled_twice += 1
            else:
                unexplained.append((person_id, a["hfrs_score"], b["hfrs_score"]))
    n = len(people)
    print(f"  HFRS: {n:,} people; identical score and category for {agree:,} ({agree / n:.3%})")
    print(
        f"    {spelled_twice:,} differ because comorbidipy counts a group once per distinct code "
        "(F001 and F009, or F00.1 and F001, count F00 twice: the de-duplication defect); "
        "Gilbert counts each 3-character group once"
    )
    print(
        f"    {drift:,} differ only by float rounding (comorbidipy sums floats; we sum tenths "
        f"exactly), e.g. 14.999999999999998 vs 15.0; {flipped:,} of them change category "
        "(a sum of exactly 5.0 or 15.0 that the float sum puts just below)"
    )
    print(f"    {missing:,} people only one side returned; {len(unexplained):,} unexplained")
    for row in unexplained[:10]:
        print(f"      person {row[0]}: ours {row[1]}, comorbidipy {row[2]}")


def compare_charlson(ours: pa.Table, theirs: pa.Table, theirs_normal: pa.Table) -> None:
    mine = {r["person_id"]: r for r in ours.to_pylist()}
    other = {r["person_id"]: r for r in theirs.to_pylist()}
    normal = {r["person_id"]: r["comorbidity_score"] for r in theirs_normal.to_pylist()}
    people = sorted(set(mine) | set(other))
    agree = formatting = missing = 0
    unexplained = []
    for person_id in people:
        a, b = mine.get(person_id), other.get(person_id)
        if a is None or b is None:
            missing += 1
            continue
        if (a["charlson_score"], a["charlson_age_adjusted"]) == (
            b["comorbidity_score"],
            b["age_adj_comorbidity_score"],
        ):
            agree += 1
        elif normal.get(person_id) == a["charlson_score"]:
            formatting += 1
        else:
            unexplained.append((person_id, a["charlson_score"], b["comorbidity_score"]))
    n = len(people)
    print(
        f"  Charlson (1987 weights + age): {n:,} people; identical for {agree:,} ({agree / n:.3%})"
    )
    print(
        f"    {formatting:,} differ only because comorbidipy does not normalise codes: a dotted "
        "(E11.2) or lower-case (i50) code matches no 4-character prefix or nothing at all; given "
        "the same codes normalised, comorbidipy agrees with us for every one of them"
    )
    print(f"    {missing:,} people only one side returned; {len(unexplained):,} unexplained")
    for row in unexplained[:10]:
        print(f"      person {row[0]}: ours {row[1]}, comorbidipy {row[2]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--comorbidipy", help="a Python that has comorbidipy 0.8.0 installed")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = generate(args.rows)
    people = pc.count_distinct(data.column("person_id")).as_py()
    print(f"generated {data.num_rows:,} diagnosis rows for {people:,} people "
          f"in {time.perf_counter() - start:.1f} s (seed {SEED}, index date {INDEX})")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="bench-icd10-") as tmp:
        folder = Path(tmp)
        pq.write_table(data, folder / "diagnoses.parquet")
        con = connect("duckdb")
        table = con.read_parquet(folder / "diagnoses.parquet", table_name="diagnoses")

        print("DuckDB (Ibis pipelines over Parquet, with the index date):")
        _, s = timed(lambda: con.to_pyarrow(hfrs_scores(table, index_date=INDEX)))
        show("HFRS (two-year look-back)", s, data.num_rows)
        _, s = timed(lambda: con.to_pyarrow(charlson_scores(table, index_date=INDEX)))
        show("Charlson (1987 weights, age-adjusted)", s, data.num_rows)
        _, s = timed(
            lambda: con.to_pyarrow(charlson_scores(table, index_date=INDEX, weights="quan2011"))
        )
        show("Charlson (Quan 2011 weights)", s, data.num_rows)
        _, s = timed(lambda: con.to_pyarrow(elixhauser_scores(table, index_date=INDEX)))
        show("Elixhauser (van Walraven)", s, data.num_rows)

        if not args.comorbidipy:
            print("comorbidipy: not run (pass --comorbidipy PYTHON)")
            return 0

        # The same input for both: HFRS on the rows in the two-year window (comorbidipy has no
        # dates), Charlson on every row (all are before the index date).
        window = data.filter(
            pc.greater_equal(data.column("date"), pa.scalar(icd10.years_before(INDEX, 2)))
        )
        pq.write_table(window.select(["person_id", "code"]), folder / "hfrs_in.parquet")
        normal = pa.array([normalise_icd10(c) for c in data.column("code").to_pylist()])
        pq.write_table(
            data.select(["person_id", "code", "age"]).append_column("normal", normal),
            folder / "charlson_in.parquet",
        )
        # Like for like: comorbidipy's timing starts from a polars frame already in memory, so
        # ours starts from DuckDB tables already in memory (the file reads are not timed).
        hfrs_in = con.create_table(
            "hfrs_in_memory", con.read_parquet(folder / "hfrs_in.parquet", table_name="hfrs_in")
        )
        all_in = con.create_table("charlson_in_memory", table)
        # comorbidipy's hfrs returns the score alone, so ours is asked for score and category
        # without the list of groups (like for like); Charlson keeps its groups (comorbidipy
        # returns a flag per condition).
        ours_h, our_h = timed(lambda: con.to_pyarrow(hfrs_scores(hfrs_in, with_groups=False)))
        ours_c, our_c = timed(lambda: con.to_pyarrow(charlson_scores(all_in)))
        theirs = run_comorbidipy(
            args.comorbidipy, folder / "hfrs_in.parquet", folder / "charlson_in.parquet", folder
        )
        print(
            f"Same input in memory, ours (DuckDB) vs comorbidipy 0.8.0 (polars), median of {RUNS}:"
        )
        for label, mine, other, rows in (
            ("HFRS", our_h, theirs["hfrs"], window.num_rows),
            ("Charlson", our_c, theirs["charlson"], data.num_rows),
        ):
            m, o = statistics.median(mine), statistics.median(other)
            print(
                f"  {label:<9} {rows:>9,} rows: ours {m:6.2f} s, comorbidipy {o:6.2f} s, "
                f"comorbidipy / ours = {o / m:4.2f}"
            )
        compare_hfrs(ours_h, pq.read_table(folder / "hfrs.parquet"), window)
        compare_charlson(
            ours_c,
            pq.read_table(folder / "charlson.parquet"),
            pq.read_table(folder / "charlson_normal.parquet"),
        )
        con.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
