"""What a batch is and leaves behind: where its record lives, its per-table counts and
summary (`BatchResult`), and the errors that stop one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from joinedup.errors import UserError

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
