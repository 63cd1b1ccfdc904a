"""Integration fixtures: a care store on each backend, SQLite and PostgreSQL.

`care_db_url` gives every test an empty database of its own on each backend, so a test that
uses it runs twice: ``[sqlite]`` (a temporary file) and ``[postgresql]`` (marked ``postgres``).
`care_store` gives a database already migrated to head: a copy of one migrated once per
worker (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), because running
every migration for each of several hundred tests cost minutes. The migrations themselves are
tested from empty in ``test_carestore_migrations.py``.

Which PostgreSQL server, by the environment variable ``JOINEDUP_TEST_POSTGRES``:

* unset or ``auto`` — start a throwaway server for the session from
  ``/usr/lib/postgresql/*/bin`` when PostgreSQL is installed, otherwise reuse the server on
  127.0.0.1:5432 (user ``postgres``, trust auth) if one answers;
* ``start`` — always start a throwaway server;
* ``local`` — always reuse the server on 127.0.0.1:5432;
* a URL (``postgresql://user:password@host:port/db``) — use that server; the user must be able
  to create databases.

The throwaway server runs with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off:
the same PostgreSQL (its locking, constraints and isolation are what the tests exercise), minus
the disk flushes that made creating and dropping a database per test take seconds. Its data
dies with the session anyway.

When no server can be found or started the PostgreSQL tests fail with the reason: they are
never skipped silently. ``-m "not postgres"`` deselects them on purpose.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.population.contracts import ORGANISATIONS
from joinedup.population.store import PopulationStore
from tests.carestore_support import migrated

POSTGRES_ENV = "JOINEDUP_TEST_POSTGRES"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"

OrgRow = tuple[str, str, str, str | None]  # org_code, name, org_type, parent_code

AREA_ORGANISATIONS: tuple[OrgRow, ...] = (
    ("AREA01", "Riverside Integrated Care Board", "commissioning_area", None),
    ("FED01", "Riverside GP Federation", "federation", "AREA01"),
    ("NBH01", "North Riverside Neighbourhood", "neighbourhood", "FED01"),
    ("NBH02", "South Riverside Neighbourhood", "neighbourhood", "FED01"),
    ("P81001", "Mill Lane Surgery", "practice", "NBH01"),
    ("P81002", "Canal Street Medical Centre", "practice", "NBH01"),
    ("P81003", "Orchard Health Centre", "practice", "NBH02"),
    ("HUB01", "Riverside Extended Access Hub", "hub", "FED01"),
)


# --- PostgreSQL server -------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    """A server the tests may create and drop databases on."""

    admin_url: str  # libpq URL of a maintenance database, e.g. .../postgres

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database (empty, or a copy of `template`), by default with a unique name;
        its SQLAlchemy URL."""
        name = name or f"joinedup_test_{uuid.uuid4().hex[:12]}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._admin(create)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def database(self, *, template: str | None = None) -> Iterator[str]:
        """A new database (empty, or a copy of `template`) for the `with` block, then dropped."""
        url = self.create_database(template=template)
        try:
            yield url
        finally:
            self.drop_database(url)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)


def _answers(url: str) -> str | None:
    """None if a PostgreSQL server answers at `url`, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server for this test session (see the module docstring)."""
    choice = os.environ.get(POSTGRES_ENV, "auto").strip() or "auto"
    if choice.startswith("postgres"):
        problem = _answers(choice)
        if problem:
            pytest.fail(f"{POSTGRES_ENV}={make_url(choice)!s} does not answer: {problem}")
        yield PostgresServer(choice)
    elif choice == "start" or (choice == "auto" and _installed_bindirs()):
        with _throwaway_server() as url:
            yield PostgresServer(url)
    elif choice in ("auto", "local"):
        problem = _answers(LOCAL_POSTGRES)
        if problem:
            pytest.fail(
                f"no PostgreSQL is installed to start and none answers at {LOCAL_POSTGRES}: "
                f"{problem}. Install PostgreSQL (`make test` does: apt-get install postgresql), "
                f"point {POSTGRES_ENV} at a server, or deselect with -m 'not postgres'."
            )
        yield PostgresServer(LOCAL_POSTGRES)
    else:
        pytest.fail(
            f"{POSTGRES_ENV} must be 'auto', 'start', 'local' or a postgresql:// URL: {choice!r}"
        )


def _installed_bindirs() -> list[Path]:
    """PostgreSQL's server binaries on this machine, oldest version first."""
    found = [Path(d) for d in glob.glob(POSTGRES_BIN_GLOB)]
    return sorted(
        (d for d in found if (d / "initdb").is_file() and (d / "pg_ctl").is_file()),
        key=_version_key,
    )


def _postgres_bindir() -> Path:
    candidates = _installed_bindirs()
    if not candidates:
        pytest.fail(
            "PostgreSQL tests need a server and none was reused, but there is no initdb/pg_ctl "
            f"under {POSTGRES_BIN_GLOB} to start one. Install PostgreSQL "
            "(`make test` does: apt-get install postgresql), point "
            f"{POSTGRES_ENV} at a server, or deselect with -m 'not postgres'."
        )
    return candidates[-1]


def _version_key(bindir: Path) -> tuple[int, ...]:
    version = bindir.parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit()) or (0,)


def _as_postgres_user() -> list[str]:
    """The command prefix that runs a server command as a non-root user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        pytest.fail("running as root and runuser is missing: cannot start a PostgreSQL server")
    try:
        subprocess.run(["id", "-u", "postgres"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        pytest.fail("running as root and there is no 'postgres' user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: Sequence[str], what: str, log: Path | None = None) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = log.read_text()[-2000:] if log is not None and log.is_file() else ""
        pytest.fail(
            f"could not {what} (exit {result.returncode}):\n{result.stdout}{result.stderr}{tail}"
        )


@contextmanager
def _throwaway_server() -> Iterator[str]:
    """Initialise and start a PostgreSQL server in a temporary folder; stop and remove it."""
    bindir, prefix = _postgres_bindir(), _as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="joinedup-pg-"))  # under /tmp, reachable by postgres
    data, log, port = root / "data", root / "server.log", _free_port()
    if prefix:
        shutil.chown(root, user="postgres", group="postgres")
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            "initialise a PostgreSQL data folder",
        )
        # No flushes (the data dies with the session) and room for the concurrency tests'
        # hundred clients beside the pools of the tests around them.
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        _run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            f"start PostgreSQL on port {port}",
            log,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- Care store ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def care_backend(request: pytest.FixtureRequest) -> str:
    """Which backend the test's care store is on: every test using one runs on both."""
    return str(request.param)


@pytest.fixture
def care_db_url(care_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty care-store database on each backend."""
    if care_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'care.db'}"
        return
    yield request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own, for tests about PostgreSQL alone."""
    with postgres_server.database() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head once per worker: the template
    `care_store` copies (nothing may stay connected to it, so only `upgrade` ever does)."""
    with postgres_server.database() as url:
        upgrade(url)
        yield str(make_url(url).database)


@pytest.fixture
def care_store(care_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a care store migrated to head (a copy of the worker's migrated one, made
    straight from it: no empty database first)."""
    if care_backend == "sqlite":
        yield migrated(f"sqlite:///{tmp_path / 'care.db'}")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database(template=request.getfixturevalue("migrated_postgres_template")) as url:
        yield url


@pytest.fixture
def sessions(care_store: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated care store."""
    engine = make_engine(care_store)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


# --- Population store ----------------------------------------------------------------------


def organisations_table(rows: Sequence[OrgRow]) -> pa.Table:
    """An `organisations` table for the population store from (code, name, type, parent)."""
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    data = dict(zip(("org_code", "name", "org_type", "parent_code"), columns, strict=True))
    empty = [None] * len(rows)
    return pa.table(
        {**{k: list(v) for k, v in data.items()}, "imd_decile": empty, "opened": empty},
        schema=ORGANISATIONS.arrow_schema(),
    )


@pytest.fixture
def write_organisations(tmp_path: Path) -> Callable[[Sequence[OrgRow]], PopulationStore]:
    """Write `rows` as the organisations of a population store in tmp_path; return the store."""
    store = PopulationStore(tmp_path / "population")

    def write(rows: Sequence[OrgRow]) -> PopulationStore:
        store.write(ORGANISATIONS.name, organisations_table(rows))
        return store

    return write


@pytest.fixture
def area_organisations() -> list[OrgRow]:
    """The organisations of a small area: one federation, two neighbourhoods, a hub."""
    return list(AREA_ORGANISATIONS)


@pytest.fixture
def area_store(
    write_organisations: Callable[[Sequence[OrgRow]], PopulationStore],
    area_organisations: list[OrgRow],
) -> PopulationStore:
    """A population store holding the organisations of a small area."""
    return write_organisations(area_organisations)
