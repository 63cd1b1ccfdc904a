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

from joinedup.population.ingest.batch.records import (
    list_batches,
    load_batch,
    read_rejects,
)
from joinedup.population.ingest.batch.results import (
    ACTIVITY_DATES,
    CHUNK_ROWS,
    DUPLICATE_KEY_REASON,
    IDENTITY_DIR,
    INGEST_DIR,
    META_COLUMNS,
    REJECTS_FILE,
    SUMMARY_FILE,
    VERSIONS_DIR,
    BatchResult,
    IngestAborted,
    IngestError,
    TableCounts,
)
from joinedup.population.ingest.batch.run import (
    Progress,
    ingest_dir,
    new_batch_id,
    run_batch,
    store_checksums,
)

__all__ = [
    "ACTIVITY_DATES",
    "CHUNK_ROWS",
    "DUPLICATE_KEY_REASON",
    "IDENTITY_DIR",
    "INGEST_DIR",
    "META_COLUMNS",
    "REJECTS_FILE",
    "SUMMARY_FILE",
    "VERSIONS_DIR",
    "BatchResult",
    "IngestAborted",
    "IngestError",
    "Progress",
    "TableCounts",
    "ingest_dir",
    "list_batches",
    "load_batch",
    "new_batch_id",
    "read_rejects",
    "run_batch",
    "store_checksums",
]
