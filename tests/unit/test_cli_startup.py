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
    assert "duckdb" in loaded  # the probe can see what was imported
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_nothing_heavy() -> None:
    code, loaded = imported_by("--help")
    assert code == 0
    assert not loaded & {*HEAVY, "duckdb"}, sorted(loaded & {*HEAVY, "duckdb"})


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
