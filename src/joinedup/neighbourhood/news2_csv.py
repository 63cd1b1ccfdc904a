"""Score a CSV of observation sets with NEWS2: the service behind ``joinedup news2 IN.csv``.

The input has a header row and one observation set per row. The header names (any case,
surrounding spaces, spaces or hyphens for underscores) ``resp_rate, spo2, on_oxygen,
systolic_bp, pulse, consciousness, temperature`` and optionally ``spo2_scale``; every other
column is passed through untouched (ids are any text). What each cell may hold, as real
systems send it:

* numbers as plain decimals, optionally followed by their unit (``97%``, ``37.2°C``,
  ``88 bpm``); temperature in °C;
* ``on_oxygen``: true/yes/y/1/oxygen/O2 or false/no/n/0/air/room air (any case);
* ``consciousness``: an ACVPU letter or its word (``Alert``, ``New confusion``, ``Confused``,
  ``Voice``, ``Pain``, ``Unresponsive``);
* ``spo2_scale``: 1 or 2 (``Scale 2`` too); empty means Scale 1. A 2 is taken as the source
  system's record of the clinical decision that Scale 2 applies (an extract carries no more);
* an empty cell, ``NA``, ``N/A``, ``null``, ``-`` or ``not recorded``: not measured.

Each row becomes one of:

* **scored**: a complete set, with ``news2_total``, ``news2_risk``, ``news2_red_score`` and a
  ``<parameter>_score`` for each parameter;
* **incomplete**: a set missing a parameter (home kits often lack respiration rate or
  consciousness) is written out with ``news2_total`` and ``news2_risk`` empty,
  ``news2_missing`` naming what is missing, the sub-scores of what was measured,
  ``news2_partial_sum`` and ``news2_red_score`` (a measured 3 still matters). It is never given
  a total (ADR 0012);
* **rejected**: a cell that cannot be read, or a value no living person can have (SpO2 over
  100%, a pulse of 0 …): the row goes to the rejects file with every reason, never scored.

The output is written whole or not at all (a temporary file renamed at the end); the rejects
go beside it as ``<name>.rejects.csv`` (written even when empty), as ``joinedup score`` does.
Structural problems (no such file, not CSV text, a parameter column missing, a column named
twice) raise `News2CsvError` naming what to fix.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from joinedup.errors import UserError
from joinedup.import_report import rejects_path_for
from joinedup.neighbourhood.news2 import (
    PARAMETERS,
    ImplausibleObservations,
    News2Result,
    Observations,
    Scale2Decision,
    score,
)

SCALE_COLUMN = "spo2_scale"
SCORE_COLUMNS = tuple(f"{p}_score" for p in PARAMETERS)
ADDED_COLUMNS = (
    "news2_total",
    "news2_risk",
    "news2_red_score",
    "news2_missing",
    "news2_partial_sum",
    "news2_scale",
    *SCORE_COLUMNS,
)
NOT_MEASURED = {"", "na", "n/a", "nan", "null", "none", "-", "not recorded", "not measured"}
TRUE_WORDS = {"true", "t", "yes", "y", "1", "oxygen", "o2", "on oxygen", "supplemental oxygen"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "air", "room air", "on air"}
ACVPU_WORDS = {
    "a": "A",
    "alert": "A",
    "c": "C",
    "confused": "C",
    "confusion": "C",
    "new confusion": "C",
    "v": "V",
    "voice": "V",
    "responds to voice": "V",
    "p": "P",
    "pain": "P",
    "responds to pain": "P",
    "u": "U",
    "unresponsive": "U",
}
UNITS = {
    "resp_rate": ("/min", "breaths/min", "bpm", "rpm"),
    "spo2": ("%",),
    "systolic_bp": ("mmhg", "mm[hg]"),
    "pulse": ("/min", "bpm", "beats/min"),
    "temperature": ("°c", "c", "cel", "degc"),
}
NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$", re.ASCII)
SOURCE_DECISION = Scale2Decision("the source system (spo2_scale 2 in the extract)", None)


class News2CsvError(UserError, ValueError):
    """The file cannot be read as observation sets at all; the message says what to fix."""


@dataclass(frozen=True)
class RowReject:
    """A row that was not scored: its line in the file, every reason, and what it held."""

    line: int
    reason: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class News2CsvResult:
    header: list[str] = field(default_factory=list)
    rows_read: int = 0
    complete: int = 0
    incomplete: int = 0
    blank_lines: int = 0
    rejects: list[RowReject] = field(default_factory=list)
    output_path: Path | None = None
    rejects_path: Path | None = None

    @property
    def written(self) -> int:
        return self.complete + self.incomplete


def score_csv(input_path: Path, output: Path | TextIO) -> News2CsvResult:
    """Score every row of `input_path` into `output` (a path, written whole or not at all, with
    its rejects file beside it; or an open text stream). Raises `News2CsvError`."""
    text = _read_text(Path(input_path))
    if not isinstance(output, Path):
        return _score_into(text, input_path.name, output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            result = _score_into(text, input_path.name, handle)
        if result.written:
            partial.replace(output)
            result.output_path = output
    finally:
        partial.unlink(missing_ok=True)
    result.rejects_path = rejects_path_for(output)
    write_rejects(result.rejects_path, result.header, result.rejects)
    return result


def _score_into(text: str, name: str, out: TextIO) -> News2CsvResult:
    records = _records(text, name)
    try:
        _, raw_header = next(records)
    except StopIteration:
        raise News2CsvError(
            f"{name} is empty: expected a header row naming the parameters"
        ) from None
    columns = _parameter_columns(raw_header, name)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*raw_header, *ADDED_COLUMNS])
    result = News2CsvResult(header=raw_header)
    for line, values in records:
        if not values:
            result.blank_lines += 1
            continue
        result.rows_read += 1
        outcome = _score_row(values, raw_header, columns)
        if isinstance(outcome, RowReject):
            result.rejects.append(RowReject(line, outcome.reason, outcome.values))
            continue
        writer.writerow([*values, *_added_cells(outcome)])
        if outcome.complete:
            result.complete += 1
        else:
            result.incomplete += 1
    return result


def _score_row(
    values: list[str], header: list[str], columns: dict[str, int]
) -> News2Result | RowReject:
    raw = dict(zip(header, values, strict=False))
    if len(values) != len(header):
        return RowReject(
            0,
            f"the row has {len(values)} values but the header has {len(header)} columns; "
            "check for an unquoted comma or a missing value",
            raw,
        )
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for parameter in PARAMETERS:
        value, problem = parse_cell(parameter, values[columns[parameter]])
        parsed[parameter] = value
        if problem:
            problems.append(problem)
    scale, problem = parse_scale(values[columns[SCALE_COLUMN]] if SCALE_COLUMN in columns else "")
    if problem:
        problems.append(problem)
    if problems:
        return RowReject(0, "; ".join(problems), raw)
    try:
        return score(Observations(**parsed), scale2=SOURCE_DECISION if scale == 2 else None)
    except ImplausibleObservations as refused:
        return RowReject(0, str(refused), raw)


def _added_cells(result: News2Result) -> list[str]:
    return [
        "" if result.total is None else str(result.total),
        result.risk or "",
        "true" if result.red_score else "false",
        ";".join(result.missing),
        str(result.partial_sum),
        str(result.scale),
        *(str(result.sub_scores.get(p, "")) for p in PARAMETERS),
    ]


# --- cells ---------------------------------------------------------------------------------


def parse_cell(parameter: str, cell: str) -> tuple[Any, str | None]:
    """(value, None), (None, None) when not measured, or (None, reason)."""
    text = " ".join(cell.split()).lower()
    if text in NOT_MEASURED:
        return None, None
    if parameter == "on_oxygen":
        if text in TRUE_WORDS or text in FALSE_WORDS:
            return text in TRUE_WORDS, None
        return None, f"on_oxygen {cell.strip()!r} is not yes or no (true/false, air/oxygen)"
    if parameter == "consciousness":
        level = ACVPU_WORDS.get(text)
        if level is None:
            return None, (
                f"consciousness {cell.strip()!r} is not an ACVPU level (A, C for new "
                "confusion, V, P or U)"
            )
        return level, None
    return _number(parameter, text, cell)


def _number(parameter: str, text: str, cell: str) -> tuple[float | None, str | None]:
    for unit in UNITS[parameter]:
        if text.endswith(unit) and NUMBER.match(text[: -len(unit)].strip()):
            text = text[: -len(unit)].strip()
            break
    if not NUMBER.match(text):
        unit = "°C" if parameter == "temperature" else UNITS[parameter][0]
        return None, f"{parameter} {cell.strip()!r} is not a number (in {unit})"
    return float(text), None


def parse_scale(cell: str) -> tuple[int, str | None]:
    text = " ".join(cell.split()).lower().removeprefix("scale").strip()
    if text in NOT_MEASURED or text == "1":
        return 1, None
    if text == "2":
        return 2, None
    return 1, f"spo2_scale {cell.strip()!r} is not 1 or 2"


# --- the file ------------------------------------------------------------------------------


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _parameter_columns(raw_header: list[str], name: str) -> dict[str, int]:
    """Where each parameter (and the scale) is in the row; a structural problem raises."""
    keys = [_column_key(h) for h in raw_header]
    if len(keys) == 1 and any(sep in raw_header[0] for sep in (";", "\t", "|")):
        raise News2CsvError(f"{name} does not look comma-separated: save it as CSV")
    wanted = (*PARAMETERS, SCALE_COLUMN)
    twice = sorted({k for k in keys if k in wanted and keys.count(k) > 1})
    if twice:
        raise News2CsvError(f"{name}: the header names {', '.join(twice)} more than once")
    clashes = [k for k in keys if k in ADDED_COLUMNS]
    if clashes:
        raise News2CsvError(
            f"{name} already has column(s) {', '.join(clashes)}, which joinedup news2 adds: "
            "rename or remove them"
        )
    missing = [p for p in PARAMETERS if p not in keys]
    if missing:
        raise News2CsvError(
            f"{name} has no {', '.join(missing)} column: the header must name "
            f"{', '.join(PARAMETERS)} (leave a cell empty when a parameter was not measured)"
        )
    return {k: i for i, k in enumerate(keys) if k in wanted}


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise News2CsvError(f"no such file: {path}")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise News2CsvError(f"{path.name} is not a CSV text file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise News2CsvError(
            f"{path.name} is not UTF-8 text (byte {err.start}): save it as 'CSV UTF-8'"
        ) from None


def _records(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, values) per record; blank lines as []."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            blank = len(values) <= 1 and all(not v.strip() for v in values)
            yield reader.line_num, [] if blank else values
    except csv.Error as err:
        raise News2CsvError(f"{name} is not valid CSV at line {reader.line_num}: {err}") from None


def write_rejects(path: Path, header: list[str], rejects: list[RowReject]) -> None:
    """One row per rejected row: its line, the reasons, and the row's cells as given."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["line", "reason", *header])
        for reject in rejects:
            writer.writerow(
                [reject.line, reject.reason, *(reject.values.get(n, "") for n in header)]
            )
