"""An ingest batch: reader items in, the population store merged all or nothing, a record out.

A batch (ADR 0008) takes the `ReaderItem`s of one reader run and

1. **resolves identity** (`identity.py`): `PersonRef` → ``person_id`` (NHS number, else source
   id, through the persistent person map), `KeyRef` and absent int keys → stable keys;
2. **validates** each row against its table contract (`population.validation`, the same rules
   as every other write) and spills the good rows, per table, to Parquet chunks in a temporary
   folder, so memory stays flat however large the input;
3. **merges** with DuckDB: within the batch the newest version of a record wins (then the
   first given); against the store a row is *loaded* (new key), *updated* (same key, different
   content, not older than the stored version), *unchanged* (same content) or left as stored
   (an older version); rows whose references (person, practice, spell) point at nothing in the
   batch or the store are rejected;
4. **commits** through `PopulationStore.staging()`: every table is rewritten or copied into a
   staging folder that replaces the store in one rename, so a crash or kill mid-batch leaves the
   store as it was. A batch that changes nothing commits nothing (the files keep their
   checksums). With ``strict``, any reject aborts the batch and nothing is committed.

Every batch leaves a record under ``JOINEDUP_HOME/ingest/<batch_id>/``: ``summary.json`` (per
table: read, loaded, updated, unchanged, rejected; unsupported things met; the store's file
checksums) and ``rejects.ndjson`` (every rejected record, where it is in the input and why).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.errors import UserError
from joinedup.population.contracts import CONTRACTS, TableContract
from joinedup.population.ingest.identity import (
    IdentityError,
    KeyRef,
    PersonMap,
    PersonRef,
    stable_key,
)
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported
from joinedup.population.store import METADATA_FILE, ROW_GROUP_ROWS, PopulationStore
from joinedup.population.unit_costs import COSTED_TABLES, reference_cost
from joinedup.population.validation import ContractError, validate_table
from joinedup.settings import Settings

INGEST_DIR = "ingest"
IDENTITY_DIR = "_ingest"  # inside the population store, committed with the tables
VERSIONS_DIR = "versions"
SUMMARY_FILE = "summary.json"
REJECTS_FILE = "rejects.ndjson"
CHUNK_ROWS = 50_000
DUPLICATE_KEY_REASON = "repeats the key of an earlier row"
META_COLUMNS = ("_seq", "_source_id", "_location", "_version")
# Activity dates that say how recent an ingested store is (its extract date).
ACTIVITY_DATES = {
    "clinical_events": "event_date",
    "medications": "issue_date",
    "gp_appointments": "appointment_date",
    "hospital_spells": "discharge_date",
    "ae_attendances": "arrival_date",
    "outpatient_appointments": "appointment_date",
    "community_contacts": "contact_date",
}

Progress = Callable[[str, int], None]


class IngestError(UserError, RuntimeError):
    """A batch cannot run (store busy, unreadable)."""


class IngestAborted(UserError, RuntimeError):
    """A strict batch met rejects and committed nothing."""

    def __init__(self, message: str, result: BatchResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class TableCounts:
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    older_than_stored: int = 0
    costed_at_reference: int = 0  # rows the source gave no cost for (population.unit_costs)


@dataclass
class BatchResult:
    batch_id: str
    status: str  # "committed" | "no changes" | "aborted"
    source: str
    strict: bool
    started_at: str
    finished_at: str = ""
    duration_seconds: float = 0.0
    tables: dict[str, TableCounts] = field(default_factory=dict)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    rejects: int = 0
    record_dir: str = ""
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def costed_at_reference(self) -> int:
        """Rows read without a cost and costed at the reference unit cost."""
        return sum(c.costed_at_reference for c in self.tables.values())

    @property
    def rejects_path(self) -> Path:
        return Path(self.record_dir) / REJECTS_FILE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejects_file"] = REJECTS_FILE
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        data = {k: v for k, v in data.items() if k != "rejects_file"}
        data["tables"] = {t: TableCounts(**c) for t, c in data.get("tables", {}).items()}
        return cls(**data)


# --- reading the batch's items into validated chunks --------------------------------------


def _coerce(value: Any, kind: str) -> Any:
    """`value` as the contract type `kind`, or ValueError with a reason in words."""
    if value is None:
        return None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValueError("is not a whole number")
    elif kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError("is not a number")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "y"):
            return True
        if text in ("false", "0", "no", "n"):
            return False
        raise ValueError("is not true or false")
    elif kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        raise ValueError("is not a date (YYYY-MM-DD)")
    raise ValueError(f"is not a {kind}")


def _loose_schema(contract: TableContract) -> pa.Schema:
    fields = [pa.field(c.name, c.arrow_type) for c in contract.columns]
    fields += [
        pa.field("_seq", pa.int64()),
        pa.field("_source_id", pa.string()),
        pa.field("_location", pa.string()),
        pa.field("_version", pa.string()),
    ]
    return pa.schema(fields)


class _RejectsWriter:
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.count = 0

    def write(self, location: str, reason: str, table: str | None, source_id: str | None) -> None:
        record = {"location": location, "table": table, "source_id": source_id, "reason": reason}
        self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1


class _Collector:
    """Resolves, checks and spills rows table by table; counts everything it sees."""

    def __init__(self, spill: Path, persons: PersonMap, rejects: _RejectsWriter) -> None:
        self.spill = spill
        self.persons = persons
        self.rejects = rejects
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.chunks: dict[str, int] = Counter()
        self.counts: dict[str, TableCounts] = {}
        self.unsupported: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self.seq = 0

    def counts_for(self, table: str) -> TableCounts:
        return self.counts.setdefault(table, TableCounts())

    def reject(self, location: str, reason: str, table: str | None, source_id: str | None) -> None:
        self.counts_for(table or "(not mapped)").rejected += 1
        self.rejects.write(location, reason, table, source_id)

    def add(self, item: ReaderItem) -> None:
        if isinstance(item, SourceRow):
            self._add_row(item)
        elif isinstance(item, Rejected):
            if item.table is not None:
                self.counts_for(item.table).read += 1
            self.reject(item.location, item.reason, item.table, None)
        elif isinstance(item, Unsupported):
            key = (item.kind, item.detail)
            self.unsupported[key] += 1
            self.examples.setdefault(key, item.location)

    def _add_row(self, row: SourceRow) -> None:
        contract = CONTRACTS.get(row.table)
        if contract is None:
            self.reject(row.location, f"names no table {row.table!r}", None, row.source_id)
            return
        self.counts_for(row.table).read += 1
        label = row.source_id or row.location
        try:
            values = self._resolve(contract, row)
        except ValueError as exc:
            self.reject(row.location, f"{label}: {exc}", row.table, row.source_id)
            return
        self.seq += 1
        values["_seq"] = self.seq
        values["_source_id"] = row.source_id
        values["_location"] = row.location
        values["_version"] = row.values.get("_version")
        buffer = self.buffers.setdefault(row.table, [])
        buffer.append(values)
        if len(buffer) >= CHUNK_ROWS:
            self.flush(row.table)

    def _resolve(self, contract: TableContract, row: SourceRow) -> dict[str, Any]:
        unknown = [k for k in row.values if k not in contract.column_index and k != "_version"]
        if unknown:
            raise ValueError(f"has columns the {contract.name} table does not: {unknown}")
        values: dict[str, Any] = {}
        for column in contract.columns:
            value = row.values.get(column.name)
            if isinstance(value, PersonRef):
                try:
                    value = self.persons.resolve(value)
                except IdentityError as exc:
                    raise ValueError(f"{column.name}: {exc}") from None
            elif isinstance(value, KeyRef):
                value = stable_key(value.table, value.source_id)
            elif (
                value is None
                and contract.primary_key == (column.name,)
                and column.type == "int"
                and row.source_id
            ):
                value = stable_key(contract.name, row.source_id)
            try:
                values[column.name] = _coerce(value, column.type)
            except ValueError as exc:
                shown = "" if column.check == "nhs_number" else f" {value!r}"
                raise ValueError(f"{column.name}{shown} {exc}") from None
        if contract.name in COSTED_TABLES and values.get("cost") is None:
            # No cost in the source: the reference unit cost, never 0 (0 would make the
            # Pareto and cost figures say the activity was free).
            values["cost"] = reference_cost(contract.name, values)
            self.counts_for(contract.name).costed_at_reference += 1
        return values

    def flush(self, table: str) -> None:
        rows = self.buffers.pop(table, [])
        if not rows:
            return
        contract = CONTRACTS[table]
        data = pa.Table.from_pylist(rows, schema=_loose_schema(contract))
        try:
            violations = validate_table(contract, data.select(contract.column_names))
        except ContractError as exc:  # cannot happen after _coerce; reject rather than crash
            violations = []
            for index in range(data.num_rows):
                self._reject_row(data, index, table, str(exc))
            return
        bad: dict[int, list[str]] = {}
        for v in violations:
            if v.reason == DUPLICATE_KEY_REASON:
                continue  # duplicates are resolved in the merge, by version, across chunks
            column = contract.column(v.column) if v.column in contract.column_index else None
            value = data.column(v.column)[v.row].as_py() if column else None
            shown = (
                ""
                if column is None or column.check == "nhs_number" or value is None
                else f" {value!r}"
            )
            bad.setdefault(v.row, []).append(f"{v.column}{shown} {v.reason}")
        for index, reasons in bad.items():
            self._reject_row(data, index, table, "; ".join(reasons))
        if bad:
            keep = pa.array([i not in bad for i in range(data.num_rows)])
            data = data.filter(keep)
        if data.num_rows:
            folder = self.spill / table
            folder.mkdir(parents=True, exist_ok=True)
            self.chunks[table] += 1
            pq.write_table(data, folder / f"chunk-{self.chunks[table]:06d}.parquet")

    def _reject_row(self, data: pa.Table, index: int, table: str, reason: str) -> None:
        source_id = data.column("_source_id")[index].as_py()
        location = data.column("_location")[index].as_py()
        self.reject(location, f"{source_id or location}: {reason}", table, source_id)

    def flush_all(self) -> None:
        for table in list(self.buffers):
            self.flush(table)


# --- merging with the store ---------------------------------------------------------------


def _reference_order() -> list[str]:
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


class _Merger:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        store: PopulationStore,
        spill: Path,
        collector: _Collector,
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


# --- the batch ------------------------------------------------------------------------------


def new_batch_id() -> str:
    """A batch id that sorts in time order (microseconds: batches can start within a second)."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


def ingest_dir(settings: Settings) -> Path:
    return settings.home / INGEST_DIR


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One batch at a time per home; the OS drops the lock if the process dies."""
    folder = ingest_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(
                f"another ingest batch is running on {settings.home}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover(store: PopulationStore) -> None:
    """Finish a commit that was killed between its two renames (the store is in .previous)."""
    previous = store.root.with_name(store.root.name + ".previous")
    if not store.root.exists() and previous.is_dir():
        previous.replace(store.root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_checksums(store: PopulationStore) -> dict[str, str]:
    """SHA-256 of each table file of the store (and the identity map)."""
    sums = {t: _sha256(store.path(t)) for t in store.tables()}
    persons = store.root / IDENTITY_DIR / "persons.parquet"
    if persons.is_file():
        sums["_ingest/persons"] = _sha256(persons)
    return sums


def run_batch(
    settings: Settings,
    items: Iterable[ReaderItem],
    *,
    source: str,
    strict: bool = False,
    progress: Progress | None = None,
) -> BatchResult:
    """Run one batch of `items` into the store of `settings`; see the module docstring.

    `source` says what was read (for the record). Raises `IngestAborted` (after writing the
    batch record) when `strict` and anything was rejected.
    """
    started = time.perf_counter()
    result = BatchResult(
        batch_id=new_batch_id(),
        status="aborted",
        source=source,
        strict=strict,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    say = progress or (lambda _phase, _done: None)
    with _lock(settings):
        store = PopulationStore(settings.population_dir)
        _recover(store)
        record = ingest_dir(settings) / result.batch_id
        partial = record.with_name(record.name + ".partial")
        partial.mkdir(parents=True)
        result.record_dir = str(record)
        spill = Path(tempfile.mkdtemp(prefix="spill-", dir=ingest_dir(settings)))
        try:
            with (partial / REJECTS_FILE).open("w", encoding="utf-8") as handle:
                rejects = _RejectsWriter(handle)
                collector = _read(store, items, spill, rejects, say)
                result.tables = collector.counts
                commit = _merge_and_commit(settings, store, spill, collector, result, strict, say)
            result.rejects = rejects.count
            result.unsupported = [
                {"kind": kind, "detail": detail, "count": n, "example": collector.examples[key]}
                for key, n in sorted(collector.unsupported.items())
                for kind, detail in [key]
            ]
            result.status = commit
        finally:
            shutil.rmtree(spill, ignore_errors=True)
            result.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            result.duration_seconds = round(time.perf_counter() - started, 3)
            if store.exists():
                result.checksums = store_checksums(store)
            (partial / SUMMARY_FILE).write_text(json.dumps(result.to_json(), indent=2))
            partial.replace(record)
    if result.status == "aborted":
        raise IngestAborted(
            f"batch {result.batch_id} rejected {result.rejects:,} record(s) and --strict is on: "
            f"nothing was loaded; see {result.rejects_path}",
            result,
        )
    return result


def _read(
    store: PopulationStore,
    items: Iterable[ReaderItem],
    spill: Path,
    rejects: _RejectsWriter,
    say: Progress,
) -> _Collector:
    patients = (
        store.read("patients", ["person_id", "nhs_number"])
        if store.exists() and store.path("patients").is_file()
        else None
    )
    persons = PersonMap.load(store.root / IDENTITY_DIR, patients)
    collector = _Collector(spill, persons, rejects)
    for done, item in enumerate(items, start=1):
        collector.add(item)
        if done % 10_000 == 0:
            say("reading", done)
    collector.flush_all()
    return collector


def _merge_and_commit(
    settings: Settings,
    store: PopulationStore,
    spill: Path,
    collector: _Collector,
    result: BatchResult,
    strict: bool,
    say: Progress,
) -> str:
    say("merging", 0)
    con = duckdb.connect()
    try:
        duck_tmp = spill / "duckdb"
        duck_tmp.mkdir()
        con.execute(f"SET temp_directory='{duck_tmp}'")
        con.execute("SET memory_limit='1GB'")
        con.execute("SET preserve_insertion_order=false")
        merger = _Merger(con, store, spill, collector)
        for table in _reference_order():
            merger.merge(table)
        if strict and collector.rejects.count:
            return "aborted"
        if not merger.changed:
            return "no changes"
        say("committing", 0)
        _commit(store, merger, collector, result)
        return "committed"
    finally:
        con.close()


def _commit(
    store: PopulationStore, merger: _Merger, collector: _Collector, result: BatchResult
) -> None:
    metadata: dict[str, Any] = store.metadata() if store.exists() else {"source": "ingest"}
    latest = merger.extract_date()
    if latest is not None:
        known = metadata.get("extract_date")
        if not known or str(known)[:10] < latest.isoformat():
            metadata["extract_date"] = latest.isoformat()
    metadata["ingest_batches"] = [*metadata.get("ingest_batches", []), result.batch_id]
    with store.staging() as staged:
        for entry in store.root.iterdir() if store.root.exists() else ():
            if entry.name in (METADATA_FILE, IDENTITY_DIR) or entry.suffix == ".parquet":
                continue
            if entry.is_dir():  # files other parts of joinedup keep beside the tables
                shutil.copytree(entry, staged.root / entry.name)
            else:
                shutil.copy2(entry, staged.root / entry.name)
        for table in CONTRACTS:
            target = staged.path(table)
            # A table with no file yet is written even when nothing of it was loaded (every row
            # rejected at the merge), so the committed store always holds every contract.
            if table in merger.changed or not store.path(table).is_file():
                merger.write_table(table, target)
            else:
                shutil.copy2(store.path(table), target)
        identity = staged.root / IDENTITY_DIR
        old_identity = store.root / IDENTITY_DIR
        if old_identity.is_dir():
            shutil.copytree(old_identity, identity)
        identity.mkdir(exist_ok=True)
        pq.write_table(collector.persons.table(), identity / "persons.parquet")
        for table in merger.changed:
            merger.write_versions(table, identity / VERSIONS_DIR / f"{table}.parquet")
        staged.write_metadata(metadata)
        _fsync_tree(staged.root)


def _fsync_tree(root: Path) -> None:
    """Flush the staged files to disk before the rename makes them the store."""
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# --- batch records --------------------------------------------------------------------------


def list_batches(settings: Settings) -> list[BatchResult]:
    """Every recorded batch of this home, newest first."""
    folder = ingest_dir(settings)
    if not folder.is_dir():
        return []
    found = []
    for summary in folder.glob(f"*/{SUMMARY_FILE}"):
        if summary.parent.name.endswith(".partial"):
            continue
        found.append(BatchResult.from_json(json.loads(summary.read_text())))
    return sorted(found, key=lambda b: b.batch_id, reverse=True)


def load_batch(settings: Settings, batch_id: str) -> BatchResult:
    summary = ingest_dir(settings) / batch_id / SUMMARY_FILE
    if not batch_id or "/" in batch_id or not summary.is_file():
        raise IngestError(f"no ingest batch {batch_id!r}; `joinedup ingest batches` lists them")
    return BatchResult.from_json(json.loads(summary.read_text()))


def read_rejects(result: BatchResult, limit: int | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    path = result.rejects_path
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows
