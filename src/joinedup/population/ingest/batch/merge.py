"""Merging a batch's chunks with the store in DuckDB: within the batch the newest version
wins, against the store a row replaces the stored one only when it is newer, duplicates and
dangling references are rejected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.population.contracts import CONTRACTS, TableContract
from joinedup.population.ingest.batch.collect import Collector
from joinedup.population.ingest.batch.results import ACTIVITY_DATES, IDENTITY_DIR, VERSIONS_DIR
from joinedup.population.store import ROW_GROUP_ROWS, PopulationStore


def reference_order() -> list[str]:
    """Tables ordered so every table comes after the tables its columns refer to."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name in path:
            return
        for column in CONTRACTS[name].columns:
            if column.references:
                target = column.references.split(".")[0]
                if target != name:
                    visit(target, (*path, name))
        ordered.append(name)

    for name in CONTRACTS:
        visit(name, ())
    return ordered


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Merger:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        store: PopulationStore,
        spill: Path,
        collector: Collector,
    ) -> None:
        self.con = con
        self.store = store
        self.spill = spill
        self.collector = collector
        self.changed: set[str] = set()

    def _empty_select(self, contract: TableContract) -> str:
        columns = ", ".join(
            f"CAST(NULL AS {_DUCK[c.type]}) AS {_q(c.name)}" for c in contract.columns
        )
        return f"SELECT {columns} WHERE FALSE"

    def _versions_path(self, table: str) -> Path:
        return self.store.root / IDENTITY_DIR / VERSIONS_DIR / f"{table}.parquet"

    def merge(self, table: str) -> None:
        contract = CONTRACTS[table]
        existing = self.store.path(table)
        has_existing = existing.is_file()
        stored = f"m_{table}"
        if has_existing:
            self.con.execute(f"CREATE VIEW old_{table} AS SELECT * FROM read_parquet('{existing}')")
        else:
            self.con.execute(f"CREATE VIEW old_{table} AS {self._empty_select(contract)}")
        chunks = sorted((self.spill / table).glob("chunk-*.parquet"))
        if not chunks:
            self.con.execute(f"CREATE VIEW {stored} AS SELECT * FROM old_{table}")
            return
        counts = self.collector.counts_for(table)
        key = ", ".join(_q(k) for k in contract.primary_key)
        files = ", ".join(f"'{c}'" for c in chunks)
        self.con.execute(
            f"""CREATE TEMP TABLE ranked_{table} AS
            SELECT *, row_number() OVER (
                PARTITION BY {key} ORDER BY _version DESC NULLS LAST, _seq) AS _rank
            FROM read_parquet([{files}])"""
        )
        self._reject_duplicates(table, key)
        self._reject_dangling(table, contract)
        versions = self._versions_path(table)
        version_source = (
            f"read_parquet('{versions}')"
            if versions.is_file()
            else f"(SELECT {key}, CAST(NULL AS VARCHAR) AS _version, "
            f"CAST(NULL AS VARCHAR) AS _source_id FROM old_{table} WHERE FALSE)"
        )
        same = " AND ".join(
            f"w.{_q(c)} IS NOT DISTINCT FROM o.{_q(c)}" for c in contract.column_names
        )
        join = " AND ".join(f"w.{_q(k)} = o.{_q(k)}" for k in contract.primary_key)
        vjoin = " AND ".join(f"w.{_q(k)} = v.{_q(k)}" for k in contract.primary_key)
        self.con.execute(
            f"""CREATE TEMP TABLE classified_{table} AS
            SELECT w.*, CASE
                WHEN o.{_q(contract.primary_key[0])} IS NULL THEN 'loaded'
                WHEN {same} THEN 'unchanged'
                WHEN v._version IS NOT NULL AND w._version IS NOT NULL
                     AND w._version < v._version THEN 'older'
                ELSE 'updated' END AS _outcome
            FROM ranked_{table} w
            LEFT JOIN old_{table} o ON {join}
            LEFT JOIN {version_source} v ON {vjoin}
            WHERE w._rank = 1"""
        )
        outcomes = dict(
            self.con.execute(
                f"SELECT _outcome, count(*) FROM classified_{table} GROUP BY _outcome"
            ).fetchall()
        )
        counts.loaded += outcomes.get("loaded", 0)
        counts.updated += outcomes.get("updated", 0)
        counts.unchanged += outcomes.get("unchanged", 0)
        counts.older_than_stored += outcomes.get("older", 0)
        counts.unchanged += outcomes.get("older", 0)
        columns = ", ".join(_q(c) for c in contract.column_names)
        applied = f"(SELECT * FROM classified_{table} WHERE _outcome IN ('loaded', 'updated'))"
        okey = " AND ".join(f"a.{_q(k)} = o.{_q(k)}" for k in contract.primary_key)
        vkey = " AND ".join(f"a.{_q(k)} = v.{_q(k)}" for k in contract.primary_key)
        # The merged table: stored rows not replaced, then the new and updated rows.
        self.con.execute(
            f"""CREATE TEMP TABLE {stored} AS
            SELECT {columns} FROM old_{table} o
            WHERE NOT EXISTS (SELECT 1 FROM {applied} a WHERE {okey})
            UNION ALL SELECT {columns} FROM {applied} a"""
        )
        if outcomes.get("loaded", 0) or outcomes.get("updated", 0):
            self.changed.add(table)
            self.con.execute(
                f"""CREATE TEMP TABLE versions_{table} AS
                SELECT {key}, _version, _source_id FROM {version_source} v
                WHERE NOT EXISTS (SELECT 1 FROM {applied} a WHERE {vkey})
                UNION ALL SELECT {key}, _version, _source_id FROM {applied} a"""
            )

    def _reject_duplicates(self, table: str, key: str) -> None:
        rows = self.con.execute(
            f"""SELECT d._location, d._source_id, w._location
            FROM ranked_{table} d JOIN ranked_{table} w USING ({key})
            WHERE d._rank > 1 AND w._rank = 1"""
        ).fetchall()
        for location, source_id, kept in rows:
            self.collector.reject(
                location,
                f"{source_id or location}: the same {table} record is also at {kept}; "
                "the newest version (or the first given) is kept",
                table,
                source_id,
            )

    def _reject_dangling(self, table: str, contract: TableContract) -> None:
        for column in contract.columns:
            if not column.references:
                continue
            target, target_column = column.references.split(".")
            if target == table:
                pool = (
                    f"(SELECT {_q(target_column)} AS k FROM old_{table} UNION ALL "
                    f"SELECT {_q(target_column)} FROM ranked_{table} WHERE _rank = 1)"
                )
            else:
                pool = f"(SELECT {_q(target_column)} AS k FROM m_{target})"
            condition = (
                f"_rank = 1 AND {_q(column.name)} IS NOT NULL AND {_q(column.name)} "
                f"NOT IN (SELECT k FROM {pool} WHERE k IS NOT NULL)"
            )
            rows = self.con.execute(
                f"SELECT _location, _source_id, CAST({_q(column.name)} AS VARCHAR) "
                f"FROM ranked_{table} WHERE {condition}"
            ).fetchall()
            for location, source_id, value in rows:
                what = (
                    "is about a person with no patient record in this batch or the store"
                    if column.name == "person_id"
                    else f"{column.name} {value!r} refers to no {column.references} in this "
                    "batch or the store"
                )
                label = source_id or location
                self.collector.reject(location, f"{label}: {what}", table, source_id)
            if rows:
                self.con.execute(f"DELETE FROM ranked_{table} WHERE {condition}")

    def extract_date(self) -> dt.date | None:
        latest: dt.date | None = None
        for table, column in ACTIVITY_DATES.items():
            (value,) = self.con.execute(f"SELECT max({_q(column)}) FROM m_{table}").fetchall()[0]
            if value is not None and (latest is None or value > latest):
                latest = value
        return min(latest, dt.date.today()) if latest else None

    def write_table(self, table: str, target: Path) -> None:
        """Write the merged `table` sorted by its key, conformed to its contract's schema."""
        contract = CONTRACTS[table]
        schema = contract.arrow_schema()
        columns = ", ".join(_q(c) for c in contract.column_names)
        order = ", ".join(_q(k) for k in contract.primary_key)
        reader = self.con.sql(f"SELECT {columns} FROM m_{table} ORDER BY {order}").to_arrow_reader(
            ROW_GROUP_ROWS
        )
        with pq.ParquetWriter(target, schema, compression="zstd") as writer:
            for batch in reader:
                arrays = [batch.column(i).cast(f.type) for i, f in enumerate(schema)]
                writer.write_batch(
                    pa.RecordBatch.from_arrays(arrays, schema=schema), row_group_size=ROW_GROUP_ROWS
                )

    def write_versions(self, table: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        order = ", ".join(_q(k) for k in CONTRACTS[table].primary_key)
        # Streamed in row groups, never the whole table in memory (it has a row per record).
        reader = self.con.sql(f"SELECT * FROM versions_{table} ORDER BY {order}").to_arrow_reader(
            ROW_GROUP_ROWS
        )
        with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)


_DUCK = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "date": "DATE"}
