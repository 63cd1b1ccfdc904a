"""What every line-by-line import reports: each line it could not take, with its reason, and
what it did with the rest. One type for the delivery, workforce and objection imports; the
command line prints it with `joinedup.cli_common.report_rejected_lines`.

(`joinedup ingest` batches keep their own summary: their rejects can run to millions, so they
are streamed to the batch's rejects file, located by file and entry rather than line.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Rejection:
    """A line of an import file that was not loaded, and why (in words a person can act on)."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: data lines read (`rows`), records newly recorded, those already held
    as they are, and every rejected line. `committed` is False when strict mode refused the
    whole file. A versioned import (a batch) also says the batch it made or found
    (`batch_version`) and whether the file changed nothing (`unchanged`)."""

    rows: int = 0
    recorded: int = 0
    already_recorded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    committed: bool = True
    unchanged: bool = False
    batch_version: int | None = None

    @property
    def accepted(self) -> int:
        """Lines taken: newly recorded or already held."""
        return self.recorded + self.already_recorded


def rejects_path_for(output_path: Path) -> Path:
    """Where the rejected rows of a command writing `output_path` go: ``<name>.rejects.csv``
    beside it (`joinedup score`, `joinedup news2`)."""
    return output_path.with_name(f"{output_path.stem}.rejects.csv")
