"""`joinedup score` as a command: its plain arguments parsed without Typer, and the run reported
as lines, for both the quick path of `joinedup.launcher` and the Typer command in `joinedup.cli`
(so both print the same lines and fail with the same messages; ADR 0035).

Kept free of heavy imports: DuckDB is imported by `score_extract` when it runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from joinedup.errors import UserError

if TYPE_CHECKING:
    from joinedup.analytics.extract_scoring.specs import ExtractScoringResult

SHOWN_REJECTS = 20


class ScoreArgs(NamedTuple):
    name: str
    input_path: Path
    output: Path | None
    index_date: str | None


def parse_score_args(args: Sequence[str]) -> ScoreArgs | None:
    """The arguments of `joinedup score` in its plain form, or None for anything else (left to
    the full command line, which parses and explains it)."""
    positional: list[str] = []
    options: dict[str, str] = {}
    names = {"-o": "output", "--output": "output", "--index-date": "index_date"}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        key, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if key in names:
            if inline:
                value = inline
            elif rest and not rest[0].startswith("-"):
                value = rest.pop(0)
            else:
                return None
            if names[key] in options:
                return None
            options[names[key]] = value
        elif arg.startswith("-") or not arg:
            return None  # --help, an unknown option, or '-': Typer's to explain
        else:
            positional.append(arg)
    if len(positional) != 2:
        return None
    output = options.get("output")
    return ScoreArgs(
        positional[0], Path(positional[1]), Path(output) if output else None,
        options.get("index_date"),
    )  # fmt: skip


class BadIndexDate(UserError):
    """--index-date is not a date (a usage error: exit code 2, as Typer's)."""


def parse_index_date(text: str | None) -> dt.date | None:
    """The --index-date, or None; `BadIndexDate` when it is not YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadIndexDate(f"--index-date {text!r} is not a date in the form YYYY-MM-DD") from None


def run_score(
    args: ScoreArgs, say: Callable[[str], None], warn: Callable[[str], None]
) -> ExtractScoringResult:
    """Score the extract and report it: the summary (and, without -o, the scores as CSV) through
    `say`, the ignored columns and the first rejects through `warn`."""
    from joinedup.analytics.extract_scoring import score_extract

    result = score_extract(
        args.name,
        args.input_path,
        args.output,
        index_date=parse_index_date(args.index_date),
        keep_scores=args.output is None,
    )
    if result.ignored_columns:
        warn(
            f"note: ignored column(s) {', '.join(result.ignored_columns)}: "
            f"{args.name} does not use them"
        )
    counts = result.counts()
    say(
        f"{counts['rows_read']:,} rows read, {counts['rows_accepted']:,} accepted, "
        f"{counts['rows_rejected']:,} rejected; {counts['people_scored']:,} people scored"
    )
    if result.output_path is not None:
        say(f"Scores: {result.output_path}")
        say(f"Rejects: {result.rejects_path}")
    elif result.scores is not None:
        sys.stdout.flush()
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.scores.column_names)
        writer.writerows(
            ("" if v is None else v for v in row.values()) for row in result.scores.to_pylist()
        )
    for reject in result.rejects[:SHOWN_REJECTS]:
        warn(f"row {reject.row}: {reject.reason}")
    if len(result.rejects) > SHOWN_REJECTS:
        warn(f"... and {len(result.rejects) - SHOWN_REJECTS:,} more rejected rows")
    return result


def score_now(args: ScoreArgs) -> int:
    def say(line: str) -> None:
        print(line, flush=True)

    def warn(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        run_score(args, say, warn)
    except BadIndexDate as exc:
        warn(f"error: {exc}")
        return 2
    except (UserError, PermissionError) as exc:  # as `joinedup.cli.main` reports them
        warn(f"error: {exc}")
        return 1
    except OSError as exc:
        warn(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
        return 1
    return 0
