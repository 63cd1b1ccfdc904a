"""Scoring the accepted rows: the score's pipeline as SQL (`analytics.score_sql`) over `judged`,
written back with each person's identifier in order of first appearance."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from joinedup.analytics.extract_scoring.checking import query_count
from joinedup.analytics.extract_scoring.specs import SCORERS, ScorerSpec
from joinedup.analytics.score_sql import INPUT_TABLE, pipeline_sql, stored_sql
from joinedup.dates import years_before

if TYPE_CHECKING:
    import duckdb


def scores_query(
    spec: ScorerSpec, header: dict[str, int], index_date: dt.date | None, options: dict[str, Any]
) -> str:
    schema = spec.input_schema(header)
    if spec.compiled_ahead and not options:
        return stored_sql(_score_name(spec))
    if spec.compiled_ahead:
        return pipeline_sql(spec.load_pipeline(), schema, **options)
    return pipeline_sql(spec.load_pipeline(), schema, index_date=index_date, **options)


def _score_name(spec: ScorerSpec) -> str:
    return next(name for name, s in SCORERS.items() if s is spec)


def score_people(
    con: duckdb.DuckDBPyConnection,
    spec: ScorerSpec,
    query: str,
    header: dict[str, int],
    index_date: dt.date | None,
) -> None:
    """`scored`: the score of each person, with their identifier, in order of first appearance.

    The ICD-10 pipelines group by the identifier as given; eFI and CMS read person_id as an
    integer, so they get each person's number and the identifier is put back after."""
    by_text = spec.input_schema(header)["person_id"] == "string"
    # Grouped by each identifier's 64-bit hash rather than its text (far less to hash and
    # compare), when no two people share a hash (checked; else by the text).
    by_hash = by_text and not query_count(
        con, "SELECT count(*) - count(DISTINCT person_hash) FROM people"
    )
    inputs = []
    for name in spec.input_schema(header):
        if name == "person_id":
            if by_text:
                inputs.append(f"j.person{'_hash' if by_hash else ''} AS person_id")
            else:
                inputs.append("p.person_key AS person_id")
        elif name == "code":
            inputs.append(_code(spec, index_date))
        elif name in header:
            inputs.append(f"j.{name}_value AS {name}")
        else:
            inputs.append(f"NULL::{'BIGINT' if name == 'age' else 'VARCHAR'} AS {name}")
    numbered = "" if by_text else "JOIN people AS p ON j.person = p.identifier "
    con.execute(
        f"CREATE VIEW {INPUT_TABLE} AS SELECT {', '.join(inputs)} FROM judged AS j "
        f"{numbered}WHERE j.reason IS NULL"
    )
    key = "identifier" if by_text else "person_key"
    person = "CAST(s.person_id AS UBIGINT)" if by_hash else "s.person_id"
    con.execute(
        f"CREATE VIEW scored AS SELECT p.identifier AS person_id, s.* EXCLUDE (person_id) "
        f"FROM ({query}) AS s JOIN people AS p ON {person} = p.{'person_hash' if by_hash else key} "
        "ORDER BY p.person_key"
    )


def _code(spec: ScorerSpec, index_date: dt.date | None) -> str:
    """The code as the pipeline gets it: outside the index date's window, none (the person is
    still scored, as the pipeline given the window would; ADR 0016)."""
    if not spec.compiled_ahead or index_date is None:
        return "j.code_value AS code"
    window = f"j.date_value <= DATE '{index_date.isoformat()}'"
    if spec.lookback_years is not None:
        start = years_before(index_date, spec.lookback_years)
        window += f" AND j.date_value >= DATE '{start.isoformat()}'"
    return f"CASE WHEN {window} THEN j.code_value END AS code"
