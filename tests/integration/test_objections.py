"""Recording, withdrawing and importing objections, on SQLite and PostgreSQL.

People are taken from the session's small synthetic area; expected figures come from the
Parquet files read here, not from the service under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import nhs_number
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.carestore.models import AuditEvent
from joinedup.governance.cli_objections import objections_app
from joinedup.governance.models import Objection
from joinedup.governance.objections import (
    PURPOSE,
    ObjectionError,
    active_objectors,
    import_objections,
    record_objection,
    synthetic_objections,
    withdraw_objection,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal

GP = principal("gp")


@pytest.fixture(scope="module")
def patients(small_store: PopulationStore) -> list[dict[str, object]]:
    return pq.read_table(
        small_store.path("patients"), columns=["person_id", "nhs_number"]
    ).to_pylist()


def _audit(sessions: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _objection_rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Objection)) or 0)


def _wrong_check_digit(number: str) -> str:
    body, check = number[:9], int(number[9])
    return body + str((check + 1) % 10)


def _valid_number_nobody_has(patients: list[dict[str, object]]) -> str:
    taken = {str(p["nhs_number"]) for p in patients}
    for body in range(999_000_000, 999_100_000):
        candidate = f"{body}{nhs_number.calculate_checksum(str(body))}"
        if len(candidate) == 10 and nhs_number.is_valid(candidate) and candidate not in taken:
            return candidate
    raise AssertionError("no free synthetic NHS number")


# --- one person's choice -------------------------------------------------------------------------


def test_recording_and_withdrawing_an_objection_is_audited(
    sessions: sessionmaker[Session],
) -> None:
    assert active_objectors(sessions) == frozenset()

    assert record_objection(sessions, GP, 101, "type_1") is True
    assert record_objection(sessions, GP, 101, "type_1") is False  # already in force
    assert record_objection(sessions, GP, 202, "national_data_opt_out") is True
    assert active_objectors(sessions) == {101, 202}

    assert withdraw_objection(sessions, GP, 101, "type_1") is True
    assert withdraw_objection(sessions, GP, 101, "type_1") is False  # nothing left in force
    assert active_objectors(sessions) == {202}

    recorded = _audit(sessions, "objection.record")
    assert [(e.person_id, e.actor, e.purpose) for e in recorded] == [
        (101, GP.username, PURPOSE),
        (101, GP.username, PURPOSE),
        (202, GP.username, PURPOSE),
    ]
    assert [e.person_id for e in _audit(sessions, "objection.withdraw")] == [101, 101]


def test_an_objection_withdrawn_can_be_made_again(sessions: sessionmaker[Session]) -> None:
    record_objection(sessions, GP, 7, "national_data_opt_out")
    withdraw_objection(sessions, GP, 7, "national_data_opt_out")

    assert record_objection(sessions, GP, 7, "national_data_opt_out") is True
    assert active_objectors(sessions) == {7}


def test_unknown_kinds_and_roles_without_the_permission_are_refused(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(ObjectionError, match="type_1, national_data_opt_out"):
        record_objection(sessions, GP, 1, "opt_out")
    with pytest.raises(PermissionError):
        record_objection(sessions, principal("commissioner"), 1, "type_1")
    assert active_objectors(sessions) == frozenset()
    assert _audit(sessions, "objection.record") == []


# --- importing a file ----------------------------------------------------------------------------


def _mixed_rows(patients: list[dict[str, object]]) -> list[dict[str, str]]:
    first, second, third = patients[10], patients[20], patients[30]
    mistyped = _wrong_check_digit(str(third["nhs_number"]))
    return [
        {"person_id": str(first["person_id"]), "nhs_number": "", "kind": "type_1"},  # line 2
        {"person_id": "", "nhs_number": str(second["nhs_number"]), "kind": "national_data_opt_out"},
        {"person_id": "", "nhs_number": mistyped, "kind": "type_1"},  # line 4
        {"person_id": "987654321", "nhs_number": "", "kind": "type_1"},  # line 5: unknown
        {"person_id": str(third["person_id"]), "nhs_number": "", "kind": "opt_out"},  # line 6
        {"person_id": str(first["person_id"]), "nhs_number": "", "kind": "TYPE_1"},  # line 7: dup
        {"person_id": "", "nhs_number": _valid_number_nobody_has(patients), "kind": "type_1"},
        {"person_id": "", "nhs_number": "", "kind": "type_1"},  # line 9: nobody named
        {"person_id": "12ab", "nhs_number": "", "kind": "type_1"},  # line 10
    ]  # fmt: skip


def test_an_import_loads_the_good_rows_and_reports_each_bad_one(
    sessions: sessionmaker[Session], small_store: PopulationStore, patients: list[dict[str, object]]
) -> None:
    rows = _mixed_rows(patients)

    report = import_objections(sessions, GP, rows, store=small_store)

    assert report.committed and report.rows == 9
    assert report.recorded == 2 and report.already_recorded == 0
    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10]
    assert "check digit" in reasons[4]
    assert "no one in the population store has this person_id" in reasons[5]
    assert "'opt_out' is not known" in reasons[6] and "national_data_opt_out" in reasons[6]
    assert "repeats line 2" in reasons[7]
    assert "no one in the population store has this NHS number" in reasons[8]
    assert "person_id or the nhs_number" in reasons[9]
    assert "whole number" in reasons[10]
    for reason in reasons.values():  # a report names no one
        assert not any(str(p["nhs_number"]) in reason for p in patients[:40])
    assert active_objectors(sessions) == {patients[10]["person_id"], patients[20]["person_id"]}
    [event] = _audit(sessions, "objection.import")
    assert event.detail["recorded"] == 2 and event.detail["rejected"] == 7
    assert event.purpose == PURPOSE


def test_importing_the_same_file_again_changes_nothing(
    sessions: sessionmaker[Session], small_store: PopulationStore, patients: list[dict[str, object]]
) -> None:
    rows = _mixed_rows(patients)
    import_objections(sessions, "cli:tester", rows, store=small_store)
    before = (active_objectors(sessions), _objection_rows(sessions))

    again = import_objections(sessions, "cli:tester", rows, store=small_store)

    assert again.recorded == 0 and again.already_recorded == 2
    assert (active_objectors(sessions), _objection_rows(sessions)) == before


def test_strict_mode_loads_nothing_when_any_row_is_bad(
    sessions: sessionmaker[Session], small_store: PopulationStore, patients: list[dict[str, object]]
) -> None:
    report = import_objections(sessions, GP, _mixed_rows(patients), store=small_store, strict=True)

    assert not report.committed and report.recorded == 0
    assert len(report.rejected) == 7
    assert active_objectors(sessions) == frozenset()
    assert _audit(sessions, "objection.import") == []

    good = _mixed_rows(patients)[:2]
    assert import_objections(sessions, GP, good, store=small_store, strict=True).recorded == 2
    assert len(active_objectors(sessions)) == 2


# --- the command line ----------------------------------------------------------------------------


def test_the_command_imports_a_file_and_counts(
    care_store: str,
    small_area: Settings,
    patients: list[dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "population").symlink_to(small_area.population_dir)
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", care_store)
    good = tmp_path / "good.csv"
    good.write_text(
        "person_id,kind\n"
        f"{patients[1]['person_id']},type_1\n"
        f"{patients[2]['person_id']},national_data_opt_out\n"
        f"{patients[2]['person_id']},type_1\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"nhs_number,kind\n{_wrong_check_digit(str(patients[3]['nhs_number']))},type_1\n"
    )
    runner = CliRunner()

    loaded = runner.invoke(objections_app, ["import", str(good), "--home", str(home)])
    refused = runner.invoke(objections_app, ["import", str(bad), "--strict", "--home", str(home)])
    counted = runner.invoke(objections_app, ["count", "--home", str(home)])

    assert loaded.exit_code == 0, loaded.output
    assert "Newly recorded" in loaded.output and "3" in loaded.output
    assert refused.exit_code == 1
    assert "check digit" in refused.output and "Nothing was loaded" in refused.output
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in counted.output.splitlines() if line.count("│") == 3}  # fmt: skip
    assert lines["National data opt-out"] == "1"
    assert lines["Anyone (either kind)"] == "2"
    assert os.environ["JOINEDUP_DATABASE_URL"] == care_store


# --- the demo's objections -----------------------------------------------------------------------


def test_synthetic_objections_are_a_deterministic_sample(small_store: PopulationStore) -> None:
    chosen = synthetic_objections(small_store, seed=3)

    assert chosen == synthetic_objections(small_store, seed=3)
    assert chosen != synthetic_objections(small_store, seed=4)
    registered = small_store.metadata()["summary"]["registered_at_extract"]
    opt_out = {p for p, kind in chosen if kind == "national_data_opt_out"}
    type_1 = {p for p, kind in chosen if kind == "type_1"}
    assert 0.02 < len(opt_out) / registered < 0.04
    assert 0.012 < len(type_1) / registered < 0.028
    assert opt_out & type_1  # some people object both ways
    assert len(chosen) == len(set(chosen))
