"""How every `joinedup … import` command reports the lines it could not take: one table of line
numbers and reasons, what happened under --strict, and exit code 1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import typer
from rich.console import Console
from rich.table import Table


class RejectedLine(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def reason(self) -> str: ...


def report_rejected_lines(out: Console, rejected: Sequence[RejectedLine], committed: bool) -> None:
    """Print the rejected lines and exit with 1 if there are any; return if there are none."""
    if not rejected:
        return
    rejects = Table(title="Rejected lines")
    rejects.add_column("Line", justify="right")
    rejects.add_column("Reason")
    for rejection in rejected:
        rejects.add_row(str(rejection.line), rejection.reason)
    out.print(rejects)
    if not committed:
        out.print("Nothing was loaded (--strict): correct the lines above and load again.")
    raise typer.Exit(1)
