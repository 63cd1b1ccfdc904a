"""Anchors for the audit trail's hash chain: its head, written outside the care store.

The chain (`joinedup.carestore.audit_chain`) shows any edited, inserted or removed row, but
only to someone who cannot rewrite it: with write access to the database one can edit a row
and recompute every hash after it, and the rebuilt chain verifies. An *anchor* is the head's
entry id and hash, appended to a file outside the database (``JOINEDUP_HOME/audit-anchors.jsonl``
by default, ``JOINEDUP_AUDIT_ANCHORS`` to put it elsewhere — ideally where the database's
administrators cannot write). Every later check looks each anchored entry up again: a rebuilt
chain has new hashes from the edited row on, so every anchor after the edit no longer matches,
and a chain cut short has lost the anchored entries. This is the "publish the head hash"
defence of Crosby & Wallach, *Efficient Data Structures for Tamper-Evident Logging* (USENIX
Security 2009), with a local append-only file as the publication.

The file is only ever appended to: opened with ``O_APPEND`` (each line lands at the end, even
with several writers) and never rewritten or truncated by joinedup; one JSON object a line.
Anchors are written by every `joinedup audit verify` that finds the chain intact, by
`joinedup audit anchor` and by the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import seal_pending, sealed_tail
from joinedup.carestore.models import AuditEvent
from joinedup.errors import UserError

#: Anchored entries looked up per query (keeps the IN list short on both engines).
LOOKUP_BATCH = 500


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: entry `entry_id` had hash `entry_hash`."""

    entry_id: int
    entry_hash: str
    recorded_at: str
    line: int = 0  # where it is in the file (1-based), to name it in a failure

    def describe(self) -> str:
        return f"anchor on line {self.line} (entry {self.entry_id}, recorded {self.recorded_at})"


@dataclass(frozen=True)
class AnchorProblem:
    anchor: Anchor
    problem: str

    def __str__(self) -> str:
        return f"{self.anchor.describe()}: {self.problem}"


ENTRY_GONE = "the anchored entry is no longer in the chain (entries were removed)"
HASH_DIFFERS = "the entry's hash differs from the anchored hash (the chain was rewritten)"


def append_anchor(path: Path, entry_id: int, entry_hash: str, now: dt.datetime) -> Anchor:
    """Append the head (`entry_id`, `entry_hash`) to the anchors file; never rewrites it."""
    recorded_at = now.isoformat()
    record = {"entry_id": entry_id, "entry_hash": entry_hash, "recorded_at": recorded_at}
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)  # one write of one short line: appended whole
        os.fsync(fd)
    finally:
        os.close(fd)
    return Anchor(entry_id, entry_hash, recorded_at)


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file, oldest first ([] if there is no file yet); a clear error
    naming the line for one that is not an anchor (the file was damaged)."""
    if not path.exists():
        return []
    return list(_parse(path))


def _parse(path: Path) -> Iterator[Anchor]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
                anchor = Anchor(
                    entry_id=int(record["entry_id"]),
                    entry_hash=str(record["entry_hash"]),
                    recorded_at=str(record["recorded_at"]),
                    line=number,
                )
            except (ValueError, KeyError, TypeError):
                raise UserError(
                    f"line {number} of the audit anchors file {path} is not an anchor: the "
                    "file was damaged or edited"
                ) from None
            yield anchor


def check_anchors(
    sessions: sessionmaker[Session], anchors: Sequence[Anchor]
) -> list[AnchorProblem]:
    """Every anchor whose entry is gone from the chain or has another hash now."""
    problems = []
    with sessions() as session:
        for start in range(0, len(anchors), LOOKUP_BATCH):
            batch = anchors[start : start + LOOKUP_BATCH]
            hashes = _hashes_of(session, {a.entry_id for a in batch})
            for anchor in batch:
                if anchor.entry_id not in hashes:
                    problems.append(AnchorProblem(anchor, ENTRY_GONE))
                elif hashes[anchor.entry_id] != anchor.entry_hash:
                    problems.append(AnchorProblem(anchor, HASH_DIFFERS))
    return problems


def _hashes_of(session: Session, ids: set[int]) -> dict[int, str | None]:
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.entry_hash).where(AuditEvent.id.in_(ids))
    )
    return {row.id: row.entry_hash for row in rows}


def chain_head(sessions: sessionmaker[Session]) -> tuple[int, str] | None:
    """The newest sealed entry's id and hash, or None while nothing is sealed."""
    with sessions() as session:
        head_id, head_hash = sealed_tail(session)
    return None if head_id is None else (head_id, head_hash)


def anchor_head(sessions: sessionmaker[Session], path: Path, now: dt.datetime) -> Anchor | None:
    """Check the chain against the anchors already written, then anchor its head now.

    Refuses (UserError naming the first mismatched anchor) rather than anchor a chain that no
    longer matches: that would bless a rewrite. Seals pending events first, so the anchor
    covers every event written so far. None while the trail is empty."""
    seal_pending(sessions)
    problems = check_anchors(sessions, read_anchors(path))
    if problems:
        raise UserError(
            f"the audit chain does not match its anchors ({problems[0]}); run "
            "`joinedup audit verify` and investigate before anchoring again"
        )
    head = chain_head(sessions)
    return None if head is None else append_anchor(path, *head, now)
