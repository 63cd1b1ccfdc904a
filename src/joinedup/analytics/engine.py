"""The engine seam: one Ibis connection to DuckDB (embedded default) or Spark (scale-out).

Pipelines take Ibis tables and return Ibis expressions; nothing outside this module knows which
engine runs them: the engines' names, their names for people and what differs between them
(whether a connection is closed after use) are all here, so no caller branches on an engine's
name. See docs/adr/0003-analytics-engine-seam.md.

Light to import (Ibis is imported when a connection is made), so the command line can offer the
engines' names without slowing `joinedup --help`.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from joinedup.errors import UserError

if TYPE_CHECKING:
    import ibis
    import pyarrow as pa
    from ibis.backends import BaseBackend

    from joinedup.population.store import PopulationStore

Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class EngineTraits:
    """What differs between the engines, beyond the Ibis backend itself."""

    title: str  # the engine's name for people
    #: Whether connections share one long-lived session (Spark's), which closing a connection
    #: after one job would end for everyone; a DuckDB connection is the job's own.
    shared_session: bool


TRAITS: dict[Engine, EngineTraits] = {
    "duckdb": EngineTraits("DuckDB", shared_session=False),
    "spark": EngineTraits("Apache Spark", shared_session=True),
}
ENGINES: tuple[Engine, ...] = tuple(TRAITS)
DEFAULT_ENGINE: Engine = "duckdb"


class EngineError(UserError, RuntimeError):
    """The requested engine is unknown or cannot be started here."""


def engine_named(name: str) -> Engine:
    """`name` as an engine, or `EngineError` naming the engines there are."""
    if name not in TRAITS:
        raise EngineError(f"the engine must be {' or '.join(ENGINES)}, not {name!r}")
    return cast(Engine, name)


def engine_title(name: str) -> str:
    """An engine's name for people ("DuckDB"); an unknown name (an old run's) as it is."""
    traits = TRAITS.get(cast(Engine, name))
    return traits.title if traits else name


def connect(engine: Engine = DEFAULT_ENGINE, *, spark_master: str | None = None) -> BaseBackend:
    """An Ibis backend for `engine`; Spark runs locally unless `spark_master` names a cluster."""
    import ibis  # here, not at the top: see the module docstring

    if engine_named(engine) == "spark":
        return ibis.pyspark.connect(_spark_session(spark_master))
    return ibis.duckdb.connect()


@contextmanager
def connection(engine: Engine = DEFAULT_ENGINE) -> Iterator[BaseBackend]:
    """A backend for one job, released after it unless its session is shared."""
    con = connect(engine)
    try:
        yield con
    finally:
        if not TRAITS[engine].shared_session:
            con.disconnect()


def _spark_session(master: str | None):  # type: ignore[no-untyped-def]
    _ensure_java_17()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("joinedup")
        .master(master or os.environ.get("JOINEDUP_SPARK_MASTER", "local[2]"))
        .config("spark.ui.enabled", "false")
        # Keep Spark's catalogue out of the working folder; joinedup only uses temporary views.
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="joinedup-spark-"))
        .config("spark.sql.session.timeZone", "UTC")
        # Small shuffles: local areas are millions of rows, not billions.
        .config("spark.sql.shuffle.partitions", os.environ.get("JOINEDUP_SPARK_PARTITIONS", "4"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("JOINEDUP_SPARK_DRIVER_MEMORY", "4g"))
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _ensure_java_17() -> None:
    """Spark 4.0 needs Java 17; a newer default JDK breaks it, so prefer a Java 17 install."""
    if "17" in os.environ.get("JAVA_HOME", ""):
        return
    candidates = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk*"))
    if candidates:
        os.environ["JAVA_HOME"] = candidates[0]
    elif "JAVA_HOME" not in os.environ:
        raise EngineError("Spark needs Java 17: install openjdk-17-jre-headless or set JAVA_HOME")


def read_store(
    con: BaseBackend, store: PopulationStore, tables: list[str]
) -> dict[str, ibis.Table]:
    """The named population-store tables as Ibis tables on `con`."""
    return {name: con.read_parquet(store.path(name), table_name=name) for name in tables}


def put_table(con: BaseBackend, name: str, data: pa.Table) -> ibis.Table:
    """Register an in-memory Arrow table on `con` (spec tests, small lookup tables)."""
    import ibis  # here, not at the top: see the module docstring

    # A view over an in-memory table: temporary on both engines, nothing written to disk.
    return con.create_view(name, ibis.memtable(data), overwrite=True)
