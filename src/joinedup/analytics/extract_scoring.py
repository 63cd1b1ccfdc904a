"""Score a CSV extract: the service behind ``joinedup score SCORE INPUT.csv [-o OUT.csv]``.

An extract is a CSV file with a header row and one row per coded entry: ``person_id,code``
plus, where the score uses them, ``date`` and ``age``. Each score declares the columns it
takes in `SCORERS`.

* **Structural problems stop the run** with an `ExtractError` that says what to fix: no such
  file, not a CSV text file (binary, not UTF-8, not comma-separated), no header, a header
  column with no name or named twice, a required column missing, a column the score does not
  use, or an index date given for an extract with no ``date`` column.
* **Every row is checked**, and each row with a problem becomes a `Reject` with its row number
  (the line in the file; the header is line 1) and every reason, in words a person can act
  on: person_id empty or not a positive whole number; code empty or not a code of the score's
  code system; date not a real date (``YYYY-MM-DD`` or ``DD/MM/YYYY``), or empty when an index
  date is given; age not a whole number from 0 to 130, or different from the age given for
  the same person earlier; a row with more or fewer values than the header has columns.
  Nothing is dropped silently: every data row is either scored or rejected
  (``rows_read == rows_accepted + rows_rejected``; blank lines are counted separately).
* The accepted rows are scored on DuckDB by the score's Ibis pipeline. The result holds the
  scores (one row per person with an accepted row), the rejects and the counts; with an
  output path the scores are written there and the rejects beside it as
  ``<name>.rejects.csv`` (written even when empty, so a pipeline can rely on it).

Adding a score is one entry in `SCORERS`: its pipeline (``f(table, *, index_date, **options)
-> ibis.Table`` with one row per person), the columns it requires and accepts, and how to
check a code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from joinedup.analytics.engine import connect, put_table
from joinedup.analytics.scores import cms, efi
from joinedup.analytics.scores.charlson import charlson_scores
from joinedup.analytics.scores.elixhauser import elixhauser_scores
from joinedup.analytics.scores.hfrs import hfrs_scores
from joinedup.errors import UserError
from joinedup.terminology.codelists import snomed_code_problem
from joinedup.terminology.icd10 import icd10_code_problem

MAX_AGE = 130
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UK_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


class ExtractError(UserError, ValueError):
    """The extract cannot be read at all (a structural problem): the message says what to fix."""


@dataclass(frozen=True)
class ScorerSpec:
    """How to score an extract: the pipeline and the columns it takes."""

    pipeline: Callable[..., ir.Table]
    title: str
    required: tuple[str, ...] = ("person_id", "code")
    optional: tuple[str, ...] = ("date",)
    # Why a code cannot be used (None when it can): ICD-10 unless the score says otherwise.
    code_problem: Callable[[str], str | None] = icd10_code_problem

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SCORERS: dict[str, ScorerSpec] = {
    "hfrs": ScorerSpec(hfrs_scores, "Hospital Frailty Risk Score (ICD-10)"),
    "charlson": ScorerSpec(
        charlson_scores, "Charlson Comorbidity Index (ICD-10)", optional=("date", "age")
    ),
    "elixhauser": ScorerSpec(elixhauser_scores, "Elixhauser comorbidity, van Walraven (ICD-10)"),
    "efi": ScorerSpec(
        efi.score_codes, "electronic Frailty Index (SNOMED CT)", code_problem=snomed_code_problem
    ),
    "cms": ScorerSpec(
        cms.score_codes,
        "Cambridge Multimorbidity Score, general outcome (SNOMED CT)",
        code_problem=snomed_code_problem,
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
    scores: pa.Table
    rejects: list[Reject]
    rows_read: int
    rows_accepted: int
    blank_lines: int
    people_scored: int
    # people whose every row was rejected (so they have no score), by readable person_id
    people_not_scored: int
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


def rejects_path_for(output_path: Path) -> Path:
    """Where the rejects of `output_path` are written: `<name>.rejects.csv` beside it."""
    return output_path.with_name(f"{output_path.stem}.rejects.csv")


def score_extract(
    score: str,
    input_path: Path,
    output_path: Path | None = None,
    *,
    index_date: dt.date | None = None,
    **options: Any,
) -> ExtractScoringResult:
    """Validate and score the extract at `input_path`; write the scores and rejects if asked.

    `options` go to the score's pipeline (e.g. ``weights="quan2011"`` for Charlson).
    Raises `ExtractError` for an unknown score or a structural problem with the file.
    """
    spec = SCORERS.get(score)
    if spec is None:
        raise ExtractError(f"unknown score {score!r}: choose one of {', '.join(sorted(SCORERS))}")
    extract = read_extract(spec, Path(input_path), index_date=index_date)
    con = connect("duckdb")
    try:
        table = put_table(con, "extract_rows", extract.table)
        expr = spec.pipeline(table, index_date=index_date, **options)
        scores = con.to_pyarrow(expr).sort_by("person_id")
    finally:
        con.disconnect()
    scored_people = set(extract.table.column("person_id").to_pylist())
    result = ExtractScoringResult(
        score=score,
        scores=scores,
        rejects=extract.rejects,
        rows_read=extract.rows_read,
        rows_accepted=extract.table.num_rows,
        blank_lines=extract.blank_lines,
        people_scored=scores.num_rows,
        people_not_scored=len(extract.rejected_people - scored_people),
    )
    if output_path is not None:
        output_path = Path(output_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        _write_scores(output_path, scores)
        result.output_path = output_path
        result.rejects_path = rejects_path_for(output_path)
        _write_rejects(result.rejects_path, extract.header, extract.rejects)
    return result


@dataclass
class Extract:
    """The accepted rows of an extract as an Arrow table, and everything else about it."""

    header: list[str]
    table: pa.Table
    rejects: list[Reject]
    rows_read: int
    blank_lines: int
    rejected_people: set[int]


def read_extract(spec: ScorerSpec, path: Path, *, index_date: dt.date | None = None) -> Extract:
    """Read and check an extract against `spec`: accepted rows as a table, and the rejects."""
    text = _read_text(path)
    rows = _records(text, path)
    try:
        _, raw_header = next(rows)
    except StopIteration:
        raise ExtractError(
            f"{path.name} is empty: expected a header row such as {','.join(spec.required)}"
        ) from None
    header = _check_header(spec, raw_header, path, index_date=index_date)
    width = len(header)

    columns: dict[str, list[Any]] = {name: [] for name in header}
    rejects: list[Reject] = []
    rejected_people: set[int] = set()
    age_seen: dict[int, tuple[int, int]] = {}  # person_id -> (age, row)
    rows_read = blank_lines = 0
    for line, values in rows:
        if not values:
            blank_lines += 1
            continue
        rows_read += 1
        raw = dict(zip(header, values, strict=False))
        problems: list[str] = []
        if len(values) != width:
            problems.append(
                f"the row has {len(values)} values but the header has {width} columns "
                f"({','.join(header)}); check for an unquoted comma or a missing value"
            )
            if len(values) > width:
                raw["(unnamed)"] = ",".join(values[width:])
        parsed: dict[str, Any] = {}
        for name in header:
            value, problem = _parse(spec, name, raw.get(name, ""), index_date)
            if problem:
                problems.append(problem)
            parsed[name] = value
        person_id = parsed.get("person_id")
        if "age" in parsed and parsed["age"] is not None and person_id is not None:
            earlier = age_seen.get(person_id)
            if earlier is not None and earlier[0] != parsed["age"]:
                problems.append(
                    f"age {parsed['age']} differs from age {earlier[0]} given for the same "
                    f"person on row {earlier[1]}; give one age per person (at the index date)"
                )
        if problems:
            rejects.append(Reject(line, "; ".join(problems), raw))
            if person_id is not None:
                rejected_people.add(person_id)
            continue
        if "age" in parsed and parsed["age"] is not None:
            age_seen.setdefault(person_id, (parsed["age"], line))  # type: ignore[arg-type]
        for name in header:
            columns[name].append(parsed[name])
    return Extract(header, _arrow(columns), rejects, rows_read, blank_lines, rejected_people)


_TYPES = {"person_id": pa.int64(), "code": pa.string(), "date": pa.date32(), "age": pa.int64()}


def _arrow(columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table(
        {name: pa.array(values, _TYPES.get(name, pa.string())) for name, values in columns.items()}
    )


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ExtractError(f"no such file: {path}")
    if not path.is_file():
        raise ExtractError(f"{path} is not a file")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise ExtractError(
            f"{path.name} is not a CSV text file (it holds binary data, e.g. a spreadsheet or "
            "Parquet file): save it as CSV"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExtractError(
            f"{path.name} is not UTF-8 text (byte {err.start}): save it as 'CSV UTF-8'"
        ) from None


def _records(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record ends, values) for each record, blank lines as []."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            # A line of only spaces is blank too.
            yield (
                reader.line_num,
                ([] if all(not v.strip() for v in values) and len(values) <= 1 else values),
            )
    except csv.Error as err:
        raise ExtractError(
            f"{path.name} is not valid CSV at line {reader.line_num}: {err}"
        ) from None


def _check_header(
    spec: ScorerSpec, raw: list[str], path: Path, *, index_date: dt.date | None
) -> list[str]:
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
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ExtractError(f"{path.name}: the header names {', '.join(duplicates)} more than once")
    allowed = ", ".join(spec.required) + (
        f" and optionally {', '.join(spec.optional)}" if spec.optional else ""
    )
    missing = [n for n in spec.required if n not in header]
    if missing:
        raise ExtractError(
            f"{path.name} has no {', '.join(missing)} column: the header must name {allowed}"
        )
    unknown = [n for n in header if n not in spec.columns]
    if unknown:
        raise ExtractError(
            f"{path.name} has column(s) {', '.join(unknown)} that this score does not use: "
            f"remove them; the score takes {allowed}"
        )
    if index_date is not None and "date" in spec.columns and "date" not in header:
        raise ExtractError(
            f"an index date ({index_date.isoformat()}) was given but {path.name} has no date "
            "column, so no row can be placed in the look-back window"
        )
    return header


def _parse(
    spec: ScorerSpec, name: str, value: str, index_date: dt.date | None
) -> tuple[Any, str | None]:
    """(value, None) or (None, reason) for one cell."""
    value = value.strip()
    if name == "person_id":
        if not value:
            return None, "person_id is empty"
        if not value.isascii() or not value.isdigit() or int(value) < 1:
            return None, f"person_id {value!r} is not a positive whole number"
        return int(value), None
    if name == "code":
        problem = spec.code_problem(value)
        return (None, problem) if problem else (value, None)
    if name == "date":
        if not value:
            if index_date is not None:
                return None, (
                    "date is empty: with an index date every row needs the date it "
                    "was recorded, to place it in the look-back window"
                )
            return None, None
        return _parse_date(value)
    if name == "age":
        if not value:
            return None, None
        if not value.isascii() or not value.isdigit() or int(value) > MAX_AGE:
            return None, f"age {value!r} is not a whole number of years from 0 to {MAX_AGE}"
        return int(value), None
    return value, None  # pragma: no cover - the header check admits only known columns


def _parse_date(value: str) -> tuple[dt.date | None, str | None]:
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


def _write_scores(path: Path, scores: pa.Table) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(scores.column_names)
        for row in scores.to_pylist():
            writer.writerow("" if v is None else v for v in row.values())


def _write_rejects(path: Path, header: list[str], rejects: list[Reject]) -> None:
    extra = ["(unnamed)"] if any("(unnamed)" in r.values for r in rejects) else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "reason", *header, *extra])
        for reject in rejects:
            writer.writerow(
                [reject.row, reject.reason, *(reject.values.get(n, "") for n in [*header, *extra])]
            )
