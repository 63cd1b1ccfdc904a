"""The import rules of `.importlinter` hold, and would catch a module that broke them.

The contracts (layers, no web framework in domain code, no store read in the web layer, no
circles) are checked on the real package; then on a copy of it with four synthetic breaches,
each made by a function-level import — the kind that hides a circle or an upward arrow — to
prove each contract can fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
PACKAGE = ROOT / "src" / "joinedup"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

#: file in the copy → a lazy import it gains, and the import the report must name
BREACHES = {
    # population is the bottom domain layer: an upward arrow to the web layer
    "population/store.py": (
        "def _upward():\n    from joinedup.web import formatting  # noqa\n",
        "joinedup.population.store -> joinedup.web.formatting",
    ),
    # kept.py imports people.py at the top: this closes a circle
    "analytics/variation/people.py": (
        "def _circle():\n    from joinedup.analytics.variation import kept  # noqa\n",
        ".people -> .kept",
    ),
    # domain code never imports the web framework
    "governance/suppression.py": (
        "def _web():\n    import fastapi  # noqa\n",
        "joinedup.governance.suppression -> fastapi",
    ),
    # routes never query directly: no store read in the web layer
    "web/formatting.py": (
        "def _query():\n    import pyarrow.parquet  # noqa\n",
        "joinedup.web.formatting -> pyarrow",
    ),
}


def _lint(config: Path, src: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on `config` for the package under `src` (a fresh process, so the package
    is found there rather than where this test imported it from)."""
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache", "--no-logo"],
        cwd=src.parent,
        env={"PYTHONPATH": str(src), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _python_only(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()]


def test_the_import_contracts_are_kept() -> None:
    result = _lint(CONFIG, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture(scope="module")
def breached(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    src = tmp_path_factory.mktemp("breached") / "src"
    shutil.copytree(PACKAGE, src / "joinedup", ignore=_python_only)
    for relative, (code, _) in BREACHES.items():
        with (src / "joinedup" / relative).open("a", encoding="utf-8") as module:
            module.write("\n\n" + code)
    return _lint(CONFIG, src)


def test_the_breached_copy_breaks_every_contract(
    breached: subprocess.CompletedProcess[str],
) -> None:
    assert breached.returncode == 1, breached.stdout + breached.stderr
    assert "0 kept, 4 broken" in breached.stdout, breached.stdout


@pytest.mark.parametrize("relative", sorted(BREACHES))
def test_each_lazy_import_is_named(
    breached: subprocess.CompletedProcess[str], relative: str
) -> None:
    _, named = BREACHES[relative]
    assert named in breached.stdout, breached.stdout
