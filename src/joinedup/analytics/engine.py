"""The engine seam: one Ibis connection to DuckDB (embedded default) or Spark (scale-out).

Pipelines take Ibis tables and return Ibis expressions; nothing outside this module knows which
engine runs them. See docs/adr/0003-analytics-engine-seam.md.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from typing import Literal

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from joinedup.errors import UserError
from joinedup.population.store import PopulationStore

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


class EngineError(UserError, RuntimeError):
    """The requested engine cannot be started here."""


def connect(engine: Engine = "duckdb", *, spark_master: str | None = None) -> BaseBackend:
    """An Ibis backend for `engine`; Spark runs locally unless `spark_master` names a cluster."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        return ibis.pyspark.connect(_spark_session(spark_master))
    raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


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
    # A view over an in-memory table: temporary on both engines, nothing written to disk.
    return con.create_view(name, ibis.memtable(data), overwrite=True)


@contextlib.contextmanager
def engine_session(engine: Engine = "duckdb") -> Iterator[BaseBackend]:
    """A connection for one piece of work, released after it: DuckDB's connection is closed,
    while Spark's session is shared by the process and outlives the work."""
    con = connect(engine)
    try:
        yield con
    finally:
        if engine == "duckdb":
            con.disconnect()
