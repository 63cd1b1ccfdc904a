"""The `joinedup` entry point: `joinedup score` straight to its service, every other command
through the full command line (`joinedup.cli`).

`joinedup score SCORE INPUT.csv [-o OUT.csv] [--index-date YYYY-MM-DD]` is the command a user
runs on extracts of a million rows, often in a loop, where the start-up of the whole command
line (Typer, which builds a Pydantic adapter for every parameter, Rich, and every command
group: about half a CPU-second) costs as much as the scoring itself (issue 14, ADR 0035). A
`score` invocation in exactly that form is parsed by `analytics.extract_scoring.cli` and run
by `run_score`, the function the Typer command calls too, so both print the same lines and
fail with the same messages; anything else (``--help``, an unknown option, a missing
argument, any other command) goes to `joinedup.cli.main`, which explains it.

Kept free of heavy imports: only the standard library here; DuckDB is imported by the scoring
service when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run `joinedup` with `argv` (default: the process's arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["score"]:
        from joinedup.analytics.extract_scoring.cli import parse_score_args, score_now

        plain = parse_score_args(args[1:])
        if plain is not None:
            raise SystemExit(score_now(plain))
    from joinedup import cli

    if argv is not None:
        sys.argv = ["joinedup", *args]
    cli.main()


if __name__ == "__main__":
    main()
