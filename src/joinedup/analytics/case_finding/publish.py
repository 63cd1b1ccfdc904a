"""What leaves: rows for a page (identifiable, or pseudonymised and k-anonymous given a key) and
the CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa

from joinedup.analytics.case_finding.definitions import PSEUDONYMISED_COLUMNS, list_definitions
from joinedup.analytics.case_finding.run import CaseFindingResult
from joinedup.governance.disclosure import DEFAULT_K, Disclosed, QuasiIdentifiers, k_anonymise
from joinedup.governance.pseudonyms import pseudonyms
from joinedup.population.nhs_numbers import format_nhs_number

#: What identifies a person in combination on a case-finding row, and how place is generalised
#: when a group is small: the practice first, then the neighbourhood.
LIST_QUASI_IDENTIFIERS = QuasiIdentifiers(
    fixed=("sex",),
    steps=(("practice_code", "practice_name"), ("neighbourhood_code", "neighbourhood_name")),
)


def pseudonymised_rows(rows: pa.Table, key: bytes, k: int = DEFAULT_K) -> pa.Table:
    """`rows` as they may leave by pseudonym (see `disclosed_rows`), as a table."""
    return _table(disclosed_rows(rows, key, k).rows, rows)


def disclosed_rows(rows: pa.Table, key: bytes, k: int = DEFAULT_K) -> Disclosed:
    """`rows` with a keyed-hash pseudonym in place of person_id and no NHS number: only the
    columns of PSEUDONYMISED_COLUMNS and the lists' declared own `columns` are kept (an
    allow-list, so nothing else can slip out), then made k-anonymous over age, sex and place
    (`joinedup.governance.disclosure`: age banded, practice or neighbourhood generalised
    where a group is small, the residue withheld)."""
    names = pseudonyms(key, rows["person_id"].to_pylist())
    columns = _pseudonymised_columns(rows)
    source = [c for c in columns if c != "pseudonym"]
    source = ["age" if c == "age_band" else c for c in source]
    plain = [
        {"pseudonym": name, **row}
        for name, row in zip(names, rows.select(source).to_pylist(), strict=True)
    ]
    disclosed = k_anonymise(plain, LIST_QUASI_IDENTIFIERS, k)
    ordered = [{c: row[c] for c in columns} for row in disclosed.rows]
    return Disclosed(ordered, disclosed.withheld, disclosed.k)


def _pseudonymised_columns(rows: pa.Table) -> list[str]:
    declared = {c.name for d in list_definitions() for c in d.columns}
    own = [c for c in rows.column_names if c in declared]
    return [*PSEUDONYMISED_COLUMNS, *own]


def _table(disclosed: list[dict[str, Any]], rows: pa.Table) -> pa.Table:
    columns = _pseudonymised_columns(rows)
    types = {
        c: (pa.string() if c in ("pseudonym", "age_band") else rows.schema.field(c).type)
        for c in columns
    }
    return pa.table({c: pa.array([r[c] for r in disclosed], types[c]) for c in columns})


def page_rows(result: CaseFindingResult, limit: int) -> list[dict[str, Any]]:
    """The first `limit` named people as the page shows them (the NHS number in 3-3-4 groups).
    A pseudonymised page shows the first rows of `disclosed_rows` instead: the CSV it offers."""
    return [
        {**row, "nhs_number_display": format_nhs_number(row["nhs_number"])}
        for row in result.rows.slice(0, limit).to_pylist()
    ]


def export_csv(
    result: CaseFindingResult,
    path: Path | str,
    *,
    pseudonym_key: bytes | None = None,
    k: int = DEFAULT_K,
) -> Path:
    """Write the result's people as CSV (header first, dates as YYYY-MM-DD): ROW_COLUMNS, or
    PSEUDONYMISED_COLUMNS given a pseudonym key (k-anonymous), then the list's own columns."""
    target = Path(path)
    text = csv_text(result, pseudonym_key=pseudonym_key, k=k)
    target.write_text(text, encoding="utf-8")
    return target


def csv_text(
    result: CaseFindingResult, *, pseudonym_key: bytes | None = None, k: int = DEFAULT_K
) -> str:
    """The CSV export as text (see `export_csv`)."""
    return published_csv(result, pseudonym_key=pseudonym_key, k=k)[0]


def published_csv(
    result: CaseFindingResult, *, pseudonym_key: bytes | None = None, k: int = DEFAULT_K
) -> tuple[str, int]:
    """The CSV export as text, and how many people were withheld from it (always 0 when
    identifiable; otherwise those still in a group smaller than k after generalisation)."""
    if pseudonym_key is None:
        rows, columns, withheld = result.rows.to_pylist(), result.rows.column_names, 0
    else:
        disclosed = disclosed_rows(result.rows, pseudonym_key, k)
        rows, withheld = disclosed.rows, disclosed.withheld
        columns = _pseudonymised_columns(result.rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else str(row[c]) for c in columns])
    return buffer.getvalue(), withheld
