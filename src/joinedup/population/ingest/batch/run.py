"""Running a batch: one at a time (a lock), read, merge, then commit every table with the
identity map in one staged write, or nothing."""

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from joinedup.population.contracts import CONTRACTS
from joinedup.population.ingest.batch.collect import Collector, RejectsWriter
from joinedup.population.ingest.batch.merge import Merger, reference_order
from joinedup.population.ingest.batch.results import (
    IDENTITY_DIR,
    INGEST_DIR,
    REJECTS_FILE,
    SUMMARY_FILE,
    VERSIONS_DIR,
    BatchResult,
    IngestAborted,
    IngestError,
)
from joinedup.population.ingest.identity import PersonMap
from joinedup.population.ingest.records import ReaderItem
from joinedup.population.store import METADATA_FILE, PopulationStore
from joinedup.settings import Settings

Progress = Callable[[str, int], None]


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
                rejects = RejectsWriter(handle)
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
    rejects: RejectsWriter,
    say: Progress,
) -> Collector:
    patients = (
        store.read("patients", ["person_id", "nhs_number"])
        if store.exists() and store.path("patients").is_file()
        else None
    )
    persons = PersonMap.load(store.root / IDENTITY_DIR, patients)
    collector = Collector(spill, persons, rejects)
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
    collector: Collector,
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
        merger = Merger(con, store, spill, collector)
        for table in reference_order():
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
    store: PopulationStore, merger: Merger, collector: Collector, result: BatchResult
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
