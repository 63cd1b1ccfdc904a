"""Storing and reading submissions: every submission a new version (nothing overwritten; the
highest version stands), written in a `unit_of_work` with its audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.delivery.areas import Area
from joinedup.commissioning.delivery.validate import SubmissionInput, check_submission
from joinedup.commissioning.models import DeliveryArea, DeliverySubmission
from joinedup.commissioning.specification import (
    Quarter,
    Specification,
)

PURPOSE = "commissioning: delivery of the primary care specification"


def record_quarter(
    sessions: sessionmaker[Session],
    actor: str,
    actor_role: str,
    spec: Specification,
    areas: Sequence[Area],
    raw: Mapping[str, Any],
    *,
    source: str = "form",
) -> int:
    """Record one area's planned and actual % for an element in a quarter; the version made.
    One unit of work, audited; `SubmissionError` (nothing written) if the fields are wrong."""
    submission = check_submission(spec, areas, raw)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.submit",
        entity_type="delivery_submission",
        entity_id=f"{submission.area_code}/{submission.element_id}/{submission.quarter}",
        purpose=PURPOSE,
    ) as uow:
        version = add_version(uow.session, spec, areas, submission, actor, source, uow.now)
        uow.audit.detail.update({"version": version, "source": source})
    return version


def add_version(
    session: Session,
    spec: Specification,
    areas: Sequence[Area],
    submission: SubmissionInput,
    actor: str,
    source: str,
    now: dt.datetime,
) -> int:
    """Insert the submission as the next version of its area, element and quarter."""
    area = next(a for a in areas if a.code == submission.area_code)
    if session.get(DeliveryArea, area.code) is None:
        session.add(
            DeliveryArea(
                code=area.code,
                name=area.name,
                population=area.population,
                org_code=area.org_code,
                created_at=now,
            )
        )
        session.flush()
    previous = session.scalars(
        select(DeliverySubmission)
        .where(
            DeliverySubmission.area_code == submission.area_code,
            DeliverySubmission.element_id == submission.element_id,
            DeliverySubmission.quarter == str(submission.quarter),
        )
        .order_by(DeliverySubmission.version.desc())
        .limit(1)
    ).first()
    version = (previous.version if previous else 0) + 1
    actual = submission.actual_percent
    if actual is None and previous is not None and previous.source == "measured":
        actual = previous.actual_percent  # a new plan keeps the quarter's measured actual
    session.add(
        DeliverySubmission(
            specification_id=spec.id,
            area_code=submission.area_code,
            element_id=submission.element_id,
            quarter=str(submission.quarter),
            version=version,
            planned_percent=submission.planned_percent,
            actual_percent=actual,
            notes=submission.notes,
            source=source,
            submitted_at=now,
            submitted_by=actor,
        )
    )
    session.flush()
    return version


@dataclass(frozen=True)
class SubmissionRecord:
    area_code: str
    element_id: str
    quarter: Quarter
    version: int
    planned_percent: float | None
    actual_percent: float | None
    notes: str
    source: str
    submitted_at: dt.datetime
    submitted_by: str

    def csv_row(self) -> dict[str, Any]:
        return {
            "area_code": self.area_code,
            "element_id": self.element_id,
            "quarter": str(self.quarter),
            "planned_percent": blank_percent(self.planned_percent),
            "actual_percent": blank_percent(self.actual_percent),
            "notes": self.notes,
            "version": self.version,
            "source": self.source,
            "submitted_at": self.submitted_at.isoformat(timespec="seconds"),
            "submitted_by": self.submitted_by,
        }


def blank_percent(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def submissions(
    sessions: sessionmaker[Session],
    *,
    latest_only: bool = True,
    area_code: str | None = None,
    element_id: str | None = None,
) -> list[SubmissionRecord]:
    """Submissions in area, element, quarter, version order: only the version that stands
    for each area, element and quarter, or (``latest_only=False``) every version."""
    query = select(DeliverySubmission)
    if area_code is not None:
        query = query.where(DeliverySubmission.area_code == area_code)
    if element_id is not None:
        query = query.where(DeliverySubmission.element_id == element_id)
    with sessions() as session:
        rows = session.scalars(query).all()
        records = [
            SubmissionRecord(
                r.area_code,
                r.element_id,
                Quarter.parse(r.quarter),
                r.version,
                r.planned_percent,
                r.actual_percent,
                r.notes,
                r.source,
                r.submitted_at,
                r.submitted_by,
            )
            for r in rows
        ]
    records.sort(key=lambda r: (r.area_code, r.element_id, r.quarter, r.version))
    if latest_only:
        standing = {(r.area_code, r.element_id, r.quarter): r for r in records}
        records = list(standing.values())
    return records
