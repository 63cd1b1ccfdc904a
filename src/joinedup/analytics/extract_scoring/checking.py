"""Reading an extract and checking it in DuckDB: the file and its header (structural problems
stop the run), then every row (each problem becomes a `Reject` with its reasons)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import mmap
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinedup.analytics.extract_scoring.people import (
    accepted_view,
    age_join,
    count_persons,
    flagged_columns,
    key_by_number,
    keys_shared,
    people_not_scored,
    refuse_second_ages,
)
from joinedup.analytics.extract_scoring.specs import ExtractError, Reject, ScorerSpec
from joinedup.analytics.extract_scoring.sql import query_count, trimmed
from joinedup.analytics.extract_scoring.writing import file_order, sql_path
from joinedup.import_report import rejects_path_for

if TYPE_CHECKING:
    import duckdb

MAX_AGE = 130
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UK_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


# --- the file and its header --------------------------------------------------------------


@dataclass(frozen=True)
class Extract:
    path: Path
    header: dict[str, int]  # a used column -> its position in the file
    width: int  # columns in the header
    ignored: list[str]
    quoted: bool  # whether the file holds a quote (only a quoted value can hold a line break)
    # whether a space follows the header (without one, no value has spaces around it to trim)
    spaced: bool


def open_extract(spec: ScorerSpec, path: Path, *, index_date: dt.date | None) -> Extract:
    with _mapped(path) as data:
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
        header = _check_header(spec, raw, path, index_date=index_date)
        return Extract(
            path,
            *header,
            quoted=data.find(b'"') != -1,
            spaced=data.find(b" ", max(end, 0)) != -1,
        )


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, mapped rather than read (the searches below touch each page once and
    DuckDB reads the file again: a copy of it would cost more than the searches)."""
    if not path.exists():
        raise ExtractError(f"no such file: {path}")
    if not path.is_file():
        raise ExtractError(f"{path} is not a file")
    with _mapping(path) as data:
        if data.find(b"\x00") != -1:
            raise ExtractError(
                f"{path.name} is not a CSV text file (it holds binary data, e.g. a spreadsheet "
                "or Parquet file): save it as CSV"
            )
        yield data  # (DuckDB finds a line that is not UTF-8: `_read_rows`)


@contextlib.contextmanager
def _mapping(path: Path) -> Iterator[bytes | mmap.mmap]:
    with path.open("rb") as handle:
        if not os.fstat(handle.fileno()).st_size:
            data: bytes | mmap.mmap = b""
        else:  # mapped in one go (Linux), rather than page by page as it is searched
            populate = getattr(mmap, "MAP_POPULATE", 0)
            data = mmap.mmap(
                handle.fileno(), 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ
            )
    with contextlib.closing(data) if isinstance(data, mmap.mmap) else contextlib.nullcontext():
        yield data


def _unreadable(path: Path, exc: Exception) -> ExtractError:
    """What to do about a file the CSV reader gave up on, e.g. line endings mixed (LF, and an
    empty line ending CR LF), which stops it before any row can be reported."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ExtractError(
        f"{path.name} could not be read as CSV ({first.rstrip('.')}). Check that every line "
        "ends the same way (save it again as 'CSV UTF-8') and that every quote is closed."
    )


def _not_utf8(path: Path, line: int) -> ExtractError:
    return ExtractError(f"{path.name} is not UTF-8 text (line {line}): save it as 'CSV UTF-8'")


# A line with nothing on it: the line break before it, then its own (LF or CR LF).
_EMPTY_LINE = re.compile(rb"\n\r?\n")


def _empty_lines(mapped: bytes | mmap.mmap) -> list[int]:
    """Line numbers (from 1) of the lines with nothing on them (DuckDB skips those lines; they
    are counted, not rejected), found by byte search rather than line by line."""
    # One pass of the regular expression tells whether there are any (usually not: twice as
    # fast as a search for each kind of line break, which the rest makes only when there are).
    if _EMPTY_LINE.search(mapped) is None:
        return []
    data = bytes(mapped)
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

LINE_BREAK = "a value holds a line break: check for a quote that is not closed"
# Each person's key, computed as the file is read: the 64-bit hash of the identifier less the
# spaces around it, cut to 63 bits to be a BIGINT, the pipelines' person_id (grouping a million
# rows by a number is far cheaper than by text 32 characters long). Checked: should two
# identifiers of an extract share a key, every person is numbered instead (`_key_by_number`).
PERSON_KEY = "CAST(hash({}) >> 1 AS BIGINT)"


@dataclass(frozen=True)
class Checked:
    rejects: list[Reject]
    rows_read: int
    rows_accepted: int
    blank_lines: int
    people_not_scored: int


def check_rows(
    con: duckdb.DuckDBPyConnection, spec: ScorerSpec, extract: Extract, index_date: dt.date | None
) -> Checked:
    """Read the file into `parsed` and check every row. The rows with a problem are put in
    `flagged` (line, values as written, every reason) and deleted from `parsed`, so `parsed`
    holds the accepted rows: `accepted` gives them with what their values mean, `people`
    numbers the people they name, in order of first appearance."""
    structural, blank, rejected_lines = _read_rows(con, extract)
    # The rows are numbered (rowid: their order in the file); every result read back from here
    # on is ordered explicitly, so DuckDB need not keep the order of the rows it passes on.
    # (`score_extract` asks for it again for the scores it writes.)
    con.execute("SET preserve_insertion_order = false")
    bad = _judge_values(con, spec, extract.header, index_date)
    _flag_rows(con, extract.header, bad, line_breaks=extract.quoted)
    con.execute("DELETE FROM parsed WHERE rowid IN (SELECT n FROM flagged)")
    # The pipeline reads a date only to place rows in the window, or (eFI, CMS) itself.
    accepted_view(con, extract.header, dates=index_date is not None or not spec.compiled_ahead)
    # DuckDB keeps every core from here on too (the people, the score): a second thread groups
    # what the first does again (each thread's table holds nearly every person), ≈ 0.04 CPU-s
    # more at 1M rows, but the run ends ≈ 0.05 s sooner on an idle 2-core machine, and a person
    # waiting for the scores waits for the wall clock (ADR 0042, which replaces ADR 0039's
    # one thread).
    # The people are grouped while this thread looks for empty lines (the rows were numbered
    # without them; renumbered below in the rare file that has any).
    empty_lines = _empty_lines_meanwhile(
        extract.path, lambda: count_persons(con, spaced=extract.spaced)
    )
    if empty_lines:
        _renumber(con, extract, sorted({*rejected_lines, *empty_lines}))
    if keys_shared(con):
        key_by_number(con)
        count_persons(con, spaced=extract.spaced)
    if "age" in extract.header and refuse_second_ages(con, extract.header):
        count_persons(con, spaced=extract.spaced)
    # Each person's first row numbers them (in order of first appearance, as eFI and CMS read).
    con.execute(
        "CREATE VIEW people AS SELECT identifier, person_hash, first_n AS person_key FROM persons"
    )
    names = file_order(extract.header)
    rejected = con.execute(
        f"SELECT line, reason, {', '.join(names)} FROM flagged ORDER BY line"
    ).fetchall()
    rejects = [
        Reject(line, reason, {n: v or "" for n, v in zip(names, values, strict=True)})
        for line, reason, *values in rejected
    ]
    rejects = sorted(rejects + structural, key=lambda r: r.row)
    accepted = query_count(con, "SELECT count(*) FROM parsed")
    return Checked(
        rejects,
        rows_read=accepted + len(rejects),
        rows_accepted=accepted,
        blank_lines=blank + len(empty_lines),
        people_not_scored=people_not_scored(con, structural),
    )


def _flag_rows(
    con: duckdb.DuckDBPyConnection,
    header: dict[str, int],
    bad: dict[str, list[str]],
    *,
    line_breaks: bool,
) -> None:
    """`flagged`: the rows with a problem, each with every reason in the file's column order.

    The rows are found by a quick test of each row (its key that of an empty person_id, its
    person_id holding a line break; a value among the `bad` ones of its column, usually a
    handful of codes), so only those few are joined to their reasons. The key tells an empty
    person_id from the number, not the text (another identifier with the same key is only
    looked at, and found to have no problem). A person_id
    is searched for a line break only when the file holds a quote (`line_breaks`): the search
    costs a pass of its own."""
    person = trimmed("e.person_id")
    line_break = "contains(coalesce(e.person_id, ''), chr(10))"
    # The keys of an empty person_id: no value (NULL, as DuckDB reads an empty value, hashed
    # as read when the file holds no space) or nothing but spaces (the key of '').
    empty = ", ".join(PERSON_KEY.format(v) for v in ("''", "NULL"))
    tests = [f"e.person_hash IN ({empty})"]
    if line_breaks:
        tests.append("contains(e.person_id, chr(10))")
    problems, joins = [], []
    for name in file_order(header):
        if name == "person_id":
            problems.append(
                f"CASE WHEN {line_break} THEN '{LINE_BREAK}' "
                f"WHEN {person} = '' THEN 'person_id is empty' END"
            )
        elif bad.get(name):
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in bad[name])
            tests.append(f"coalesce(e.{name}, '') IN ({values})")
            joins.append(
                f"LEFT JOIN (SELECT given, problem FROM {name}_values WHERE problem IS NOT NULL) "
                f"AS {name}_bad ON coalesce(e.{name}, '') = {name}_bad.given"
            )
            problems.append(f"{name}_bad.problem")
    # The rows found first (reading only the columns tested), then their lines and values.
    found = f"SELECT rowid FROM parsed AS e WHERE {' OR '.join(f'({t})' for t in tests)}"
    suspects = f"(SELECT * FROM extract_lines WHERE n IN ({found}))"
    con.execute(
        f"CREATE TABLE flagged AS SELECT * FROM (SELECT {flagged_columns(header)}, "
        f"concat_ws('; ', {', '.join(problems)}) AS reason FROM {suspects} AS e "
        f"{' '.join(joins)} {age_join(header, 'e')}) WHERE reason <> ''"
    )


def _read_rows(
    con: duckdb.DuckDBPyConnection, extract: Extract
) -> tuple[list[Reject], int, list[int]]:
    """`parsed`: each data row DuckDB could split into the header's columns, the used columns
    and the person's key; `extract_lines`: the same with each row's number and line (counting
    the lines DuckDB rejected; the empty lines it skips are found later: `_renumber`).

    Returns the rows it could not split (wrong number of values, not CSV) as rejects, how many
    of those were blank (spaces only), and the lines of all of them."""
    columns = {f"c{i}": "VARCHAR" for i in range(extract.width)}
    used = ", ".join(f"c{i} AS {name}" for name, i in extract.header.items())  # the rest: not kept
    person = f"c{extract.header['person_id']}"
    # Trimmed only if a value may have spaces around it (the test costs as much as the hash).
    key = PERSON_KEY.format(trimmed(person) if extract.spaced else person)
    # The engine's own error class (`_duckdb` or `duckdb`: one and the same, ADR 0040).
    engine_error = sys.modules[type(con).__module__].InvalidInputException
    try:
        con.execute(
            f"CREATE TABLE parsed AS SELECT {used}, {key} AS person_hash "
            f"FROM read_csv('{sql_path(extract.path)}', "
            "header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
            "columns=$columns, store_rejects=true)",
            {"columns": columns},
        )
    except engine_error as exc:  # a file DuckDB's reader cannot follow (rows are not judged)
        raise _unreadable(extract.path, exc) from None
    errors = con.execute(
        "SELECT line, any_value(csv_line), any_value(error_message), "
        "bool_or(error_type = 'INVALID ENCODING') FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    encoding = [line for line, _, _, not_utf8 in errors if not_utf8]
    if encoding:
        raise _not_utf8(extract.path, encoding[0])
    skipped, blank, structural = [], 0, []
    for line, csv_line, message, _ in errors:
        skipped.append(line)
        if not csv_line.strip():
            blank += 1
        else:
            structural.append(_structural_reject(line, csv_line, message, extract))
    _number_rows(con, extract, skipped)
    return structural, blank, skipped


def _structural_reject(line: int, csv_line: str, message: str, extract: Extract) -> Reject:
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


def _number_rows(con: duckdb.DuckDBPyConnection, extract: Extract, skipped: list[int]) -> None:
    """`extract_lines` = `parsed` with each row's line: the n-th row read is on line n + 2
    (after the header) plus the lines DuckDB skipped before it (blank, or rejected)."""
    # After the j-th skipped line (from 0), every row from number s_j - 2 - j on moves down one.
    steps = {}
    for j, line in enumerate(skipped):
        steps[line - 2 - j] = j + 1
    used = ", ".join([*extract.header, "person_hash"])
    if not steps:
        con.execute(
            f"CREATE VIEW extract_lines AS SELECT rowid AS n, rowid + 2 AS line, {used} FROM parsed"
        )
        return
    con.execute(
        "CREATE TABLE steps AS SELECT unnest($at) AS at, unnest($moved) AS moved",
        {"at": list(steps), "moved": list(steps.values())},
    )
    con.execute(
        f"CREATE VIEW extract_lines AS SELECT n, n + 2 + coalesce(moved, 0) AS line, {used} "
        "FROM (SELECT rowid AS n, * FROM parsed) AS p ASOF LEFT JOIN steps ON p.n >= steps.at"
    )


def _renumber(con: duckdb.DuckDBPyConnection, extract: Extract, skipped: list[int]) -> None:
    """Number the rows again, given every line skipped (rejected by DuckDB, or empty), and
    the rows already set aside in `flagged` (no longer in `parsed`) by the same steps."""
    con.execute("DROP VIEW extract_lines")
    con.execute("DROP TABLE IF EXISTS steps")
    _number_rows(con, extract, skipped)
    con.execute(
        "UPDATE flagged SET line = flagged.n + 2 + coalesce((SELECT max(moved) FROM steps "
        "WHERE steps.at <= flagged.n), 0)"
    )


def _empty_lines_meanwhile(path: Path, work: Callable[[], None]) -> list[int]:
    """The file's empty lines, searched for while `work` runs in a thread of its own.

    `work` is DuckDB grouping the people: DuckDB lets go of Python's lock while a statement
    runs, so the search (≈ 0.03 CPU-s at 1M rows) shares the cores with it rather than waiting
    for it (ADR 0040)."""
    # The low-level thread API: `threading` costs ≈ 3 ms of CPU to import, a tenth of the gain.
    import _thread

    failed: list[BaseException] = []
    started, done = _thread.allocate_lock(), _thread.allocate_lock()
    started.acquire()
    done.acquire()

    def run() -> None:
        try:
            started.release()  # from here on it holds Python's lock only until DuckDB runs
            work()
        except BaseException as error:  # raised again in this thread, below
            failed.append(error)
        finally:
            done.release()

    _thread.start_new_thread(run, ())
    started.acquire()  # (else this thread may search first, holding Python's lock throughout)
    try:
        with _mapping(path) as data:
            found = _empty_lines(data)
    finally:
        done.acquire()  # the people grouped (or failed)
    if failed:
        raise failed[0]
    return found


def _judge_values(
    con: duckdb.DuckDBPyConnection,
    spec: ScorerSpec,
    header: dict[str, int],
    index_date: dt.date | None,
) -> dict[str, list[str]]:
    """One table per checked column: each distinct value as written, what it means (spaces
    around it trimmed) and its problem, judged by the Python rules (a million rows hold a few
    thousand distinct values). Returns the values with a problem, by column."""
    judges: dict[str, Callable[[str], tuple[Any, str | None]]] = {
        "code": lambda v: (v, spec.code_problem(v)),
        "date": lambda v: _parse_date(v, index_date),
        "age": _parse_age,
    }
    bad = {}
    for column, judge in judges.items():
        if column in header:
            judged = [(v, *_judge(judge, v)) for v in _distinct(con, column)]
            _value_table(con, column, judged)
            bad[column] = [v for v, _, problem in judged if problem is not None]
    return bad


def _judge(judge: Callable[[str], tuple[Any, str | None]], given: str) -> tuple[Any, str | None]:
    if "\n" in given or "\r" in given:
        return None, LINE_BREAK
    return judge(given.strip())


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    # (an empty value is read as none, or as '' when quoted: both are '')
    found = con.execute(f"SELECT DISTINCT {column} FROM parsed").fetchall()
    return list(dict.fromkeys("" if v is None else v for (v,) in found))


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


def _parse_date(value: str, index_date: dt.date | None) -> tuple[dt.date | None, str | None]:
    if not value:
        if index_date is not None:
            return None, (
                "date is empty: with an index date every row needs the date it "
                "was recorded, to place it in the look-back window"
            )
        return None, None
    if value.isascii() and _ISO_DATE.match(value):
        # YYYY-MM-DD in ASCII digits: read as strptime's %Y-%m-%d reads it, ten times faster
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            return None, f"date {value!r} is not a real date (check the day and month)"
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


def nothing_scored(path: Path, checked: Checked, output_path: Path | None) -> str:
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
