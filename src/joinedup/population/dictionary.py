"""The data dictionary: every population-store table contract, described for people and the API.

Generated from `CONTRACTS`, so it can never disagree with validation or the stored schema.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from joinedup.population.contracts import CONTRACTS, TableContract, contract


class ColumnEntry(BaseModel):
    name: str
    type: str = Field(description="Logical type: string, int, float, bool or date.")
    description: str
    nullable: bool = Field(description="Whether the column may be empty.")
    primary_key: bool = Field(description="Whether the column is part of the table's key.")
    references: str | None = Field(None, description="The table.column this column refers to.")
    rules: list[str] = Field(description="The column's constraints in words.")


class TableEntry(BaseModel):
    name: str
    description: str
    grain: str = Field(description="What one row is, in words.")
    primary_key: list[str]
    columns: list[ColumnEntry]


def table_entry(table: TableContract | str) -> TableEntry:
    """One table's entry; a KeyError naming the known tables for an unknown name."""
    table = contract(table) if isinstance(table, str) else table
    return TableEntry(
        name=table.name,
        description=table.description,
        grain=table.grain,
        primary_key=list(table.primary_key),
        columns=[
            ColumnEntry(
                name=c.name,
                type=c.type,
                description=c.description,
                nullable=c.nullable,
                primary_key=c.name in table.primary_key,
                references=c.references,
                rules=c.rules(),
            )
            for c in table.columns
        ],
    )


def data_dictionary() -> list[TableEntry]:
    """Every table of the population store, in the order the contracts declare them."""
    return [table_entry(t) for t in CONTRACTS.values()]
