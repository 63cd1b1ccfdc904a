"""Small SQL helpers of extract scoring."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def query_count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row else 0


def trimmed(column: str) -> str:
    """`column` less the spaces around it; trimmed only where it has any (a trim copies every
    string, the test for a space does not)."""
    return (
        f"CASE WHEN starts_with({column}, ' ') OR ends_with({column}, ' ') THEN trim({column}) "
        f"ELSE coalesce({column}, '') END"
    )
