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
rules below. The score's pipeline runs as SQL compiled from its Ibis pipeline
(`analytics.score_sql`) on the accepted rows — the ICD-10 scores on the identifiers as given,
eFI and CMS (which read person_id as an integer) on each person's number — and the scores are
written with each person's identifier, in order of first appearance. With an output path
the scores are written there and the rejects beside it as ``<name>.rejects.csv`` (even when
empty, so a pipeline can rely on it).

Adding a score is one entry in `SCORERS`.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinedup.analytics.score_sql import INPUT_TABLE, pipeline_sql, stored_sql
from joinedup.dates import years_before
from joinedup.errors import UserError
from joinedup.import_report import rejects_path_for
from joinedup.terminology.icd10 import icd10_code_problem

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

MAX_AGE = 130
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UK_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")

_SQL_TYPES = {"person_id": "int64", "code": "string", "date": "date", "age": "int64"}


class ExtractError(UserError, ValueError):
    """The extract cannot be scored as it is (a structural problem): the message says what to
    fix."""


def _snomed_code_problem(code: str) -> str | None:
    # Imported when a SNOMED score is asked for: the ICD-10 path stays light.
    from joinedup.terminology.codelists import snomed_code_problem

    return snomed_code_problem(code)


@dataclass(frozen=True)
class ScorerSpec:
    """How to score an extract: the pipeline and the columns it takes."""

    pipeline: str  # "module:function", imported only when the pipeline has to be compiled
    title: str
    required: tuple[str, ...] = ("person_id", "code")
    optional: tuple[str, ...] = ("date",)
    # Why a code cannot be used (None when it can): ICD-10 unless the score says otherwise.
    code_problem: Callable[[str], str | None] = icd10_code_problem
    # The ICD-10 scores: the index date only chooses the rows that count (on or before it and,
    # with a look-back, on or after the same day that many years earlier), so the pipeline is
    # compiled ahead (`analytics.score_sql`) and rows outside the window reach it without a
    # code. Other scores are compiled with the index date when they are asked for.
    compiled_ahead: bool = False
    lookback_years: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def load_pipeline(self) -> Callable[..., Any]:
        module, name = self.pipeline.split(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]

    def input_schema(self, header: Iterable[str]) -> dict[str, str]:
        """The columns the pipeline is given, with their Ibis types."""
        if self.compiled_ahead:  # no date (the window is applied first); age always, if taken
            names = [n for n in self.columns if n != "date"]
            # The ICD-10 pipelines only group and join on person_id: it stays text.
            return {name: _SQL_TYPES[name] for name in names} | {"person_id": "string"}
        names = [n for n in self.columns if n in set(header)]
        return {name: _SQL_TYPES[name] for name in names}


SCORERS: dict[str, ScorerSpec] = {
    "hfrs": ScorerSpec(
        "joinedup.analytics.scores.hfrs:hfrs_scores",
        "Hospital Frailty Risk Score (ICD-10)",
        compiled_ahead=True,
        lookback_years=2,  # hfrs.LOOKBACK_YEARS (a test holds them together)
    ),
    "charlson": ScorerSpec(
        "joinedup.analytics.scores.charlson:charlson_scores",
        "Charlson Comorbidity Index (ICD-10)",
        optional=("date", "age"),
        compiled_ahead=True,
    ),
    "elixhauser": ScorerSpec(
        "joinedup.analytics.scores.elixhauser:elixhauser_scores",
        "Elixhauser comorbidity, van Walraven (ICD-10)",
        compiled_ahead=True,
    ),
    "efi": ScorerSpec(
        "joinedup.analytics.scores.efi:score_codes",
        "electronic Frailty Index (SNOMED CT)",
        code_problem=_snomed_code_problem,
    ),
    "cms": ScorerSpec(
        "joinedup.analytics.scores.cms:score_codes",
        "Cambridge Multimorbidity Score, general outcome (SNOMED CT)",
        code_problem=_snomed_code_problem,
    ),
}


@dataclass(frozen=True)
class Reject:
    """A row that was not scored: where it is in the file, why, and what it held."""

    row: int
    reason: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class ExtractScoringResult:
    """What scoring an extract produced."""

    score: str
    rejects: list[Reject]
    rows_read: int
    rows_accepted: int
    blank_lines: int
    people_scored: int
    # people whose every row was rejected (so they have no score), by person_id
    people_not_scored: int
    # header columns the score does not use, as written in the file
    ignored_columns: list[str] = field(default_factory=list)
    # the scores (one row per person, in order of first appearance), unless only written out
    scores: pa.Table | None = None
    output_path: Path | None = None
    rejects_path: Path | None = None

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "blank_lines": self.blank_lines,
            "people_scored": self.people_scored,
            "people_not_scored": self.people_not_scored,
        }


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
    import duckdb

    spec = SCORERS.get(score)
    if spec is None:
        raise ExtractError(f"unknown score {score!r}: choose one of {', '.join(sorted(SCORERS))}")
    path = Path(input_path)
    extract = _open_extract(spec, path, index_date=index_date)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # the command prints its own summary
        checked = _check_rows(con, spec, extract, index_date)
        if output_path is not None:
            output_path = Path(output_path)
            output_path.parent.mkdir(parents=True, exist_ok=True)
            _write_rejects(rejects_path_for(output_path), extract.header, checked.rejects)
        if checked.rows_accepted == 0:
            raise ExtractError(_nothing_scored(path, checked, output_path))
        query = _scores_query(spec, extract.header, index_date, options)
        result = ExtractScoringResult(
            score=score,
            rejects=checked.rejects,
            rows_read=checked.rows_read,
            rows_accepted=checked.rows_accepted,
            blank_lines=checked.blank_lines,
            people_scored=_count(con, "SELECT count(*) FROM people"),
            people_not_scored=checked.people_not_scored,
            ignored_columns=extract.ignored,
        )
        _score(con, spec, query, extract.header, index_date)
        source = "scored"
        if keep_scores or output_path is None:
            con.execute("CREATE TABLE kept AS SELECT * FROM scored")  # computed once
            result.scores = con.sql("SELECT * FROM kept").fetch_arrow_table()
            source = "kept"
        if output_path is not None:
            con.execute(f"COPY {source} TO '{_sql_path(output_path)}' (HEADER, DELIMITER ',')")
            result.output_path = output_path
            result.rejects_path = rejects_path_for(output_path)
    finally:
        con.close()
    return result


# --- the file and its header --------------------------------------------------------------


@dataclass(frozen=True)
class _Extract:
    path: Path
    header: dict[str, int]  # a used column -> its position in the file
    width: int  # columns in the header
    ignored: list[str]
    empty_lines: list[int]  # physical line numbers of lines with nothing on them


def _open_extract(spec: ScorerSpec, path: Path, *, index_date: dt.date | None) -> _Extract:
    data = _read_bytes(path)
    end = data.find(b"\n")
    try:
        first_line = data[: end if end != -1 else len(data)].decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise _not_utf8(path, 1) from None
    if not first_line.strip():
        raise ExtractError(
            f"{path.name} is empty: expected a header row such as {','.join(spec.required)}"
        )
    raw = next(csv.reader([first_line]))
    return _Extract(
        path, *_check_header(spec, raw, path, index_date=index_date), _empty_lines(data)
    )


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise ExtractError(f"no such file: {path}")
    if not path.is_file():
        raise ExtractError(f"{path} is not a file")
    data = path.read_bytes()
    if b"\x00" in data:
        raise ExtractError(
            f"{path.name} is not a CSV text file (it holds binary data, e.g. a spreadsheet or "
            "Parquet file): save it as CSV"
        )
    return data  # (DuckDB finds a line that is not UTF-8: `_read_rows`)


def _not_utf8(path: Path, line: int) -> ExtractError:
    return ExtractError(f"{path.name} is not UTF-8 text (line {line}): save it as 'CSV UTF-8'")


def _empty_lines(data: bytes) -> list[int]:
    """Line numbers (from 1) of the lines with nothing on them (DuckDB skips those lines; they
    are counted, not rejected), found by byte search rather than line by line."""
    breaks = []  # the line break that ends the line before each empty line
    for pair in (b"\n\n", b"\n\r\n") if b"\r" in data else (b"\n\n",):
        at = data.find(pair)
        while at != -1:
            breaks.append(at)
            at = data.find(pair, at + 1)
    found: list[int] = []
    line, last = 1, 0
    for at in sorted(breaks):
        line += data.count(b"\n", last, at + 1)
        last = at + 1
        found.append(line)
    return found


def _check_header(
    spec: ScorerSpec, raw: list[str], path: Path, *, index_date: dt.date | None
) -> tuple[dict[str, int], int, list[str]]:
    header = [name.strip().lower() for name in raw]
    if len(header) == 1:
        for separator, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if separator in header[0]:
                raise ExtractError(
                    f"{path.name} looks separated by {label}, not commas: save it as CSV "
                    "(comma-separated)"
                )
    for position, name in enumerate(header, start=1):
        if not name:
            raise ExtractError(f"{path.name}: column {position} of the header has no name")
    duplicates = sorted({n for n in header if n in spec.columns and header.count(n) > 1})
    if duplicates:
        raise ExtractError(f"{path.name}: the header names {', '.join(duplicates)} more than once")
    missing = [n for n in spec.required if n not in header]
    if missing:
        allowed = ", ".join(spec.required) + (
            f" and optionally {', '.join(spec.optional)}" if spec.optional else ""
        )
        raise ExtractError(
            f"{path.name} has no {', '.join(missing)} column: the header must name {allowed}"
        )
    if index_date is not None and "date" in spec.columns and "date" not in header:
        raise ExtractError(
            f"an index date ({index_date.isoformat()}) was given but {path.name} has no date "
            "column, so no row can be placed in the look-back window"
        )
    used = {name: i for i, name in enumerate(header) if name in spec.columns}
    ignored = [raw[i].strip() for i, name in enumerate(header) if name not in spec.columns]
    return used, len(header), ignored


# --- the rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    rejects: list[Reject]
    rows_read: int
    rows_accepted: int
    blank_lines: int
    people_not_scored: int


def _check_rows(
    con: duckdb.DuckDBPyConnection, spec: ScorerSpec, extract: _Extract, index_date: dt.date | None
) -> _Checked:
    """Read the file into `judged` (every data row, its line, values and problems) and return
    the rejects; the accepted rows are those with no problem."""
    structural, blank = _read_rows(con, extract)
    _judge_values(con, spec, extract.header, index_date)
    # The pipeline reads a date only to place rows in the window, or (eFI, CMS) itself.
    dates_read = index_date is not None or not spec.compiled_ahead
    _judge_rows(con, extract.header, meanings={"date": dates_read, "age": True})
    _number_people(con, ages="age" in extract.header)
    names = _file_order(extract.header)
    rejected = con.execute(
        f"SELECT line, j.reason, {', '.join(f'e.{n}' for n in names)} FROM judged AS j "
        "JOIN extract_lines AS e USING (line) WHERE j.reason IS NOT NULL ORDER BY line"
    ).fetchall()
    rejects = [
        Reject(line, reason, {n: v or "" for n, v in zip(names, values, strict=True)})
        for line, reason, *values in rejected
    ]
    rejects = sorted(rejects + structural, key=lambda r: r.row)
    accepted = _count(con, "SELECT coalesce(sum(accepted_rows), 0) FROM persons")
    return _Checked(
        rejects,
        rows_read=accepted + len(rejects),
        rows_accepted=accepted,
        blank_lines=blank + len(extract.empty_lines),
        people_not_scored=_people_not_scored(con, structural),
    )


def _number_people(con: duckdb.DuckDBPyConnection, *, ages: bool) -> None:
    """`persons`: everyone named in a row read, with their accepted rows; `people`: those with
    one, numbered in order of first appearance (eFI and CMS see the numbers; the scores are
    written back with the text as given). With ages, a later row giving a person another age is
    refused first."""
    ages_given = "min(age_value) AS youngest, max(age_value) AS oldest" if ages else "NULL, NULL"
    persons = (
        "CREATE OR REPLACE TABLE persons AS SELECT person, "
        "count(*) FILTER (reason IS NULL) AS accepted_rows, "
        f"min(line) FILTER (reason IS NULL) AS first_line, {ages_given} FROM judged GROUP BY person"
    )
    con.execute(persons)
    if ages and _count(con, "SELECT count(*) FROM persons WHERE youngest <> oldest"):
        _refuse_second_ages(con)
        con.execute(persons)
    con.execute(
        "CREATE TABLE people AS SELECT person AS identifier, "
        "row_number() OVER (ORDER BY first_line) AS person_key "
        "FROM persons WHERE accepted_rows > 0"
    )


def _people_not_scored(con: duckdb.DuckDBPyConnection, structural: list[Reject]) -> int:
    """People named on a rejected row and on no accepted one."""
    unreadable = {r.values.get("person_id", "").strip() for r in structural} - {""}
    con.execute(
        "CREATE TABLE unreadable AS SELECT unnest($people) AS person",
        {"people": sorted(unreadable) or [""]},
    )
    return _count(
        con,
        "SELECT count(*) FROM (SELECT person FROM persons WHERE accepted_rows = 0 "
        "UNION SELECT person FROM unreadable) AS u WHERE person <> '' AND NOT EXISTS "
        "(SELECT 1 FROM persons AS p WHERE p.person = u.person AND p.accepted_rows > 0)",
    )


def _read_rows(con: duckdb.DuckDBPyConnection, extract: _Extract) -> tuple[list[Reject], int]:
    """`extract_lines`: each data row DuckDB could split into the header's columns, with its line.

    Returns the rows it could not (wrong number of values, not CSV) as rejects, and how many
    of those were blank (spaces only)."""
    columns = {f"c{i}": "VARCHAR" for i in range(extract.width)}
    used = ", ".join(f"c{i}" for i in sorted(extract.header.values()))  # the rest is not kept
    con.execute(
        f"CREATE TABLE parsed AS SELECT {used} FROM read_csv('{_sql_path(extract.path)}', "
        "header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
        "columns=$columns, store_rejects=true)",
        {"columns": columns},
    )
    encoding = con.execute(
        "SELECT min(line) FROM reject_errors WHERE error_type = 'INVALID ENCODING'"
    ).fetchone()
    if encoding and encoding[0] is not None:
        raise _not_utf8(extract.path, encoding[0])
    skipped, blank, structural = set(extract.empty_lines), 0, []
    for line, csv_line, message in con.execute(
        "SELECT line, any_value(csv_line), any_value(error_message) FROM reject_errors "
        "GROUP BY line ORDER BY line"
    ).fetchall():
        skipped.add(line)
        if not csv_line.strip():
            blank += 1
        else:
            structural.append(_structural_reject(line, csv_line, message, extract))
    _number_rows(con, extract, sorted(skipped))
    return structural, blank


def _structural_reject(line: int, csv_line: str, message: str, extract: _Extract) -> Reject:
    values = next(csv.reader([csv_line.strip("\r\n")]), [])
    held = {name: values[i] for name, i in extract.header.items() if i < len(values)}
    if len(values) == extract.width:  # split fine by Python: DuckDB's own complaint
        return Reject(line, f"the row is not valid CSV ({message.splitlines()[0]})", held)
    if len(values) > extract.width:
        held["(unnamed)"] = ",".join(values[extract.width :])
    return Reject(
        line,
        f"the row has {len(values)} values but the header has {extract.width} columns; "
        "check for an unquoted comma or a missing value",
        held,
    )


def _number_rows(con: duckdb.DuckDBPyConnection, extract: _Extract, skipped: list[int]) -> None:
    """`extract_lines` = `parsed` with each row's line: the n-th row read is on line n + 2
    (after the header) plus the lines DuckDB skipped before it (blank, or rejected)."""
    # After the j-th skipped line (from 0), every row from number s_j - 2 - j on moves down one.
    steps = {}
    for j, line in enumerate(skipped):
        steps[line - 2 - j] = j + 1
    used = ", ".join(f"c{i} AS {name}" for name, i in extract.header.items())
    if not steps:
        con.execute(f"CREATE VIEW extract_lines AS SELECT rowid + 2 AS line, {used} FROM parsed")
        return
    con.execute(
        "CREATE TABLE steps AS SELECT unnest($at) AS at, unnest($moved) AS moved",
        {"at": list(steps), "moved": list(steps.values())},
    )
    con.execute(
        f"CREATE VIEW extract_lines AS SELECT n + 2 + coalesce(moved, 0) AS line, {used} "
        "FROM (SELECT rowid AS n, * FROM parsed) AS p ASOF LEFT JOIN steps ON p.n >= steps.at"
    )


def _judge_values(
    con: duckdb.DuckDBPyConnection,
    spec: ScorerSpec,
    header: dict[str, int],
    index_date: dt.date | None,
) -> None:
    """One table per checked column: each distinct value as written, what it means (spaces
    around it trimmed) and its problem, judged by the Python rules (a million rows hold a few
    thousand distinct values)."""
    judges: dict[str, Callable[[str], tuple[Any, str | None]]] = {
        "code": lambda v: (v, spec.code_problem(v)),
        "date": lambda v: _parse_date(v, index_date),
        "age": _parse_age,
    }
    for column, judge in judges.items():
        if column in header:
            _value_table(con, column, [(v, *_judge(judge, v)) for v in _distinct(con, column)])


def _judge(judge: Callable[[str], tuple[Any, str | None]], given: str) -> tuple[Any, str | None]:
    if "\n" in given or "\r" in given:
        return None, "a value holds a line break: check for a quote that is not closed"
    return judge(given.strip())


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    query = f"SELECT DISTINCT coalesce({column}, '') FROM extract_lines"
    return [v for (v,) in con.execute(query).fetchall()]


def _value_table(
    con: duckdb.DuckDBPyConnection, column: str, judged: list[tuple[str, Any, str | None]]
) -> None:
    types = {"code": "VARCHAR", "date": "DATE", "age": "BIGINT"}
    con.execute(
        f"CREATE TABLE {column}_values AS SELECT unnest($given) AS given, "
        f"CAST(unnest($meaning) AS {types[column]}) AS meaning, unnest($problem) AS problem",
        {
            "given": [v for v, _, _ in judged],
            "meaning": [m for _, m, _ in judged],
            "problem": [p for _, _, p in judged],
        },
    )


def _judge_rows(
    con: duckdb.DuckDBPyConnection, header: dict[str, int], *, meanings: dict[str, bool]
) -> None:
    """`judged`: every row's line, person (its person_id less the spaces around it), its code
    as written, what its date and age mean where `meanings` asks, and its reason (null:
    accepted). A column whose meaning is not asked for is joined only to its values with a
    problem (usually none, so no join at all)."""
    ordered = _file_order(header)  # reasons in the file's column order
    columns, joins, problems = ["e.line", f"{_trimmed('e.person_id')} AS person"], [], []
    for name in ordered:
        if name == "person_id":
            problems.append(
                "CASE WHEN contains(coalesce(e.person_id, ''), chr(10)) THEN 'a value holds a "
                "line break: check for a quote that is not closed' WHEN "
                f"{_trimmed('e.person_id')} = '' THEN 'person_id is empty' END"
            )
            continue
        if name == "code":
            columns.append("e.code AS code_value")  # the pipelines read codes as written
        if meanings.get(name, False):
            columns.append(f"{name}_values.meaning AS {name}_value")
            joins.append(f"LEFT JOIN {name}_values ON coalesce(e.{name}, '') = {name}_values.given")
            problems.append(f"{name}_values.problem")
        elif _count(con, f"SELECT count(*) FROM {name}_values WHERE problem IS NOT NULL"):
            joins.append(
                f"LEFT JOIN (SELECT given, problem FROM {name}_values WHERE problem IS NOT NULL) "
                f"AS {name}_values ON coalesce(e.{name}, '') = {name}_values.given"
            )
            problems.append(f"{name}_values.problem")
    # concat_ws leaves out the problems that are null: '' means none.
    con.execute(
        f"""
        CREATE TABLE judged AS
        SELECT {", ".join(columns)}, nullif(concat_ws('; ', {", ".join(problems)}), '') AS reason
        FROM extract_lines AS e {" ".join(joins)}
        """
    )


def _trimmed(column: str) -> str:
    """`column` less the spaces around it; trimmed only where it has any (a trim copies every
    string, the test for a space does not)."""
    return (
        f"CASE WHEN starts_with({column}, ' ') OR ends_with({column}, ' ') THEN trim({column}) "
        f"ELSE coalesce({column}, '') END"
    )


def _refuse_second_ages(con: duckdb.DuckDBPyConnection) -> None:
    """The first accepted row with an age sets the person's age; a later row with another age
    is refused. Only the people given two ages are looked at."""
    con.execute(
        """
        CREATE TABLE first_age AS
        SELECT person, arg_min(age_value, line) AS age, min(line) AS line FROM judged
        WHERE reason IS NULL AND age_value IS NOT NULL
              AND person IN (SELECT person FROM persons WHERE youngest <> oldest)
        GROUP BY person
        """
    )
    con.execute(
        """
        UPDATE judged AS f SET reason = concat_ws('; ', f.reason,
            'age ' || f.age_value || ' differs from age ' || a.age || ' given for the same '
            || 'person on row ' || a.line || '; give one age per person (at the index date)')
        FROM first_age AS a
        WHERE a.person = f.person AND f.age_value IS NOT NULL AND a.line < f.line
              AND a.age <> f.age_value
        """
    )


def _parse_date(value: str, index_date: dt.date | None) -> tuple[dt.date | None, str | None]:
    if not value:
        if index_date is not None:
            return None, (
                "date is empty: with an index date every row needs the date it "
                "was recorded, to place it in the look-back window"
            )
        return None, None
    if _ISO_DATE.match(value) or _UK_DATE.match(value):
        for fmt in DATE_FORMATS:
            try:
                return dt.datetime.strptime(value, fmt).date(), None
            except ValueError:
                continue
        return None, f"date {value!r} is not a real date (check the day and month)"
    return None, (
        f"date {value!r} is not a date written YYYY-MM-DD (e.g. 2024-03-31) "
        "or DD/MM/YYYY (e.g. 31/03/2024)"
    )


def _parse_age(value: str) -> tuple[int | None, str | None]:
    if not value:
        return None, None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_AGE:
        return None, f"age {value!r} is not a whole number of years from 0 to {MAX_AGE}"
    return int(value), None


def _nothing_scored(path: Path, checked: _Checked, output_path: Path | None) -> str:
    if checked.rows_read == 0:
        return f"{path.name} has a header but no rows to score"
    first = checked.rejects[0]
    where = (
        f"; every reason is in {rejects_path_for(output_path)}" if output_path is not None else ""
    )
    return (
        f"no row of {path.name} could be scored: all {checked.rows_read:,} rows were rejected "
        f"(row {first.row}: {first.reason}){where}"
    )


# --- scoring ------------------------------------------------------------------------------


def _scores_query(
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


def _score(
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
    inputs = []
    for name in spec.input_schema(header):
        if name == "person_id":
            inputs.append("j.person AS person_id" if by_text else "p.person_key AS person_id")
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
    con.execute(
        f"CREATE VIEW scored AS SELECT p.identifier AS person_id, s.* EXCLUDE (person_id) "
        f"FROM ({query}) AS s JOIN people AS p ON s.person_id = p.{key} ORDER BY p.person_key"
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


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row else 0


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _file_order(header: dict[str, int]) -> list[str]:
    return sorted(header, key=header.__getitem__)


def _write_rejects(path: Path, header: dict[str, int], rejects: list[Reject]) -> None:
    columns = _file_order(header)
    extra = ["(unnamed)"] if any("(unnamed)" in r.values for r in rejects) else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "reason", *columns, *extra])
        for reject in rejects:
            writer.writerow(
                [reject.row, reject.reason, *(reject.values.get(n, "") for n in [*columns, *extra])]
            )
