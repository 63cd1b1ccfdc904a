"""The audit trail's hash chain: how an entry's hash is computed, in one place.

Each audit event stores ``prev_hash`` (the ``entry_hash`` of the event before it, in id order;
64 zeros for the first) and ``entry_hash``: the SHA-256 of a canonical serialisation of every
column but ``entry_hash`` itself — the row ``id`` and ``prev_hash`` included. So

* changing any column of a row (with SQL, bypassing the ORM guard) makes its hash wrong;
* deleting or reordering rows breaks the link at the next row (its ``prev_hash`` no longer
  names the entry before it), and deleting the first row leaves the new first row pointing
  at an entry that is not there instead of at the zeros;
* swapping the contents of two rows is caught because the id is hashed with the content.

The hash has no secret key: someone who can write to the database *and* recompute every
hash after the one they change can forge a consistent chain, and removing the newest rows
leaves a shorter chain that is still valid. Both are why ``joinedup audit verify`` prints the
head hash and count for recording elsewhere, and ``--expect-head`` checks a recorded head
is still in the chain (the pattern of certificate-transparency and other hash-chained logs:
RFC 9162, section 2.1).

Events are appended without waiting for each other and sealed into the chain in batches
(ADR 0028). A write transaction inserts its event with ``prev_hash`` and ``entry_hash`` empty
(*unsealed*); `seal_pending` later takes the chain's lock, reads the sealed tail and fills
in both hashes for every unsealed event after it, in id order, in one transaction. The web
app seals every second (`joinedup.web.audit_sealer`); ``joinedup audit verify`` and
``anchor`` seal before they check, so they see every event.

Id order must be chain order, and on PostgreSQL ids come from a sequence taken before commit,
so a transaction could commit an id *below* one already sealed. The chain's advisory lock
prevents that as a readers-writer lock: each appender holds it *shared* from before taking
its id until its commit (appenders never wait for one another), and the sealer takes it
*exclusive*, which waits for every appender in flight and holds new ones back for the few
milliseconds of a seal. So when the sealer runs, every id handed out belongs to a finished
transaction and every id to come is higher. On SQLite every write transaction already holds
the database's write lock (``BEGIN IMMEDIATE``), so ids are committed in order anyway.

Between its commit and the next seal (about a second in the web app) an event is protected
only by the ORM's append-only guard, not yet by the hash: the window ADR 0028 accepts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import WRITE_TRANSACTION
from joinedup.carestore.models import AuditEvent

GENESIS_HASH = "0" * 64

# The key of the PostgreSQL advisory lock that serialises audit appends ("jaud" in ASCII).
AUDIT_CHAIN_LOCK = 0x6A617564

# Every column of `audit_events` that the hash covers: all of them except `entry_hash`.
HASHED_COLUMNS: tuple[str, ...] = (
    "id",
    "occurred_at",
    "actor",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "person_id",
    "purpose",
    "detail",
    "prev_hash",
)

#: Events sealed per transaction.
SEAL_BATCH = 2_000
_INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def canonical_instant(value: dt.datetime) -> str:
    """An instant as fixed-width UTC text; naive values are taken as UTC (SQLite stores UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime(_INSTANT_FORMAT)


def _canonical_json(value: Any) -> Any:
    """JSON values as both backends give them back: PostgreSQL's JSONB turns ``1.0`` and
    ``1e20`` into integers, so integral floats are hashed as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_json(v) for v in value]
    return value


def canonical_entry(row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted-key, ASCII-only JSON of `HASHED_COLUMNS`."""
    missing = [name for name in HASHED_COLUMNS if name not in row]
    if missing:
        raise KeyError(f"an audit entry to hash needs {', '.join(missing)}")
    fields = {name: row[name] for name in HASHED_COLUMNS}
    fields["occurred_at"] = canonical_instant(fields["occurred_at"])
    fields["detail"] = _canonical_json(fields["detail"] or {})
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False
    ).encode("ascii")


def entry_hash(row: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of an audit entry: `row` maps every name in `HASHED_COLUMNS`."""
    return hashlib.sha256(canonical_entry(row)).hexdigest()


def lock_chain(connection: Connection | Session) -> None:
    """Hold the chain exclusively until this transaction ends: the sealer (and migrations).

    PostgreSQL only; a no-op on SQLite, whose write transactions already hold the write lock."""
    if _is_postgresql(connection):
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})


def share_chain(connection: Connection | Session) -> None:
    """Hold the chain shared until this transaction ends: an appender, before its event takes
    an id, so no seal runs while the id is uncommitted (PostgreSQL; no-op on SQLite)."""
    if _is_postgresql(connection):
        connection.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": AUDIT_CHAIN_LOCK}
        )


def _is_postgresql(connection: Connection | Session) -> bool:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return bind.dialect.name == "postgresql"


# --- Sealing ---------------------------------------------------------------------------------


def seal_pending(sessions: sessionmaker[Session], *, batch: int = SEAL_BATCH) -> int:
    """Seal every unsealed event into the chain, oldest first; how many were sealed.

    Cheap when there is nothing to seal (one indexed look-up, no lock). Each batch is one
    transaction under the chain's exclusive lock; any number of processes may call this.
    """
    sealed = 0
    while _has_unsealed(sessions):
        done = _seal_batch(sessions, batch)
        sealed += done
        if done < batch:
            break
    return sealed


def _has_unsealed(sessions: sessionmaker[Session]) -> bool:
    events = cast(Table, AuditEvent.__table__)
    with sessions() as session:
        found = session.execute(
            select(events.c.id).where(events.c.entry_hash.is_(None)).limit(1)
        ).first()
    return found is not None


def _seal_batch(sessions: sessionmaker[Session], batch: int) -> int:
    events = cast(Table, AuditEvent.__table__)
    with sessions() as session, session.begin():
        connection = session.connection(execution_options={WRITE_TRANSACTION: True})
        lock_chain(connection)
        tail_id, prev_hash = sealed_tail(connection)
        pending = select(*(events.c[name] for name in HASHED_COLUMNS if name != "prev_hash"))
        pending = pending.where(events.c.entry_hash.is_(None))
        if tail_id is not None:
            # An unsealed event below the tail was sealed once and emptied since: tampering,
            # which `verify` reports; it is never sealed again at a new place.
            pending = pending.where(events.c.id > tail_id)
        rows = connection.execute(pending.order_by(events.c.id).limit(batch)).mappings().all()
        hashes = []
        for row in rows:
            this_hash = entry_hash({**row, "prev_hash": prev_hash})
            hashes.append({"row_id": row["id"], "prev": prev_hash, "this": this_hash})
            prev_hash = this_hash
        if hashes:
            connection.execute(
                update(events)
                .where(events.c.id == bindparam("row_id"))
                .values(prev_hash=bindparam("prev"), entry_hash=bindparam("this")),
                hashes,
            )
    return len(hashes)


def sealed_tail(connection: Connection | Session) -> tuple[int | None, str]:
    """The newest sealed event's id and hash (None and the genesis hash for an empty chain)."""
    events = cast(Table, AuditEvent.__table__)
    row = connection.execute(
        select(events.c.id, events.c.entry_hash)
        .where(events.c.entry_hash.is_not(None))
        .order_by(events.c.id.desc())
        .limit(1)
    ).first()
    return (None, GENESIS_HASH) if row is None else (row.id, row.entry_hash)
