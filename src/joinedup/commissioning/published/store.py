"""Storing the tidy table (Parquet and load.json, both or neither) and reading it back once per
process, again only when the file changes."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

import pandas as pd

from joinedup.commissioning.published.reading import build_table
from joinedup.commissioning.published.sources import LoadSummary, published_dir, table_path
from joinedup.errors import UserError
from joinedup.settings import Settings


def load_published(settings: Settings, sources: list[Path]) -> LoadSummary:
    """Build the table from ``sources`` and store it (Parquet + load.json), all or nothing."""
    table, summary = build_table(sources)
    if summary.practices == 0:
        raise UserError("no practice passed validation; nothing was stored")
    target = published_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        staged_table = Path(scratch) / "practices.parquet"
        staged_summary = Path(scratch) / "load.json"
        table.to_parquet(staged_table, index=False)
        staged_summary.write_text(json.dumps(asdict(summary), indent=2))
        # The summary goes last: a reader that sees the new table also sees its summary soon
        # after, and a failure before the first replace leaves the old pair untouched.
        os.replace(staged_table, table_path(settings))
        os.replace(staged_summary, target / "load.json")
    _CACHE.clear()
    return summary


@dataclass(frozen=True)
class PublishedData:
    table: pd.DataFrame
    summary: LoadSummary
    by_code: dict[str, int]  # practice code -> row position
    #: Funnel results per (indicator, level, adjustment), filled on first use in this process.
    # Funnels worked out for this data, by indicator, level and adjustment (filled by
    # `indicators`, which sits above this module).
    funnels: dict[tuple[str, str, str], Any] = field(
        default_factory=dict, compare=False, hash=False
    )


_CACHE: dict[Path, tuple[float, PublishedData]] = {}


_LOCK = Lock()


def published_table(settings: Settings) -> PublishedData | None:
    """The stored table, cached in this process until the file's modification time changes."""
    path = table_path(settings)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _LOCK:
        cached = _CACHE.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        table = pd.read_parquet(path)
        raw = json.loads((path.parent / "load.json").read_text())
        summary = LoadSummary(**raw)
        data = PublishedData(
            table=table,
            summary=summary,
            by_code={code: i for i, code in enumerate(table.practice_code)},
        )
        _CACHE[path] = (mtime, data)
        return data


def summary_lines(summary: LoadSummary) -> list[str]:
    """The load summary as lines of text, for the CLI."""
    lines = [f"Loaded {summary.practices:,} practices."]
    for column, count in summary.with_values.items():
        lines.append(f"  {column.replace('_', ' ')}: {count:,} practices with a value")
    for name, period in summary.periods.items():
        lines.append(f"  period {name}: {period or 'no practice-level rows in the source'}")
    if summary.rejected:
        lines.append(f"Rejected or skipped {summary.rejected_total:,} rows:")
        for file, reasons in summary.rejected.items():
            for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {file}: {count:,} {reason}")
    return lines
