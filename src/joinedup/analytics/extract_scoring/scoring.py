"""Scoring the accepted rows: the score's pipeline as SQL (`analytics.score_sql`) over `accepted`,
written back with each person's identifier in order of first appearance."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from joinedup.analytics.extract_scoring.specs import SCORERS, ScorerSpec
from joinedup.analytics.score_sql import INPUT_TABLE, pipeline_sql, side_table, stored_sql
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
        return pipeline_sql(spec.load_pipeline(), schema, spec.side_inputs(), **options)
    return pipeline_sql(spec.load_pipeline(), schema, index_date=index_date, **options)


def _score_name(spec: ScorerSpec) -> str:
    return next(name for name, s in SCORERS.items() if s is spec)


def score_people(
    con: duckdb.DuckDBPyConnection,
    spec: ScorerSpec,
    query: str,
    header: dict[str, int],
    index_date: dt.date | None,
) -> str:
    """The query of the score of each person, with their identifier, in order of first
    appearance.

    The ICD-10 pipelines are given each person's key (`checking.PERSON_KEY`), the people as
    grouped already (`people.count_persons`: key and greatest age) and the distinct codes as
    judged already (`checking`), so they make no pass of their own over every row to find
    them; eFI and CMS each person's number. The identifier is put back after."""
    found = {
        "person_id": "person_hash",
        "age": "oldest" if "age" in header else "NULL::BIGINT",
        "code": "given",
    }
    sources = {"people": "persons", "lexicon": "code_values WHERE problem IS NULL"}
    for keyword, columns in spec.side_inputs().items():
        con.execute(
            f"CREATE VIEW {side_table(keyword)} AS SELECT "
            f"{', '.join(f'{found[name]} AS {name}' for name in columns)} FROM {sources[keyword]}"
        )
    inputs = []
    for name in spec.input_schema(header):
        if name == "person_id":
            inputs.append(
                f"{'a.person_hash' if spec.compiled_ahead else 'p.person_key'} AS person_id"
            )
        elif name == "code":
            inputs.append(_code(spec, index_date))
        elif name in header:
            inputs.append(f"a.{name}_value AS {name}")
        else:
            inputs.append(f"NULL::{'BIGINT' if name == 'age' else 'VARCHAR'} AS {name}")
    numbered = "" if spec.compiled_ahead else "JOIN people AS p USING (person_hash)"
    con.execute(
        f"CREATE VIEW {INPUT_TABLE} AS SELECT {', '.join(inputs)} FROM accepted AS a {numbered}"
    )
    key = "person_hash" if spec.compiled_ahead else "person_key"
    # A query, not a view: the score's text (12,000 characters) is then parsed and planned
    # once, where it is run.
    return (
        f"SELECT p.identifier AS person_id, s.* EXCLUDE (person_id) "
        f"FROM ({query}) AS s JOIN people AS p ON s.person_id = p.{key} ORDER BY p.person_key"
    )


def _code(spec: ScorerSpec, index_date: dt.date | None) -> str:
    """The code as the pipeline gets it: outside the index date's window, none (the person is
    still scored, as the pipeline given the window would; ADR 0016)."""
    if not spec.compiled_ahead or index_date is None:
        return "a.code"
    window = f"a.date_value <= DATE '{index_date.isoformat()}'"
    if spec.lookback_years is not None:
        start = years_before(index_date, spec.lookback_years)
        window += f" AND a.date_value >= DATE '{start.isoformat()}'"
    return f"CASE WHEN {window} THEN a.code END AS code"
