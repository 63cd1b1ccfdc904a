"""Score a CSV extract: the service behind ``joinedup score SCORE INPUT.csv [-o OUT.csv]``.

An extract is a CSV file with a header row and one row per coded entry: ``person_id,code``
plus, where the score uses them, ``date`` and ``age``. Each score declares the columns it
takes in `SCORERS`. Header names are matched without regard to case or surrounding spaces;
columns the score does not use are ignored (and named in `ExtractScoringResult.ignored_columns`).

* **person_id is any text** (a number, a HES token such as ``TEST…``, a pseudonym, a UUID): it
  is written back exactly as given, less the spaces around it (leading zeros, inner spaces
  and case kept). Rows with the same text are the same person. Codes, dates and ages are read
  less the spaces around them too.
* **Structural problems stop the run** with an `ExtractError` that says what to fix: no such
  file, not a CSV text file (binary, not UTF-8, not comma-separated), no header, a header
  column with no name, a column the score uses named twice, a required column missing, an
  index date given for an extract with no ``date`` column — and an extract in which no row
  could be scored (its rejects are still written, so the reasons can be read).
* **Every row is checked**, and each row with a problem becomes a `Reject` with its row number
  (the line in the file; the header is line 1) and every reason, in words a person can act
  on: person_id empty; code empty or not a code of the score's code system; date not a real
  date (``YYYY-MM-DD`` or ``DD/MM/YYYY``), or empty when an index date is given; age not a
  whole number from 0 to 130, or different from the age given for the same person earlier; a
  row with more or fewer values than the header has columns; a value holding a line break.
  Nothing is dropped silently: every data row is either scored or rejected
  (``rows_read == rows_accepted + rows_rejected``; blank lines are counted separately).

How (ADR 0016): DuckDB reads the file with every column typed as text (so identifiers and codes
stay exactly as written) and keeps the lines it cannot split into the header's columns; the
checks are SQL over those rows, each distinct code, date and age judged once by the Python
rules in `checking`; the few rows with a problem are set aside with their reasons and the rest
kept (ADR 0038). The score's pipeline runs as SQL compiled from its Ibis pipeline
(`analytics.score_sql`) on the accepted rows — the ICD-10 scores on each person's key (a hash
of the identifier, checked to be unique), given the people and the distinct codes the checks
found (ADR 0039), eFI and CMS on each person's number — and the scores are
written with each person's identifier, in order of first appearance. With an output path
the scores are written there and the rejects beside it as ``<name>.rejects.csv`` (even when
empty, so a pipeline can rely on it).

Adding a score is one entry in `SCORERS` (`specs`). The package: `specs` (what each score
takes; `Reject`, `ExtractScoringResult`), `checking` (the file, its header and rows, in DuckDB),
`people` (the accepted rows' people: keys, ages, order), `sql` (small SQL helpers), `scoring`
(the pipeline's SQL over the accepted rows), `writing` (the rejects file); here,
`score_extract`, which runs them in turn.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinedup.analytics.extract_scoring.checking import (
    DATE_FORMATS,
    MAX_AGE,
    check_rows,
    nothing_scored,
    open_extract,
    query_count,
)
from joinedup.analytics.extract_scoring.scoring import score_people, scores_query
from joinedup.analytics.extract_scoring.specs import (
    SCORERS,
    ExtractError,
    ExtractScoringResult,
    Reject,
    ScorerSpec,
)
from joinedup.analytics.extract_scoring.writing import sql_path, write_rejects
from joinedup.import_report import rejects_path_for

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DATE_FORMATS",
    "MAX_AGE",
    "SCORERS",
    "ExtractError",
    "ExtractScoringResult",
    "Reject",
    "ScorerSpec",
    "rejects_path_for",
    "score_extract",
]


def score_extract(
    score: str,
    input_path: Path,
    output_path: Path | None = None,
    *,
    index_date: dt.date | None = None,
    keep_scores: bool = True,
    **options: Any,
) -> ExtractScoringResult:
    """Validate and score the extract at `input_path`; write the scores and rejects if asked.

    `options` go to the score's pipeline (e.g. ``weights="quan2011"`` for Charlson). With
    `keep_scores` false the scores are only written to `output_path` (no Arrow table is built).
    Raises `ExtractError` for an unknown score, a structural problem with the file, or an
    extract in which no row could be scored (after writing its rejects).
    """
    spec = SCORERS.get(score)
    if spec is None:
        raise ExtractError(f"unknown score {score!r}: choose one of {', '.join(sorted(SCORERS))}")
    path = Path(input_path)
    extract = open_extract(spec, path, index_date=index_date)
    con = _connect(arrow=keep_scores or output_path is None)
    try:
        con.execute("SET enable_progress_bar = false")  # the command prints its own summary
        checked = check_rows(con, spec, extract, index_date)
        if output_path is not None:
            output_path = Path(output_path)
            output_path.parent.mkdir(parents=True, exist_ok=True)
            write_rejects(rejects_path_for(output_path), extract.header, checked.rejects)
        if checked.rows_accepted == 0:
            raise ExtractError(nothing_scored(path, checked, output_path))
        query = scores_query(spec, extract.header, index_date, options)
        result = ExtractScoringResult(
            score=score,
            rejects=checked.rejects,
            rows_read=checked.rows_read,
            rows_accepted=checked.rows_accepted,
            blank_lines=checked.blank_lines,
            people_scored=query_count(con, "SELECT count(*) FROM people"),
            people_not_scored=checked.people_not_scored,
            ignored_columns=extract.ignored,
        )
        scored = score_people(con, spec, query, extract.header, index_date)
        # The scores are sorted: their order is kept into the table and the file (DuckDB
        # writes in parallel, unordered, without this).
        con.execute("SET preserve_insertion_order = true")
        source = f"({scored})"
        if keep_scores or output_path is None:
            con.execute(f"CREATE TABLE kept AS {scored}")  # computed once
            result.scores = con.sql("SELECT * FROM kept").fetch_arrow_table()
            source = "kept"
        if output_path is not None:
            con.execute(f"COPY {source} TO '{sql_path(output_path)}' (HEADER, DELIMITER ',')")
            result.output_path = output_path
            result.rejects_path = rejects_path_for(output_path)
    finally:
        con.close()
    return result


def _connect(*, arrow: bool) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection. Without `arrow` (scores only written to a file), from DuckDB's
    engine module `_duckdb` alone: its SQL, `execute` and `fetch*` are all a run uses, and
    the `duckdb` package around it (its relational API, Arrow sources and version lookup)
    costs ≈ 0.06 CPU-s more to import, a tenth of a 1M-row run (ADR 0040)."""
    if not arrow:
        try:
            import _duckdb
        except ImportError:  # a DuckDB that no longer ships its engine under that name
            pass
        else:
            return _duckdb.connect()
    import duckdb

    return duckdb.connect()
