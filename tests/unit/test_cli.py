"""The command line as a user meets it: help, clear one-line errors, exit codes."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from joinedup.cli import main


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def joinedup(*args: str, home: Path | None = None) -> Result:
    """Run the command line in this process, exactly as the `joinedup` entry point does (the
    same `main`, its exit code and its two output streams); one test below runs the real
    entry point in a subprocess too."""
    argv = [*args, *(["--home", str(home)] if home is not None else [])]
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["joinedup", *argv]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = saved
    return Result(code, stdout.getvalue(), stderr.getvalue())


def assert_one_line_error(result: Result, code: int, *fragments: str):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_the_installed_entry_point_runs_and_errors_in_one_line():
    helped = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "Usage: joinedup" in helped.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "generate", "--colour", "red"],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2 and failed.stderr.strip().startswith("error: ")
    assert "Traceback" not in failed.stderr


def test_help_lists_the_commands():
    result = joinedup("--help")
    assert result.returncode == 0
    for command in ("generate", "serve", "demo", "contracts", "validate", "calibration", "db"):
        assert command in result.stdout


def test_no_arguments_shows_help():
    result = joinedup()
    assert result.returncode == 0 and "Usage: joinedup" in result.stdout


def test_unknown_option_is_one_line_with_exit_code_2():
    assert_one_line_error(
        joinedup("generate", "--colour", "red"), 2, "--colour", "joinedup generate --help"
    )


def test_negative_size_is_refused():
    assert_one_line_error(joinedup("generate", "--patients", "-5"), 2, "--patients")


def test_unwritable_home_is_refused_without_traceback(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("a file where a folder should be")
    assert_one_line_error(
        joinedup("generate", "--patients", "200", home=blocked / "area"), 1, "cannot write"
    )


def test_missing_store_tells_the_user_what_to_run(tmp_path):
    assert_one_line_error(joinedup("validate", home=tmp_path), 1, "joinedup generate")


def test_unknown_table_lists_the_known_ones():
    assert_one_line_error(joinedup("contracts", "people"), 1, "patients", "hospital_spells")


def test_contracts_describe_a_table():
    result = joinedup("contracts", "hospital_spells")
    assert result.returncode == 0
    assert "admission_method" in result.stdout and "emergency" in result.stdout


@pytest.mark.slow
def test_generate_then_validate_and_calibrate(tmp_path):
    generated = joinedup("generate", "--patients", "2000", "--seed", "3", home=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert "Generated 2,000 people" in generated.stdout
    validated = joinedup("validate", home=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "All tables meet their contracts." in validated.stdout
    calibrated = joinedup("calibration", home=tmp_path)
    assert calibrated.returncode == 0 and "hypertension" in calibrated.stdout.lower()


@pytest.mark.slow
def test_stratify_stores_a_run_and_lists_it(small_area, tmp_path):
    # A copy of the shared area, so this run does not join the runs other tests count.
    shutil.copytree(small_area.population_dir, tmp_path / "population")
    result = joinedup("stratify", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6,000 people as of 31 March 2026 on duckdb" in result.stdout
    assert "largely_healthy" in result.stdout
    listed = joinedup("runs", home=tmp_path)
    assert listed.returncode == 0 and "2026-03-31" in listed.stdout


def test_unknown_engine_is_refused():
    assert_one_line_error(joinedup("stratify", "--engine", "oracle"), 2, "duckdb or spark")


@pytest.mark.slow
def test_model_train_then_card(small_area, tmp_path):
    shutil.copytree(small_area.population_dir, tmp_path / "population")
    trained = joinedup("model", "train", home=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "# Model card: emergency-admission risk" in trained.stdout
    assert "AUROC" in trained.stdout
    card = joinedup("model", "card", home=tmp_path)
    assert card.returncode == 0 and "Calibration" in card.stdout


def test_model_card_without_a_model_says_what_to_do(tmp_path):
    assert_one_line_error(joinedup("model", "card", home=tmp_path), 1, "train one first")


def test_variation_prepare_keeps_the_inputs_and_says_so(small_area, tmp_path):
    (tmp_path / "population").symlink_to(small_area.population_dir, target_is_directory=True)
    result = joinedup("variation", "prepare", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Practice variation prepared for" in result.stdout
    assert any((tmp_path / "cache" / "variation").iterdir())


def test_variation_prepare_without_a_store_says_what_to_run(tmp_path):
    assert_one_line_error(joinedup("variation", "prepare", home=tmp_path), 1, "joinedup generate")


@pytest.mark.parametrize(
    "command", [("user", "list"), ("audit", "verify"), ("export", "scores", "--as", "someone")]
)
def test_a_care_store_not_set_up_is_one_line_saying_what_to_run(tmp_path, command):
    assert_one_line_error(joinedup(*command, home=tmp_path), 1, "joinedup db upgrade")
