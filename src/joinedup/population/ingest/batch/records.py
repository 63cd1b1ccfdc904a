"""The batches' records: the list, one batch's summary, its rejects."""

from __future__ import annotations

import json
from typing import Any

from joinedup.population.ingest.batch.results import SUMMARY_FILE, BatchResult, IngestError
from joinedup.population.ingest.batch.run import ingest_dir
from joinedup.settings import Settings


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
