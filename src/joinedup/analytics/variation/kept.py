"""Practice-variation inputs worked out once per version of the population store, kept on disk.

Working out who each indicator counts takes seconds per year end at 300,000 people (the
long-term-condition and eFI pipelines, and continuity over millions of GP appointments), and
a practice page shows five year ends. Those inputs depend only on the population store, so
they are computed once per store version and kept as Parquet under
``JOINEDUP_HOME/cache/variation/<fingerprint>/``:

* ``people_<year end>.parquet``: `people.indicator_people` (one row per registered person);
* ``cells_<year end>.parquet``: `people.indicator_cells` of everyone (one row per practice and
  stratum: people and events of every standardised indicator);
* ``continuity_<year end>.parquet``: `continuity.patient_rows` (one row per patient and
  practice);
* ``figures_<year end>_<objectors>.json``: the year's counts per practice with the objectors
  then in force left out (small; kept only for the latest set of objectors, named by a hash
  of it), so the first view after a restart reads rather than works out.

The first three **include objectors**: objectors are left out when the figures are worked
out, from the objections in force then (their own cells are taken from the area's), so those
files never go stale when someone objects. The fingerprint hashes the store's metadata file
and the size and modification time of every table read, so a regenerated or reloaded store
gets a new folder (older folders are removed). Files are written to a partial name and
renamed, so a reader never sees half a file. If the home cannot be written, the inputs are
worked out again when next asked for.

`prepare` works out every year end at once (for a step after a store is written: generate,
ingest or stratify); otherwise each year end is worked out the first time it is asked for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup.analytics import continuity
from joinedup.analytics.engine import connection, read_store
from joinedup.analytics.variation.people import (
    TABLES,
    indicator_cells,
    indicator_people,
    with_strata,
)
from joinedup.population.store import METADATA_FILE, PopulationStore

#: Population-store tables the kept inputs are worked out from.
SOURCE_TABLES: tuple[str, ...] = (
    "patients",
    "registrations",
    "clinical_events",
    "medications",
    "hospital_spells",
    "ae_attendances",
    "outpatient_appointments",
    "gp_appointments",
)
FORMAT = "2"  # bump when what is kept changes, so older files are not read

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def fingerprint(store: PopulationStore) -> str:
    """A short hash naming this version of the store (metadata, and each table's size and
    modification time)."""
    digest = hashlib.sha256(FORMAT.encode())
    meta = store.root / METADATA_FILE
    digest.update(meta.read_bytes() if meta.is_file() else b"")
    for table in SOURCE_TABLES:
        path = store.path(table)
        if path.is_file():
            stat = path.stat()
            digest.update(f"{table}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_root(store: PopulationStore) -> Path:
    """``JOINEDUP_HOME/cache/variation`` for a store at ``JOINEDUP_HOME/population``."""
    return store.root.parent / "cache" / "variation"


def folder(store: PopulationStore) -> Path:
    return cache_root(store) / fingerprint(store)


def forget(store: PopulationStore) -> None:
    """Delete every kept input of this store (the next view works them out again)."""
    shutil.rmtree(cache_root(store), ignore_errors=True)


def people(store: PopulationStore, year_end: dt.date) -> pa.Table:
    """`indicator_people` at `year_end`, from disk, worked out and kept the first time."""
    return _kept(store, f"people_{year_end.isoformat()}", lambda: _work_out_people(store, year_end))


def cells(store: PopulationStore, year_end: dt.date) -> pa.Table:
    """`people.indicator_cells` of everyone at `year_end` (small: one row per practice and
    stratum), from disk, worked out and kept the first time."""
    return _kept(store, f"cells_{year_end.isoformat()}", lambda: _work_out_cells(store, year_end))


def people_among(store: PopulationStore, year_end: dt.date, ids: Iterable[int]) -> pa.Table:
    """The rows of `people` at `year_end` of the people `ids` (objectors, to take out)."""
    table = people(store, year_end)
    wanted = pa.array(sorted(set(ids)), pa.int64())
    return table.filter(pc.is_in(table["person_id"], value_set=wanted))


def continuity_rows(store: PopulationStore, year_end: dt.date) -> pa.Table:
    """`continuity.patient_rows` at `year_end`, from disk, worked out and kept the first time."""
    return _kept(
        store,
        f"continuity_{year_end.isoformat()}",
        lambda: continuity.patient_rows(store, as_of=year_end),
    )


def for_objectors(
    store: PopulationStore,
    year_end: dt.date,
    objectors: frozenset[int],
    work_out: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """A year's figures with `objectors` left out (a JSON document), kept for the latest set
    of objectors only: when the objections in force change, they are worked out again."""
    digest = hashlib.sha256(",".join(map(str, sorted(objectors))).encode()).hexdigest()[:16]
    where = folder(store)
    path = where / f"figures_{year_end.isoformat()}_{digest}.json"
    with _lock(str(path)):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        found = work_out()
        try:
            where.mkdir(parents=True, exist_ok=True)
            for older in where.glob(f"figures_{year_end.isoformat()}_*.json"):
                older.unlink(missing_ok=True)
            partial = path.with_suffix(".json.partial")
            partial.write_text(json.dumps(found), encoding="utf-8")
            partial.replace(path)
        except OSError:
            pass  # a read-only home: worked out again next time
        return found


def prepare(store: PopulationStore, year_ends: list[dt.date]) -> Path:
    """Work out and keep every input for `year_ends` now; returns the folder."""
    for year_end in year_ends:
        cells(store, year_end)
        continuity_rows(store, year_end)
    return folder(store)


def _work_out_people(store: PopulationStore, year_end: dt.date) -> pa.Table:
    with connection("duckdb") as con:
        tables = read_store(con, store, list(TABLES))
        return con.to_pyarrow(indicator_people(tables, year_end))


def _work_out_cells(store: PopulationStore, year_end: dt.date) -> pa.Table:
    everyone = with_strata(people(store, year_end).to_pandas())
    return pa.Table.from_pandas(indicator_cells(everyone), preserve_index=False)


def _lock(name: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(name, threading.Lock())


def _kept(store: PopulationStore, name: str, work_out: Callable[[], pa.Table]) -> pa.Table:
    """The kept table `name` of this store version; worked out once (one thread at a time)."""
    where = folder(store)
    path = where / f"{name}.parquet"
    with _lock(str(path)):
        if path.is_file():
            return pq.read_table(path)
        table = work_out()
        _keep(store, where, path, table)
        return table


def _keep(store: PopulationStore, where: Path, path: Path, table: pa.Table) -> None:
    try:
        where.mkdir(parents=True, exist_ok=True)
        for older in cache_root(store).iterdir():
            if older != where:
                shutil.rmtree(older, ignore_errors=True)
        partial = path.with_suffix(".parquet.partial")
        pq.write_table(table, partial, compression="zstd")
        partial.replace(path)
    except OSError:
        return  # a read-only home: the figures are still right, only worked out again later


_CACHE: dict[tuple[str, str, dt.date], pd.DataFrame] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_ENTRIES = 2  # whole-area tables are large: the latest year end and one more


def load_people(store: PopulationStore, index_date: dt.date) -> pd.DataFrame:
    """`indicator_people` at `index_date` with strata, as pandas (kept on disk per store
    version, and the latest tables in memory)."""
    key = (str(store.root), fingerprint(store), index_date)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    frame = with_strata(people(store, index_date).to_pandas())
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = frame
    return frame
