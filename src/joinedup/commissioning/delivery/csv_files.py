"""Submissions as CSV: the import (every line checked, one transaction, one audit event) and
the export of every version."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.delivery.areas import Area
from joinedup.commissioning.delivery.submissions import PURPOSE, SubmissionRecord, add_version
from joinedup.commissioning.delivery.validate import (
    SubmissionError,
    SubmissionInput,
    check_submission,
)
from joinedup.commissioning.specification import Specification
from joinedup.import_report import ImportReport, Rejection

CSV_COLUMNS = ("area_code", "element_id", "quarter", "planned_percent", "actual_percent", "notes")


EXPORT_COLUMNS = (*CSV_COLUMNS, "version", "source", "submitted_at", "submitted_by")


FIRST_DATA_LINE = 2  # line 1 of a CSV file is its header


def read_csv(text: str) -> list[dict[str, str]]:
    """The data rows of a submissions CSV (header naming `CSV_COLUMNS`), or `SubmissionError`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header and c != "notes"]
    if missing:
        raise SubmissionError(
            [f"the header line must name {', '.join(CSV_COLUMNS)} (missing: {', '.join(missing)})"]
        )
    reader.fieldnames = header
    return [{k: v for k, v in row.items() if k is not None} for row in reader]


def import_submissions(
    sessions: sessionmaker[Session],
    actor: str,
    actor_role: str,
    spec: Specification,
    areas: Sequence[Area],
    rows: Iterable[Mapping[str, Any]],
    *,
    strict: bool = False,
) -> ImportReport:
    """Record the rows of a submissions CSV (line 2 onwards) in one transaction with one audit
    event; every line that cannot be used is reported with its reason. With `strict`, nothing
    is recorded when any line is rejected."""
    report = ImportReport()
    good: list[SubmissionInput] = []
    for line, row in enumerate(rows, start=FIRST_DATA_LINE):
        report.rows += 1
        try:
            good.append(check_submission(spec, areas, row))
        except SubmissionError as exc:
            report.rejected.append(Rejection(line, "; ".join(exc.reasons)))
    if (strict and report.rejected) or not good:
        report.committed = not (strict and report.rejected)
        return report
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.import",
        entity_type="delivery_submission",
        purpose=PURPOSE,
    ) as uow:
        for submission in good:
            add_version(uow.session, spec, areas, submission, actor, "csv", uow.now)
        report.recorded = len(good)
        uow.audit.detail.update({"recorded": len(good), "rejected": len(report.rejected)})
    return report


def export_csv(records: Iterable[SubmissionRecord]) -> str:
    """Submissions as CSV text (`EXPORT_COLUMNS`), which `import_submissions` reads back."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record.csv_row())
    return buffer.getvalue()
