"""``joinedup audit`` as an operator meets it (run as a subprocess on an embedded SQLite store):
verify names the first bad row and exits 1, prints the head to record, checks a recorded head;
show answers both questions and is itself audited."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import seal_pending
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.carestore.uow import unit_of_work
from tests.carestore_support import migrated


def audit_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JOINEDUP_DATABASE_URL"}
    env["COLUMNS"] = "200"  # rich tables are not cut to a narrow default width
    command = [sys.executable, "-m", "joinedup.governance.cli_audit", *args, "--home", str(home)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    migrated(f"sqlite:///{tmp_path / 'care.db'}")
    return tmp_path


@pytest.fixture
def sessions(home: Path) -> sessionmaker[Session]:
    return session_factory(make_engine(f"sqlite:///{home / 'care.db'}"))


def view(sessions: sessionmaker[Session], actor: str, person_id: int) -> None:
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role="gp",
        action="view.person.scores",
        entity_type="person",
        entity_id=str(person_id),
        person_id=person_id,
        purpose="direct care",
    ):
        pass


@pytest.fixture
def trail(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    for actor, person in (("a.gp", 11), ("b.nurse", 11), ("a.gp", 12), ("c.gp", 13)):
        view(sessions, actor, person)
    seal_pending(sessions)  # as the web app's sealer does within a second (ADR 0028)
    return sessions


def head_hash(output: str) -> str:
    found = re.search(r"Head hash: ([0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def test_verify_reports_an_intact_chain_and_its_head(home: Path, trail: object) -> None:
    result = audit_cli(home, "verify")

    assert result.returncode == 0, result.stderr
    assert "Audit chain intact: 4 audit entries checked" in result.stdout
    assert "Head entry: 4" in result.stdout
    with sqlite3.connect(home / "care.db") as db:
        newest = db.execute("SELECT entry_hash FROM audit_events ORDER BY id DESC").fetchone()[0]
    assert head_hash(result.stdout) == newest


def test_verify_names_the_altered_row_and_fails(home: Path, trail: object) -> None:
    with sqlite3.connect(home / "care.db") as db:
        db.execute("UPDATE audit_events SET actor = 'nobody' WHERE id = 2")

    result = audit_cli(home, "verify")

    assert result.returncode == 1
    assert "Audit chain broken at entry 2: content altered" in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_names_the_row_after_a_deleted_one(home: Path, trail: object) -> None:
    with sqlite3.connect(home / "care.db") as db:
        db.execute("DELETE FROM audit_events WHERE id = 3")

    result = audit_cli(home, "verify")

    assert result.returncode == 1
    assert "broken at entry 4: previous entry deleted or reordered" in result.stderr


def test_expect_head_catches_removed_newest_entries(home: Path, trail: object) -> None:
    recorded = head_hash(audit_cli(home, "verify").stdout)
    assert audit_cli(home, "verify", "--expect-head", recorded).returncode == 0

    with sqlite3.connect(home / "care.db") as db:
        db.execute("DELETE FROM audit_events WHERE id = 4")

    # The table alone still holds; the anchors the earlier runs wrote under --home do not.
    anchored = audit_cli(home, "verify")
    assert anchored.returncode == 1
    assert "anchored entry is no longer in the chain" in anchored.stderr
    result = audit_cli(home, "verify", "--expect-head", recorded)
    assert result.returncode == 1
    assert "recorded head is not in the chain" in result.stderr


def test_show_by_person_and_by_user_is_audited(home: Path, trail: sessionmaker[Session]) -> None:
    by_person = audit_cli(home, "show", "--person", "11")
    assert by_person.returncode == 0, by_person.stderr
    assert "a.gp" in by_person.stdout and "b.nurse" in by_person.stdout
    assert "c.gp" not in by_person.stdout

    by_user = audit_cli(home, "show", "--user", "a.gp", "--limit", "1")
    assert by_user.returncode == 0, by_user.stderr
    rows = [line for line in by_user.stdout.splitlines() if "view.person.scores" in line]
    assert len(rows) == 1 and "12" in rows[0]

    with trail() as session:
        queries = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.query").order_by(AuditEvent.id)
        ).all()
    assert [(q.entity_type, q.entity_id, q.person_id) for q in queries] == [
        ("person", "11", 11),
        ("user", "a.gp", None),
    ]
    assert all(q.actor.startswith("cli:") and q.actor_role == "command line" for q in queries)
    assert audit_cli(home, "verify").returncode == 0


def test_show_needs_exactly_one_question(home: Path) -> None:
    for args in ((), ("--person", "1", "--user", "a.gp")):
        result = audit_cli(home, "show", *args)
        assert result.returncode == 2
        assert "--person or --user" in result.stderr
