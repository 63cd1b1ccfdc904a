"""Any contract table as CSV with its documented columns (`joinedup contracts TABLE`).

`read_contract_csv(table, path)` streams the file and yields one `SourceRow` per good line,
with every value converted to its contract type, and a `Rejected` naming the line and the
column for every line it cannot convert. The columns, their types and which may be empty are
read from the table's contract (`joinedup.population.contracts`), never restated here; range,
pattern, allowed-value and reference rules are checked by the batch's validation.

Header: every required contract column must be there and nothing else (a clear message lists the
missing and the unknown columns; order does not matter); an optional column may be left out, and is
then empty on every line (so an extract with no names or addresses still loads).
Values: ``int`` whole numbers; ``float`` numbers; ``bool`` true/false, yes/no, 1/0, t/f, y/n
(any case); ``date`` YYYY-MM-DD; an empty cell is empty (None), allowed only in a column the
contract marks optional.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from joinedup.population.contracts import Column, TableContract, contract
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow

TRUE = frozenset({"true", "t", "yes", "y", "1"})
FALSE = frozenset({"false", "f", "no", "n", "0"})


class _BadValue(ValueError):
    """A cell cannot be converted to its column's type; the message says why."""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _BadValue(f"{text!r} is not a whole number") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _BadValue(f"{text!r} is not a number") from None


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise _BadValue(f"{text!r} is not true or false")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _BadValue(f"{text!r} is not a date (YYYY-MM-DD)") from None


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "date": _date,
}


def convert(column: Column, text: str) -> Any:
    """The value of one cell as its column's type; None for an empty optional cell."""
    text = text.strip()
    if text == "":
        if column.nullable:
            return None
        raise _BadValue("is empty, but the column is required")
    return CONVERTERS[column.type](text)


def header_problem(table: TableContract, header: list[str]) -> str | None:
    """Why `header` is not the table's columns (missing, unknown, repeated); None if it is."""
    expected = table.column_names
    repeated = sorted({name for name in header if header.count(name) > 1})
    missing = [c.name for c in table.columns if not c.nullable and c.name not in header]
    unknown = [name for name in header if name not in expected]
    parts = []
    if missing:
        parts.append("missing columns " + ", ".join(missing))
    if unknown:
        parts.append("unknown columns " + ", ".join(unknown))
    if repeated:
        parts.append("repeated columns " + ", ".join(repeated))
    if not parts:
        return None
    return (
        f"the header does not match the {table.name} table: {'; '.join(parts)}. "
        f"The columns are: {', '.join(expected)} (see `joinedup contracts {table.name}`)"
    )


def read_contract_csv(table: str, path: Path) -> Iterator[ReaderItem]:
    """Every line of the CSV `path` of contract table `table` as a row or a reject."""
    spec = contract(table)
    path = Path(path)
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                yield Rejected(
                    path.name,
                    f"the file is empty: it needs a header line of the "
                    f"{table} columns: {', '.join(spec.column_names)}",
                    table,
                )
                return
            problem = header_problem(spec, header)
            if problem:
                yield Rejected(f"{path.name} line 1", problem, table)
                return
            for cells in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                yield _row(spec, header, cells, f"{path.name} line {line}")
    except UnicodeDecodeError:
        yield Rejected(
            f"{path.name} line {line + 1}",
            "the file is not UTF-8 text from here on: nothing after this line was read; save "
            "it as UTF-8 and load it again",
            table,
        )
    except csv.Error as exc:
        yield Rejected(
            f"{path.name} line {line + 1}",
            f"not readable as CSV ({exc}): nothing after this line was read",
            table,
        )


def _row(spec: TableContract, header: list[str], cells: list[str], where: str) -> ReaderItem:
    if len(cells) != len(header):
        return Rejected(
            where,
            f"has {len(cells)} fields where the header has {len(header)}: a quote or comma is "
            "out of place",
            spec.name,
        )
    values: dict[str, Any] = {}
    problems = []
    for name, text in zip(header, cells, strict=True):
        try:
            values[name] = convert(spec.column(name), text)
        except _BadValue as exc:
            problems.append(f"{name} {exc}")
    if problems:
        return Rejected(where, "; ".join(problems), spec.name)
    key = "|".join(str(values[k]) for k in spec.primary_key)
    return SourceRow(spec.name, values, where, f"{spec.name}:{key}")
