"""Start-up cost of the command line: `joinedup --help` and `joinedup score` (ICD-10) import
none of the heavy libraries a command may need later (ADR 0012)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "ibis", "pyspark", "fhir", "sqlalchemy", "lightgbm", "pyarrow", "polars")

PROBE = """
import json, sys
from joinedup.cli import main
sys.argv = ["joinedup", *sys.argv[1:]]
try:
    main()
except SystemExit as exit_:
    code = exit_.code
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def imported_by(*args: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["loaded"])


@pytest.mark.parametrize("score", ["hfrs", "charlson", "elixhauser"])
def test_scoring_an_icd10_extract_imports_nothing_heavy(tmp_path: Path, score: str) -> None:
    source = tmp_path / "extract.csv"
    source.write_text("person_id,code,age\nTESTabc,F00.1,80\nTESTdef,I50X,71\n", encoding="utf-8")
    code, loaded = imported_by("score", score, str(source), "-o", str(tmp_path / "out.csv"))
    assert code == 0
    assert "_duckdb" in loaded  # the probe can see what was imported
    # DuckDB's engine alone: not the Python package around it (its import costs ≈ 0.06 CPU-s)
    assert "duckdb" not in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_nothing_heavy() -> None:
    code, loaded = imported_by("--help")
    assert code == 0
    assert not loaded & {*HEAVY, "duckdb", "_duckdb"}, sorted(
        loaded & {*HEAVY, "duckdb", "_duckdb"}
    )


def test_the_web_app_leaves_the_modelling_libraries_to_the_commands_that_need_them() -> None:
    # Every process serving the app (each of `serve --workers N`) imports it at start-up;
    # statsmodels, SciPy's statistics and LightGBM cost seconds there, and only evaluation,
    # funnel limits and risk scoring use them.
    probe = "import sys, joinedup.web.app; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    loaded = set(done.stdout.split())
    assert "joinedup.web.app" in loaded, done.stderr
    late = {"statsmodels", "scipy.stats", "lightgbm", "sklearn", "pyspark"}
    assert not loaded & late, sorted(loaded & late)


ENTRY_PROBE = """
import json, sys
from joinedup.launcher import main
try:
    main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_the_entry_point_scores_without_the_command_line_framework(tmp_path: Path) -> None:
    # `joinedup score` on a million rows: Typer (a Pydantic adapter for every parameter), Rich
    # and every command group cost half a CPU-second before the first row (ADR 0035).
    source = tmp_path / "extract.csv"
    source.write_text("person_id,code\nTESTabc,F00.1\nTESTdef,0000\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_PROBE, "score", "hfrs", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    assert not set(report["loaded"]) & {"typer", "click", "rich", "pydantic", *HEAVY}
    assert "2 rows read, 1 accepted, 1 rejected; 1 people scored" in done.stdout
    assert "row 3: code '0000' is not an ICD-10 code" in done.stderr
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("TESTabc,")


def test_the_entry_point_leaves_anything_but_a_plain_score_to_the_command_line() -> None:
    from joinedup.analytics.extract_scoring.cli import ScoreArgs, parse_score_args

    assert parse_score_args(["hfrs", "in.csv", "--output=o.csv", "--index-date", "2025-03-31"]) == (
        ScoreArgs("hfrs", Path("in.csv"), Path("o.csv"), "2025-03-31")
    )
    for args in (
        ["hfrs", "in.csv", "--help"],
        ["hfrs"],
        ["hfrs", "in.csv", "extra.csv"],
        ["hfrs", "in.csv", "-o"],
        ["hfrs", "in.csv", "-o", "a.csv", "-o", "b.csv"],
        ["hfrs", "in.csv", "--weights", "quan2011"],
    ):
        assert parse_score_args(args) is None, args
