"""Engines, sessions and the shared declarative `Base` of the care store.

The care store runs on SQLite (the embedded default) or PostgreSQL (production) from the same
code. Everything backend-specific lives here:

* `make_engine` turns a URL from the environment into an engine with the right settings:
  SQLite gets foreign keys, WAL, a busy timeout and real transactions (SQLAlchemy's pysqlite
  recipe, so DDL and SAVEPOINTs are transactional); PostgreSQL uses psycopg 3.
* `Base` carries a naming convention for every constraint and index, so Alembic migrations
  name things the same way on both backends and can drop or alter them later.
* `UTCDateTime` and `JSONDocument` are the column types to use for instants and JSON.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, Connection, DateTime, Dialect, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator, TypeEngine

SQLITE_BUSY_TIMEOUT_MS = 15_000
POSTGRES_DRIVER = "postgresql+psycopg"

# Execution option a write transaction sets so that SQLite takes the write lock at BEGIN
# (BEGIN IMMEDIATE) instead of failing with "database is locked" when it upgrades a read lock.
WRITE_TRANSACTION = "joinedup_write"

# Names for every index and constraint. PostgreSQL truncates names at 63 characters and SQLite
# does not, so keep table and column names short enough (a test checks) or name explicitly.
POSTGRES_MAX_NAME = 63
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant, stored as UTC and always read back as a timezone-aware UTC datetime.

    Naive datetimes are refused: an instant without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give instants with a timezone (UTC)")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument: TypeEngine[Any] = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """The one declarative base of the care store; every domain's models subclass it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str | URL) -> URL:
    """The URL with PostgreSQL mapped to psycopg 3 (`postgres://` and `postgresql://`)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def make_engine(url: str | URL, *, connect_timeout: int = 10, echo: bool = False) -> Engine:
    """An engine for the care store at `url` (SQLite or PostgreSQL).

    A SQLite file's folder is created if missing, so the embedded default works at once.
    `connect_timeout` (seconds) bounds how long a PostgreSQL connection attempt may take.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    if backend == "postgresql":
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"connect_timeout": connect_timeout, "application_name": "joinedup"},
        )
        _ping_when_idle(engine)
        return engine
    raise ValueError(f"unsupported care store database {backend!r}: use SQLite or PostgreSQL")


#: A pooled PostgreSQL connection idle longer than this is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "joinedup_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has been idle a while, so that one
    broken while idle (a database restart, a dropped network) is replaced unseen.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip to the server for each
    session, 18 of them on a person page (issue 14: 15% of the page's time). A connection
    handed back less than `PING_AFTER_IDLE_SECONDS` ago worked then; if the database restarted
    since, the statement fails as a disconnect, SQLAlchemy discards every older connection in
    the pool and the request gets the retry page (`joinedup.web.app`), as any request in
    flight during a restart does.
    """

    @event.listens_for(engine, "checkin")
    def _handed_back(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_SECONDS:
            return  # new (just connected) or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError() from exc  # the pool connects afresh and retries
            raise


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit (no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


#: The reading sessions made for each session factory (`reading`), made once.
_READING: WeakKeyDictionary[sessionmaker[Session], sessionmaker[Session]] = WeakKeyDictionary()


class ReadOnlySession(Exception):
    """Something tried to write through a reading session (`reading`): a bug, not a user error."""


def reading(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on the same care store as `sessions`, for code that only reads.

    On PostgreSQL each statement runs on its own (autocommit), so a read is one round trip to
    the server, not three: psycopg begins a transaction with a BEGIN of its own before the
    first statement and the session ends it with a ROLLBACK. A person page's reads were a
    third of its statements' round trips in BEGIN and ROLLBACK (issue 14). What the reads see
    is unchanged: under READ COMMITTED (PostgreSQL's default, and ours) each statement sees
    the data committed when it starts, inside a transaction or not. A write through one is
    refused at flush (`ReadOnlySession`): writes keep their unit of work. On SQLite (a file
    in the process, no round trips) these are `sessions` themselves.
    """
    found = _READING.get(sessions)
    if found is not None:
        return found
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        return sessions
    found = sessionmaker(
        bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
    event.listen(found, "before_flush", _refuse_writes)
    _READING[sessions] = found
    return found


def _refuse_writes(session: Session, *_: Any) -> None:
    raise ReadOnlySession("a reading session (carestore.db.reading) cannot write")


def backend_name(url: str | URL) -> str:
    """`sqlite` or `postgresql`: the backend a URL points at."""
    return normalise_url(url).get_backend_name()


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database or another backend."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module (it would COMMIT before DDL and
    # break SAVEPOINTs); `_sqlite_on_begin` emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_TRANSACTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
