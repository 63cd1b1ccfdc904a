"""The population store: one Parquet file per contract table in a folder, plus area metadata.

Writes are all-or-nothing: a whole area is written into a staging folder that replaces the
store only when every table has been written, so a failure leaves the previous store intact.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.errors import UserError
from joinedup.json_files import forget, read_json
from joinedup.population.contracts import CONTRACTS, contract
from joinedup.population.validation import conform

METADATA_FILE = "area.json"


class StoreError(UserError, RuntimeError):
    """The population store is missing or cannot be written."""


ROW_GROUP_ROWS = 65_536


class PopulationStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, table: str) -> Path:
        contract(table)  # a clear error for an unknown table name
        return self.root / f"{table}.parquet"

    def exists(self) -> bool:
        return (self.root / METADATA_FILE).is_file()

    def tables(self) -> list[str]:
        return [name for name in CONTRACTS if self.path(name).is_file()]

    def write(self, table: str, data: pa.Table) -> None:
        """Write one table, conformed to its contract (column order and types)."""
        self.root.mkdir(parents=True, exist_ok=True)
        conformed = conform(contract(table), data)
        target = self.path(table)
        partial = target.with_suffix(".parquet.partial")
        # Row groups of 64k rows (not pyarrow's ~1M): a one-person read (the person page) skips
        # every group whose person_id range misses, so it decodes a sliver, not whole tables;
        # whole-table scans are no slower.
        pq.write_table(conformed, partial, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        partial.replace(target)

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        path = self.path(table)
        if not path.is_file():
            raise StoreError(
                f"the population store at {self.root} has no {table} table; "
                "run `joinedup generate` or `joinedup ingest` first"
            )
        return pq.read_table(path, columns=columns)

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
        forget(self.root / METADATA_FILE)

    def metadata(self) -> dict[str, Any]:
        """The area's metadata (`area.json`), parsed once per version of the file: every page
        reads it. A shallow copy: nested values are shared, so read them only."""
        try:
            return read_json(self.root / METADATA_FILE)
        except FileNotFoundError:
            raise StoreError(
                f"no population store at {self.root}; run `joinedup generate` first"
            ) from None

    @contextmanager
    def staging(self) -> Iterator[PopulationStore]:
        """A store to write a whole area into; it replaces this one only on success."""
        staging = self.root.with_name(self.root.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise StoreError(
                f"cannot write the population store at {self.root}: {exc.strerror}"
            ) from exc
        try:
            yield PopulationStore(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous = self.root.with_name(self.root.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if self.root.exists():
            self.root.replace(previous)
        staging.replace(self.root)
        shutil.rmtree(previous, ignore_errors=True)
