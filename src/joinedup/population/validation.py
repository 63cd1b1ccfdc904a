"""Validate tables against their contracts, row by row, with reasons a person can act on.

Checks are vectorised with Arrow compute so that a million-row table validates in seconds.
Structural problems (missing or unknown columns, wrong types) raise `ContractError`; row-level
problems come back as `Violation`s so callers can report every rejected record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from joinedup.errors import UserError
from joinedup.population.contracts import CONTRACTS, Column, TableContract
from joinedup.population.nhs_numbers import valid_nhs_numbers


@dataclass(frozen=True)
class Check:
    """A named rule a contract column can ask for, beyond type, range and pattern."""

    passes: Callable[[pa.ChunkedArray], pa.Array]
    reason: str


CHECKS: dict[str, Check] = {
    "nhs_number": Check(valid_nhs_numbers, "is not a valid NHS number (mod-11 check digit)"),
}


class ContractError(UserError, ValueError):
    """A table's shape does not match its contract."""


@dataclass(frozen=True)
class Violation:
    table: str
    row: int  # 0-based position in the validated table
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row + 1}: {self.column} {self.reason}"


def conform(contract: TableContract, table: pa.Table) -> pa.Table:
    """Order and cast `table`'s columns to the contract's schema, or raise ContractError.

    An optional column the table leaves out is added empty: sources that never carry it (a
    hospital extract has no names) still fit the contract.
    """
    names = set(table.column_names)
    for column in contract.columns:
        if column.nullable and column.name not in names:
            table = table.append_column(column.name, pa.nulls(table.num_rows, column.arrow_type))
    names = set(table.column_names)
    missing = [c for c in contract.column_names if c not in names]
    unknown = sorted(names - set(contract.column_names))
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns " + ", ".join(unknown))
        raise ContractError(f"table {contract.name}: " + "; ".join(parts))
    arrays = []
    for column in contract.columns:
        data = table.column(column.name)
        try:
            arrays.append(data.cast(column.arrow_type) if data.type != column.arrow_type else data)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ContractError(
                f"table {contract.name}: column {column.name} is {data.type}, "
                f"expected {column.type}"
            ) from exc
    return pa.Table.from_arrays(arrays, schema=contract.arrow_schema())


def _rows(mask: pa.ChunkedArray | pa.Array) -> list[int]:
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()


def _column_violations(
    table_name: str, column: Column, data: pa.ChunkedArray
) -> Iterable[Violation]:
    def found(mask: pa.ChunkedArray | pa.Array, reason: str) -> Iterable[Violation]:
        for row in _rows(mask):
            yield Violation(table_name, row, column.name, reason)

    if not column.nullable:
        yield from found(pc.is_null(data), "is empty but required")
    present = pc.is_valid(data)
    if column.allowed is not None:
        bad = pc.invert(pc.is_in(data, value_set=pa.array(column.allowed, data.type)))
        yield from found(pc.and_(bad, present), "is not one of " + ", ".join(column.allowed))
    if column.minimum is not None:
        yield from found(pc.less(data, column.minimum), f"is below the minimum {column.minimum:g}")
    if column.maximum is not None:
        yield from found(
            pc.greater(data, column.maximum), f"is above the maximum {column.maximum:g}"
        )
    if column.pattern is not None:
        bad = pc.invert(pc.match_substring_regex(data, column.pattern))
        yield from found(pc.and_(bad, present), f"does not match {column.pattern}")
    if column.check is not None:
        check = CHECKS[column.check]
        yield from found(pc.and_(pc.invert(check.passes(data)), present), check.reason)


def _duplicate_key_rows(contract: TableContract, table: pa.Table) -> list[int]:
    keys = table.select(list(contract.primary_key)).append_column(
        "__row", pa.array(range(table.num_rows), pa.int64())
    )
    counted = keys.group_by(list(contract.primary_key)).aggregate(
        [("__row", "min"), ("__row", "count")]
    )
    duplicated = counted.filter(pc.greater(counted["__row_count"], 1))
    if duplicated.num_rows == 0:
        return []
    first_rows = set(duplicated["__row_min"].to_pylist())
    dup_keys = duplicated.select(list(contract.primary_key))
    joined = keys.join(dup_keys, list(contract.primary_key), join_type="inner")
    return sorted(r for r in joined["__row"].to_pylist() if r not in first_rows)


def validate_table(contract: TableContract, table: pa.Table) -> list[Violation]:
    """Every row-level violation of `contract` in `table` (conformed first)."""
    table = conform(contract, table)
    violations: list[Violation] = []
    for column in contract.columns:
        violations.extend(_column_violations(contract.name, column, table.column(column.name)))
        if column.not_after is not None:  # both present and in the wrong order
            later = pc.greater(table.column(column.name), table.column(column.not_after))
            violations.extend(
                Violation(contract.name, row, column.name, f"is after {column.not_after}")
                for row in _rows(later)
            )
    key = ", ".join(contract.primary_key)
    violations.extend(
        Violation(contract.name, row, key, "repeats the key of an earlier row")
        for row in _duplicate_key_rows(contract, table)
    )
    return sorted(violations, key=lambda v: (v.row, v.column))


def reference_violations(tables: dict[str, pa.Table]) -> list[Violation]:
    """Rows whose references (e.g. person_id → patients) point at nothing in `tables`."""
    violations: list[Violation] = []
    for name, table in tables.items():
        for column in CONTRACTS[name].columns:
            if column.references is None:
                continue
            target_table, target_column = column.references.split(".")
            if target_table not in tables:
                continue
            known = pc.unique(tables[target_table].column(target_column))
            data = table.column(column.name)
            dangling = pc.and_(pc.invert(pc.is_in(data, value_set=known)), pc.is_valid(data))
            violations.extend(
                Violation(name, row, column.name, f"refers to no row of {column.references}")
                for row in _rows(dangling)
            )
    return violations
