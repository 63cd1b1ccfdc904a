"""Writing what scoring an extract produced: the rejects file, columns in the file's order."""

from __future__ import annotations

import csv
from pathlib import Path

from joinedup.analytics.extract_scoring.specs import Reject


def sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def file_order(header: dict[str, int]) -> list[str]:
    return sorted(header, key=header.__getitem__)


def write_rejects(path: Path, header: dict[str, int], rejects: list[Reject]) -> None:
    columns = file_order(header)
    extra = ["(unnamed)"] if any("(unnamed)" in r.values for r in rejects) else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "reason", *columns, *extra])
        for reject in rejects:
            writer.writerow(
                [reject.row, reject.reason, *(reject.values.get(n, "") for n in [*columns, *extra])]
            )
