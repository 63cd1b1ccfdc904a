"""Identity for ingest: who a record is about, and which stored row it is.

Readers do not know joinedup's keys. They put references in `SourceRow.values` and the batch
resolves them:

* `PersonRef(nhs_number, source_id)` in the ``person_id`` column: the person the row is about.
  People are linked by **NHS number** where the source gives a valid one, else by their **source
  id** (e.g. ``"Patient/abc"``, a HES patient key). The `PersonMap` keeps both links in the
  store, so re-ingesting, or a later extract that adds the NHS number, finds the same
  ``person_id``. Person ids are small sequential integers (the analytics index people densely).
* `KeyRef(table, source_id)` in any int key column (``event_id``, ``spell_id`` …): the stable
  key of that table's record with that source id. A row whose single int primary key is absent
  gets `stable_key(table, row.source_id)` — a hash, so no map of every record is held in memory
  and the same source record always gets the same key.

Identity is per source namespace: readers prefix source ids with their kind where ids from
different systems could clash (FHIR ids are ``Type/id``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup.population.nhs_numbers import is_valid

PERSONS_FILE = "persons.parquet"
PERSONS_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("nhs_number", pa.string()),
        pa.field("source_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class PersonRef:
    """The person a row is about, as the source names them."""

    nhs_number: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class KeyRef:
    """The key of another table's record, by that record's source id."""

    table: str
    source_id: str


class IdentityError(ValueError):
    """A person reference that cannot be linked (the reason is for the rejects file)."""


def stable_key(table: str, source_id: str) -> int:
    """A positive 62-bit key for `source_id` in `table`, the same on every run.

    BLAKE2b over the table and source id; with 2**62 values a clash is vanishingly unlikely
    (about 1 in 10**7 for ten million records) and the merge reports one if it happens.
    """
    digest = hashlib.blake2b(f"{table}\0{source_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 2) + 1


def clean_nhs_number(value: str | None) -> str | None:
    """Digits of an NHS number written with spaces or dashes; None when absent."""
    if value is None:
        return None
    digits = str(value).replace(" ", "").replace("-", "")
    return digits or None


class PersonMap:
    """NHS number → person and source id → person, loaded from and saved to the store."""

    def __init__(self, rows: pa.Table | None = None, first_free: int = 1) -> None:
        self.by_nhs: dict[str, int] = {}
        self.by_source: dict[str, int] = {}
        self.next_id = first_free
        self.added: list[tuple[int, str | None, str | None]] = []
        self._rows = rows
        if rows is not None:
            for pid, nhs, source in zip(
                rows["person_id"].to_pylist(),
                rows["nhs_number"].to_pylist(),
                rows["source_id"].to_pylist(),
                strict=True,
            ):
                if nhs:
                    self.by_nhs.setdefault(nhs, pid)
                if source:
                    self.by_source.setdefault(source, pid)
                self.next_id = max(self.next_id, pid + 1)

    @classmethod
    def load(cls, folder: Path, patients: pa.Table | None) -> PersonMap:
        """The map saved in `folder`, seeded from a store's patients (e.g. a generated area)."""
        path = folder / PERSONS_FILE
        if path.is_file():  # the saved map already holds every earlier link and seed
            return cls(pq.read_table(path))
        rows = None
        first_free = 1
        if patients is not None and patients.num_rows:
            seeded = pa.table(
                {
                    "person_id": patients["person_id"].cast(pa.int64()),
                    "nhs_number": patients["nhs_number"].cast(pa.string()),
                    "source_id": pa.nulls(patients.num_rows, pa.string()),
                },
                schema=PERSONS_SCHEMA,
            )
            rows = seeded if rows is None else pa.concat_tables([rows, seeded])
            first_free = int(pc.max(patients["person_id"]).as_py()) + 1
        return cls(rows, first_free)

    def resolve(self, ref: PersonRef) -> int:
        """The person_id of `ref`, linking or allocating; IdentityError when it cannot be."""
        nhs = clean_nhs_number(ref.nhs_number)
        if nhs is not None and not is_valid(nhs):
            raise IdentityError("NHS number is not valid (ten digits with a mod-11 check digit)")
        if nhs is None and not ref.source_id:
            raise IdentityError("names no person (no NHS number and no source id)")
        pid = self.by_nhs.get(nhs) if nhs else None
        if pid is None and ref.source_id:
            pid = self.by_source.get(ref.source_id)
        if pid is None:
            pid = self.next_id
            self.next_id += 1
        new_nhs = nhs is not None and nhs not in self.by_nhs
        new_source = bool(ref.source_id) and ref.source_id not in self.by_source
        if new_nhs or new_source:
            if nhs:
                self.by_nhs.setdefault(nhs, pid)
            if ref.source_id:
                self.by_source.setdefault(ref.source_id, pid)
            link_source = ref.source_id if new_source else None
            self.added.append((pid, nhs if new_nhs else None, link_source))
        return pid

    def table(self) -> pa.Table:
        """Every link, old and new, sorted, for saving with the store."""
        added = pa.table(
            {
                "person_id": [a[0] for a in self.added],
                "nhs_number": [a[1] for a in self.added],
                "source_id": [a[2] for a in self.added],
            },
            schema=PERSONS_SCHEMA,
        )
        whole = added if self._rows is None else pa.concat_tables([self._rows, added])
        return whole.sort_by(
            [("person_id", "ascending"), ("nhs_number", "ascending"), ("source_id", "ascending")]
        )
