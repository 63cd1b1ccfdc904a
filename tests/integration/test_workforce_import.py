"""Importing workforce files into the care store (SQLite and PostgreSQL): a good file is one
audited, numbered batch; a broken file loads its good lines or, with --strict, nothing; the
same figures twice change nothing; a later batch supersedes an earlier one per organisation
and period only. The CLI in-process: a header error is one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.carestore.models import AuditEvent
from joinedup.cli import app
from joinedup.commissioning import workforce_store as wf_store
from joinedup.commissioning.workforce_models import WorkforceBatch, WorkforceFigure
from tests.carestore_support import migrated

GOOD = (
    "practice_code,pcn_code,period,staff_group,fte\n"
    "P81001,PCN01,2025-09,GPs,4\n"
    "P81001,PCN01,2025-09,Nurses,2\n"
    "P81002,PCN01,2025-09,GPs,3\n"
    ",PCN01,2025-09,Direct Patient Care,1.5\n"
)
BROKEN = GOOD + "P81003,PCN01,2025-09,Surgeons,1\nP81003,PCN01,2025-09,GPs,x\n"


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _audit(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action.like("workforce.%"))).all()
        )


def test_a_good_file_is_one_audited_batch(sessions: sessionmaker[Session]) -> None:
    report = wf_store.import_workforce(sessions, "tester", GOOD, source_name="good.csv")
    assert (report.rows, report.recorded, report.rejected) == (4, 4, [])
    assert report.batch_version == 1 and report.committed
    assert _count(sessions, WorkforceFigure) == 4
    [event] = _audit(sessions)
    assert (event.action, event.entity_id, event.actor) == ("workforce.import", "1", "tester")
    assert event.detail["loaded"] == 4 and event.detail["rejected"] == 0
    figures = {(f.org_code, f.role): f.fte for f in wf_store.current_figures(sessions)}
    assert figures[("P81001", "gp")] == 4 and figures[("PCN01", "direct_patient_care")] == 1.5


def test_a_broken_file_loads_its_good_lines_and_reports_the_rest(
    sessions: sessionmaker[Session],
) -> None:
    report = wf_store.import_workforce(sessions, "tester", BROKEN, source_name="broken.csv")
    assert report.recorded == 4 and [r.line for r in report.rejected] == [6, 7]
    with sessions() as session:
        batch = session.scalars(select(WorkforceBatch)).one()
        assert (batch.lines_read, batch.lines_loaded, batch.lines_rejected) == (6, 4, 2)


def test_strict_loads_nothing_when_any_line_is_rejected(sessions: sessionmaker[Session]) -> None:
    report = wf_store.import_workforce(sessions, "tester", BROKEN, source_name="b.csv", strict=True)
    assert not report.committed and len(report.rejected) == 2 and report.recorded == 0
    assert _count(sessions, WorkforceBatch) == 0 and _count(sessions, WorkforceFigure) == 0
    assert _audit(sessions) == []


def test_the_same_figures_twice_change_nothing(sessions: sessionmaker[Session]) -> None:
    wf_store.import_workforce(sessions, "tester", GOOD, source_name="good.csv")
    reordered = GOOD.splitlines()[0] + "\n" + "\n".join(reversed(GOOD.splitlines()[1:])) + "\n"
    again = wf_store.import_workforce(sessions, "tester", reordered, source_name="again.csv")
    assert again.unchanged and again.batch_version == 1 and again.recorded == 0
    assert _count(sessions, WorkforceBatch) == 1 and _count(sessions, WorkforceFigure) == 4
    assert [e.action for e in _audit(sessions)] == [
        "workforce.import",
        "workforce.import_unchanged",
    ]


def test_a_later_batch_supersedes_only_what_it_names(sessions: sessionmaker[Session]) -> None:
    wf_store.import_workforce(sessions, "tester", GOOD, source_name="good.csv")
    update = "practice_code,pcn_code,period,staff_group,fte\nP81001,PCN01,2025-09,GPs,5\n"
    report = wf_store.import_workforce(sessions, "tester", update, source_name="update.csv")
    assert report.batch_version == 2
    current = {
        (f.org_code, f.role): (f.fte, f.batch_version) for f in wf_store.current_figures(sessions)
    }
    # P81001 is now batch 2's (its nurses are gone with batch 1's figure for it); others stay.
    assert current == {
        ("P81001", "gp"): (5, 2),
        ("P81002", "gp"): (3, 1),
        ("PCN01", "direct_patient_care"): (1.5, 1),
    }


def test_the_cli_imports_and_reports_header_errors_in_one_line(
    tmp_path: Path, care_db_url: str, monkeypatch
) -> None:
    migrated(care_db_url)
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", care_db_url)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text("code,fte\nX,1\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["workforce", "import", str(good), "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Loaded as batch 1" in result.output
    shown = runner.invoke(app, ["workforce", "show", "P81001", "--home", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "Against peers" in shown.output and "P81001" in shown.output
    failed = runner.invoke(app, ["workforce", "import", str(bad), "--home", str(tmp_path)])
    assert failed.exit_code != 0
    assert "the header lacks" in str(failed.exception or "") + failed.output
