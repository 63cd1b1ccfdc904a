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

Appends are serialised so concurrent transactions cannot fork the chain: on PostgreSQL the
appender takes a transaction-level advisory lock before reading the chain's tail (and the
id comes from the table's sequence under that lock, so id order is chain order); on SQLite
every write transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
The tail is read with a fresh statement after the lock, which sees the last committed entry
under PostgreSQL's default READ COMMITTED isolation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

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

_SEQUENCE = "pg_get_serial_sequence('audit_events', 'id')"
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
    """Serialise appends to the chain until this transaction ends (PostgreSQL; no-op on
    SQLite, whose write transactions already hold the write lock)."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})


def next_entry_id(session: Session, tail_id: int | None) -> int:
    """The id of the entry to append, taken while the chain is locked.

    PostgreSQL: the table's own sequence (so it stays in step), never at or below the tail;
    SQLite: one after the tail, which is what its INTEGER PRIMARY KEY would choose.
    """
    if session.get_bind().dialect.name != "postgresql":
        return (tail_id or 0) + 1
    value = int(session.scalar(text(f"SELECT nextval({_SEQUENCE})")))
    if tail_id is not None and value <= tail_id:
        # Rows inserted with explicit ids (a restore, a hand-made fix) leave the sequence
        # behind: move it past the tail so the new entry still comes last in id order.
        value = int(session.scalar(text(f"SELECT setval({_SEQUENCE}, :v)"), {"v": tail_id + 1}))
    return value
