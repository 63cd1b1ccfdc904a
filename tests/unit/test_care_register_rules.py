"""The register's transition table and the `joinedup care register` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup.care.models import REGISTER_STATES
from joinedup.care.named_professionals import ROLE_FITS, fitting_roles
from joinedup.care.register import ENDED_STATES, OPEN_STATES, TRANSITIONS
from joinedup.cli import app
from tests.carestore_support import migrated


def _reachable(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_state_is_reachable_from_identified_and_every_exit_can_return() -> None:
    assert set(TRANSITIONS) == set(REGISTER_STATES)
    assert _reachable("identified") == set(REGISTER_STATES)
    for ended in ENDED_STATES:
        assert "identified" in _reachable(ended)
    assert set(OPEN_STATES) | ENDED_STATES == set(REGISTER_STATES)


@pytest.mark.parametrize(
    ("state", "never"),
    [("identified", "active"), ("invited", "active"), ("active", "consented")],
)
def test_no_step_skips_consent(state: str, never: str) -> None:
    assert never not in TRANSITIONS[state]


def test_a_role_fits_only_its_kinds_of_named_professional() -> None:
    assert fitting_roles("gp") == ("gp",)
    assert fitting_roles("care_coordinator") == ("care_coordinator", "navigator")
    assert fitting_roles("receptionist") == ()
    assert all(kind in ROLE_FITS for kind in fitting_roles("link_worker"))


def test_the_register_command_counts_by_state(tmp_path: Path) -> None:
    migrated(f"sqlite:///{tmp_path / 'care.db'}")
    result = CliRunner().invoke(
        app, ["care", "register", "--home", str(tmp_path)], env={"JOINEDUP_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    assert "Review due" in result.output and "Not contactable" in result.output
