"""Reading a batch's items into validated chunks: identity resolved, each row coerced and
checked against its table contract, good rows spilled per table to Parquet, every reject
written with its reason."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.population.contracts import CONTRACTS, TableContract
from joinedup.population.ingest.batch.results import CHUNK_ROWS, DUPLICATE_KEY_REASON, TableCounts
from joinedup.population.ingest.identity import (
    IdentityError,
    KeyRef,
    PersonMap,
    PersonRef,
    stable_key,
)
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported
from joinedup.population.unit_costs import COSTED_TABLES, reference_cost
from joinedup.population.validation import ContractError, validate_table


def _coerce(value: Any, kind: str) -> Any:
    """`value` as the contract type `kind`, or ValueError with a reason in words."""
    if value is None:
        return None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValueError("is not a whole number")
    elif kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError("is not a number")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "y"):
            return True
        if text in ("false", "0", "no", "n"):
            return False
        raise ValueError("is not true or false")
    elif kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        raise ValueError("is not a date (YYYY-MM-DD)")
    raise ValueError(f"is not a {kind}")


def _loose_schema(contract: TableContract) -> pa.Schema:
    fields = [pa.field(c.name, c.arrow_type) for c in contract.columns]
    fields += [
        pa.field("_seq", pa.int64()),
        pa.field("_source_id", pa.string()),
        pa.field("_location", pa.string()),
        pa.field("_version", pa.string()),
    ]
    return pa.schema(fields)


class RejectsWriter:
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.count = 0

    def write(self, location: str, reason: str, table: str | None, source_id: str | None) -> None:
        record = {"location": location, "table": table, "source_id": source_id, "reason": reason}
        self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1


class Collector:
    """Resolves, checks and spills rows table by table; counts everything it sees."""

    def __init__(self, spill: Path, persons: PersonMap, rejects: RejectsWriter) -> None:
        self.spill = spill
        self.persons = persons
        self.rejects = rejects
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.chunks: dict[str, int] = Counter()
        self.counts: dict[str, TableCounts] = {}
        self.unsupported: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self.seq = 0

    def counts_for(self, table: str) -> TableCounts:
        return self.counts.setdefault(table, TableCounts())

    def reject(self, location: str, reason: str, table: str | None, source_id: str | None) -> None:
        self.counts_for(table or "(not mapped)").rejected += 1
        self.rejects.write(location, reason, table, source_id)

    def add(self, item: ReaderItem) -> None:
        if isinstance(item, SourceRow):
            self._add_row(item)
        elif isinstance(item, Rejected):
            if item.table is not None:
                self.counts_for(item.table).read += 1
            self.reject(item.location, item.reason, item.table, None)
        elif isinstance(item, Unsupported):
            key = (item.kind, item.detail)
            self.unsupported[key] += 1
            self.examples.setdefault(key, item.location)

    def _add_row(self, row: SourceRow) -> None:
        contract = CONTRACTS.get(row.table)
        if contract is None:
            self.reject(row.location, f"names no table {row.table!r}", None, row.source_id)
            return
        self.counts_for(row.table).read += 1
        label = row.source_id or row.location
        try:
            values = self._resolve(contract, row)
        except ValueError as exc:
            self.reject(row.location, f"{label}: {exc}", row.table, row.source_id)
            return
        self.seq += 1
        values["_seq"] = self.seq
        values["_source_id"] = row.source_id
        values["_location"] = row.location
        values["_version"] = row.values.get("_version")
        buffer = self.buffers.setdefault(row.table, [])
        buffer.append(values)
        if len(buffer) >= CHUNK_ROWS:
            self.flush(row.table)

    def _resolve(self, contract: TableContract, row: SourceRow) -> dict[str, Any]:
        unknown = [k for k in row.values if k not in contract.column_index and k != "_version"]
        if unknown:
            raise ValueError(f"has columns the {contract.name} table does not: {unknown}")
        values: dict[str, Any] = {}
        for column in contract.columns:
            value = row.values.get(column.name)
            if isinstance(value, PersonRef):
                try:
                    value = self.persons.resolve(value)
                except IdentityError as exc:
                    raise ValueError(f"{column.name}: {exc}") from None
            elif isinstance(value, KeyRef):
                value = stable_key(value.table, value.source_id)
            elif (
                value is None
                and contract.primary_key == (column.name,)
                and column.type == "int"
                and row.source_id
            ):
                value = stable_key(contract.name, row.source_id)
            try:
                values[column.name] = _coerce(value, column.type)
            except ValueError as exc:
                shown = "" if column.check == "nhs_number" else f" {value!r}"
                raise ValueError(f"{column.name}{shown} {exc}") from None
        if contract.name in COSTED_TABLES and values.get("cost") is None:
            # No cost in the source: the reference unit cost, never 0 (0 would make the
            # Pareto and cost figures say the activity was free).
            values["cost"] = reference_cost(contract.name, values)
            self.counts_for(contract.name).costed_at_reference += 1
        return values

    def flush(self, table: str) -> None:
        rows = self.buffers.pop(table, [])
        if not rows:
            return
        contract = CONTRACTS[table]
        data = pa.Table.from_pylist(rows, schema=_loose_schema(contract))
        try:
            violations = validate_table(contract, data.select(contract.column_names))
        except ContractError as exc:  # cannot happen after _coerce; reject rather than crash
            violations = []
            for index in range(data.num_rows):
                self._reject_row(data, index, table, str(exc))
            return
        bad: dict[int, list[str]] = {}
        for v in violations:
            if v.reason == DUPLICATE_KEY_REASON:
                continue  # duplicates are resolved in the merge, by version, across chunks
            column = contract.column(v.column) if v.column in contract.column_index else None
            value = data.column(v.column)[v.row].as_py() if column else None
            shown = (
                ""
                if column is None or column.check == "nhs_number" or value is None
                else f" {value.isoformat()}"
                if isinstance(value, dt.date)
                else f" {value!r}"
            )
            bad.setdefault(v.row, []).append(f"{v.column}{shown} {v.reason}")
        for index, reasons in bad.items():
            self._reject_row(data, index, table, "; ".join(reasons))
        if bad:
            keep = pa.array([i not in bad for i in range(data.num_rows)])
            data = data.filter(keep)
        if data.num_rows:
            folder = self.spill / table
            folder.mkdir(parents=True, exist_ok=True)
            self.chunks[table] += 1
            pq.write_table(data, folder / f"chunk-{self.chunks[table]:06d}.parquet")

    def _reject_row(self, data: pa.Table, index: int, table: str, reason: str) -> None:
        source_id = data.column("_source_id")[index].as_py()
        location = data.column("_location")[index].as_py()
        self.reject(location, f"{source_id or location}: {reason}", table, source_id)

    def flush_all(self) -> None:
        for table in list(self.buffers):
            self.flush(table)
