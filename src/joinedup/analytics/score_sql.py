"""A score's Ibis pipeline as one self-contained DuckDB SQL query.

`joinedup score` runs the project's cited score pipelines (``analytics/scores/``) on DuckDB
without importing Ibis at run time (importing it takes longer than scoring a million rows): the
pipeline is compiled to SQL here, and its in-memory lookup tables (published weights and code
mappings) are written into the query as ``VALUES``, so the text needs nothing but the input
table, ``extract_rows`` (and, for the ICD-10 scores, what the extract's checks have found
already: its people, ``extract_people``, and its distinct codes, ``extract_lexicon``; ADR
0039). ADR 0016.

* The ICD-10 scores, whose index date only chooses which rows count, are compiled ahead by
  ``scripts/compile_score_sql.py`` into ``scores/data/extract_sql/<score>.sql``; a test
  compiles them again and fails if the stored text differs, so the stored query is always the
  pipeline of the code beside it.
* Any other score or option is compiled when it is asked for (`pipeline_sql`, which imports
  Ibis then).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

INPUT_TABLE = "extract_rows"


def side_table(name: str) -> str:
    """The table given as a pipeline's side input `name` (e.g. ``people``: the people of
    `extract_rows`, one row each, for the pipelines that take them already grouped)."""
    return f"extract_{name}"


STORED = Path(__file__).with_name("scores") / "data" / "extract_sql"
_MEMTABLE_NAME = re.compile(r'"(ibis_[a-z]+_memtable_[a-z0-9]+)"')


def stored_sql(score: str) -> str:
    """The compiled query of `score` as stored beside the scores."""
    return (STORED / f"{score}.sql").read_text(encoding="utf-8")


def pipeline_sql(
    pipeline: Callable[..., Any],
    schema: Mapping[str, str],
    side_inputs: Mapping[str, Mapping[str, str]] | None = None,
    **options: Any,
) -> str:
    """`pipeline` over a table ``extract_rows`` of `schema` (Ibis type names) as DuckDB SQL;
    each of `side_inputs` (a keyword of the pipeline: its schema) over a table
    `side_table(keyword)`."""
    import ibis
    import ibis.expr.operations as ops
    from ibis.backends.sql.datatypes import DuckDBType

    for keyword, columns in (side_inputs or {}).items():
        options[keyword] = ibis.table(dict(columns), name=side_table(keyword))
    expr = pipeline(ibis.table(dict(schema), name=INPUT_TABLE), **options)
    # Each result column cast to the type the pipeline declares (DuckDB sums integers as
    # 128-bit; Ibis would cast them back when it fetched the result).
    typed = ", ".join(
        f'CAST("{name}" AS {DuckDBType.to_string(dtype)}) AS "{name}"'
        for name, dtype in expr.schema().items()
    )
    sql = f"SELECT {typed} FROM (\n{ibis.to_sql(expr, dialect='duckdb')}\n)"
    lookups = {op.name: op for op in expr.op().find(ops.InMemoryTable)}
    # Ibis names its in-memory tables at random: name them by order of use, so a compile of
    # the same pipeline always gives the same text.
    names: dict[str, str] = {}
    for found in _MEMTABLE_NAME.findall(sql):
        names.setdefault(found, f"lookup_{len(names) + 1}")
    ctes = [f'"{names[name]}" AS ({_values(lookups[name])})' for name in names]
    body = _MEMTABLE_NAME.sub(lambda m: f'"{names[m.group(1)]}"', sql)
    if not ctes:
        return body + "\n"
    return "WITH " + ",\n".join(ctes) + "\n" + body + "\n"


def _values(memtable: Any) -> str:
    """An in-memory table as a query of literal rows, each column cast to its type."""
    from ibis.backends.sql.datatypes import DuckDBType

    schema = memtable.schema
    data = memtable.data.to_pyarrow(schema)
    columns = ", ".join(
        f'CAST(col{i} AS {DuckDBType.to_string(dtype)}) AS "{name}"'
        for i, (name, dtype) in enumerate(schema.items())
    )
    rows = ["(" + ", ".join(_literal(v) for v in row.values()) + ")" for row in data.to_pylist()]
    if not rows:
        nulls = ", ".join(f"NULL AS col{i}" for i in range(len(schema)))
        return f"SELECT {columns} FROM (SELECT {nulls}) WHERE false"
    return f"SELECT {columns} FROM (VALUES {', '.join(rows)})"


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot write {type(value).__name__} as a SQL literal")
