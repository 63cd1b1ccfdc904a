"""Anchors of the audit chain, on SQLite and PostgreSQL, through ``joinedup audit`` as an
operator runs it: an untouched chain passes and is anchored; a row edited and every hash after
it recomputed (the chain verifies by itself) fails against the anchors, naming the anchor; a
chain cut short fails; the anchors file is only ever appended to."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import GENESIS_HASH, HASHED_COLUMNS, entry_hash, seal_pending
from joinedup.carestore.models import AuditEvent
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import verify_audit_chain
from joinedup.governance.audit_anchor import (
    HASH_DIFFERS,
    anchor_head,
    append_anchor,
    check_anchors,
    read_anchors,
)

Sessions = sessionmaker[Session]
T0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


def view(sessions: Sessions, actor: str, person_id: int) -> None:
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role="gp",
        action="view.person.page",
        entity_type="person",
        entity_id=str(person_id),
        person_id=person_id,
        purpose="direct care",
    ):
        pass


@pytest.fixture
def trail(sessions: Sessions) -> Sessions:
    for actor, person in (("a.gp", 11), ("b.nurse", 11), ("a.gp", 12), ("c.gp", 13)):
        view(sessions, actor, person)
    seal_pending(sessions)  # as the web app's sealer does within a second (ADR 0028)
    return sessions


def audit_cli(
    home: Path, database_url: str, anchors: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, JOINEDUP_DATABASE_URL=database_url, JOINEDUP_AUDIT_ANCHORS=str(anchors))
    env["COLUMNS"] = "200"
    command = [sys.executable, "-m", "joinedup.governance.cli_audit", *args, "--home", str(home)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def rebuild_after_editing(sessions: Sessions, row_id: int, actor: str) -> None:
    """What an intruder with database write access does: edit one row, then recompute its hash
    and every hash after it, so that the chain holds again by itself."""
    columns = [AuditEvent.__table__.c[name] for name in HASHED_COLUMNS]
    with sessions.begin() as session:
        connection = session.connection()
        connection.execute(update(AuditEvent).where(AuditEvent.id == row_id).values(actor=actor))
        rows = connection.execute(select(*columns).order_by(AuditEvent.id)).mappings().all()
        previous = GENESIS_HASH
        for row in rows:
            fields: dict[str, Any] = {**row, "prev_hash": previous}
            previous = entry_hash(fields)
            connection.execute(
                update(AuditEvent)
                .where(AuditEvent.id == row["id"])
                .values(prev_hash=fields["prev_hash"], entry_hash=previous)
            )


def test_an_untouched_chain_passes_and_each_verify_appends_an_anchor(
    trail: Sessions, care_store: str, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors" / "audit-anchors.jsonl"

    first = audit_cli(tmp_path, care_store, anchors, "verify")
    view(trail, "d.gp", 14)
    second = audit_cli(tmp_path, care_store, anchors, "verify")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "5 audit entries checked against 1 anchors" in second.stdout
    written = read_anchors(anchors)
    assert [a.entry_id for a in written] == [4, 5]
    assert check_anchors(trail, written) == []


def test_a_rebuilt_chain_verifies_by_itself_but_fails_against_its_anchors(
    trail: Sessions, care_store: str, tmp_path: Path
) -> None:
    anchors = tmp_path / "audit-anchors.jsonl"
    assert audit_cli(tmp_path, care_store, anchors, "anchor").returncode == 0
    anchored = anchors.read_bytes()

    rebuild_after_editing(trail, 2, "someone.else")
    assert verify_audit_chain(trail).ok  # the attack works on the chain alone

    result = audit_cli(tmp_path, care_store, anchors, "verify")

    assert result.returncode == 1
    assert "Audit chain does not match its anchor on line 1 (entry 4" in result.stderr
    assert HASH_DIFFERS in result.stderr
    assert "Audit chain intact" not in result.stdout
    assert anchors.read_bytes() == anchored  # a failed check anchors nothing
    refused = audit_cli(tmp_path, care_store, anchors, "anchor")
    assert refused.returncode == 1 and "does not match its anchors" in refused.stderr
    assert anchors.read_bytes() == anchored


def test_a_chain_cut_short_fails_against_its_anchors(trail: Sessions, tmp_path: Path) -> None:
    anchors = tmp_path / "audit-anchors.jsonl"
    anchor_head(trail, anchors, T0)
    with trail.begin() as session:
        session.connection().execute(AuditEvent.__table__.delete().where(AuditEvent.id == 4))

    problems = check_anchors(trail, read_anchors(anchors))

    assert [str(p) for p in problems] == [
        "anchor on line 1 (entry 4, recorded 2026-12-06T09:00:00+00:00): the anchored entry "
        "is no longer in the chain (entries were removed)"
    ]
    with pytest.raises(UserError, match="does not match its anchors"):
        anchor_head(trail, anchors, T0)


def test_the_anchors_file_is_only_appended_to(trail: Sessions, tmp_path: Path) -> None:
    anchors = tmp_path / "audit-anchors.jsonl"
    anchor_head(trail, anchors, T0)
    before = anchors.read_bytes()
    inode = anchors.stat().st_ino

    view(trail, "d.gp", 14)
    anchor_head(trail, anchors, T0 + dt.timedelta(hours=1))

    after = anchors.read_bytes()
    assert after.startswith(before) and anchors.stat().st_ino == inode  # same file, grown
    lines = [json.loads(line) for line in after.decode().splitlines()]
    assert [line["entry_id"] for line in lines] == [4, 5]


def test_writes_land_at_the_end_even_if_the_file_grew_meanwhile(tmp_path: Path) -> None:
    anchors = tmp_path / "audit-anchors.jsonl"
    append_anchor(anchors, 1, "a" * 64, T0)
    with anchors.open("a", encoding="utf-8") as other_writer:  # another process's line
        other_writer.write(json.dumps({"entry_id": 2, "entry_hash": "b" * 64, "recorded_at": "x"}))
        other_writer.write("\n")
    append_anchor(anchors, 3, "c" * 64, T0)

    assert [a.entry_id for a in read_anchors(anchors)] == [1, 2, 3]


def test_a_damaged_anchors_file_is_a_clear_error(tmp_path: Path) -> None:
    anchors = tmp_path / "audit-anchors.jsonl"
    append_anchor(anchors, 1, "a" * 64, T0)
    with anchors.open("a", encoding="utf-8") as file:
        file.write("not json\n")

    with pytest.raises(UserError, match="line 2 of the audit anchors file"):
        read_anchors(anchors)
