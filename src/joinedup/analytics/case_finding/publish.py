"""What leaves: rows for a page (identifiable, or pseudonymised given a key) and the CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa

from joinedup.analytics.case_finding.definitions import PSEUDONYMISED_COLUMNS, list_definitions
from joinedup.analytics.case_finding.run import CaseFindingResult
from joinedup.governance.pseudonyms import pseudonyms
from joinedup.population.nhs_numbers import format_nhs_number


def pseudonymised_rows(rows: pa.Table, key: bytes) -> pa.Table:
    """`rows` with a keyed-hash pseudonym in place of person_id and no NHS number: only the
    columns of PSEUDONYMISED_COLUMNS and the lists' declared own `columns` are kept (an
    allow-list, so nothing else can slip out)."""
    names = pseudonyms(key, rows["person_id"].to_pylist())
    declared = {c.name for d in list_definitions() for c in d.columns}
    own = [c for c in rows.column_names if c in declared]
    kept = [*PSEUDONYMISED_COLUMNS[1:], *own]
    return pa.table(
        [pa.array(names, pa.string()), *(rows[c] for c in kept)],
        names=[PSEUDONYMISED_COLUMNS[0], *kept],
    )


def page_rows(
    result: CaseFindingResult, limit: int, *, pseudonym_key: bytes | None = None
) -> list[dict[str, Any]]:
    """The first `limit` people as the page shows them: identifiable (with the NHS number in
    3-3-4 groups) or, given a key, pseudonymised."""
    rows = result.rows.slice(0, limit)
    if pseudonym_key is not None:
        return pseudonymised_rows(rows, pseudonym_key).to_pylist()
    return [
        {**row, "nhs_number_display": format_nhs_number(row["nhs_number"])}
        for row in rows.to_pylist()
    ]


def export_csv(
    result: CaseFindingResult, path: Path | str, *, pseudonym_key: bytes | None = None
) -> Path:
    """Write the result's people as CSV (header first, dates as YYYY-MM-DD): ROW_COLUMNS, or
    PSEUDONYMISED_COLUMNS given a pseudonym key, then the list's own columns."""
    target = Path(path)
    target.write_text(csv_text(result, pseudonym_key=pseudonym_key), encoding="utf-8")
    return target


def csv_text(result: CaseFindingResult, *, pseudonym_key: bytes | None = None) -> str:
    """The CSV export as text (see `export_csv`)."""
    rows = result.rows
    if pseudonym_key is not None:
        rows = pseudonymised_rows(rows, pseudonym_key)
    columns = rows.column_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows.to_pylist():
        writer.writerow(["" if row[c] is None else str(row[c]) for c in columns])
    return buffer.getvalue()
