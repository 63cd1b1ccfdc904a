"""Storing a workforce file as one numbered batch (one transaction, one audit event; the same
figures again change nothing) and reading the current figures: for each organisation and
period, the latest batch that names them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.workforce_file import FileLine, read_lines
from joinedup.commissioning.workforce_models import WorkforceBatch, WorkforceFigure
from joinedup.governance.roles import Principal
from joinedup.import_report import ImportReport

PURPOSE = "commissioning: workforce baseline"


def import_workforce(
    sessions: sessionmaker[Session],
    actor: Principal | str,
    text: str,
    *,
    source_name: str,
    strict: bool = False,
    least_deprived_first: bool = False,
) -> ImportReport:
    """Load a workforce file's text as one batch (see the module docstring)."""
    lines, good, rejected = read_lines(text, least_deprived_first=least_deprived_first)
    report = ImportReport(rows=lines, rejected=rejected)
    if strict and rejected:
        report.committed = False
        return report
    if not good:
        return report
    checksum = _checksum(good)
    name, role = (actor.actor, actor.role) if isinstance(actor, Principal) else (actor, "import")
    with unit_of_work(
        sessions,
        actor=name,
        actor_role=role,
        action="workforce.import",
        entity_type="workforce_batch",
        purpose=PURPOSE,
    ) as uow:
        latest = uow.session.execute(
            select(WorkforceBatch).order_by(WorkforceBatch.version.desc()).limit(1)
        ).scalar_one_or_none()
        if latest is not None and latest.checksum == checksum:
            report.unchanged, report.batch_version = True, latest.version
            uow.audit.action = "workforce.import_unchanged"
            uow.audit.entity_id = str(latest.version)
            uow.audit.detail.update(lines=lines, rejected=len(rejected), source=source_name)
            return report
        batch = WorkforceBatch(
            version=(latest.version + 1) if latest else 1,
            source_name=source_name[:255],
            checksum=checksum,
            lines_read=lines,
            lines_loaded=len(good),
            lines_rejected=len(rejected),
            imported_at=uow.now,
            imported_by=name,
        )
        uow.session.add(batch)
        uow.session.flush()
        uow.session.add_all(batch_figures(batch.id, good))
        report.recorded, report.batch_version = len(good), batch.version
        uow.audit.entity_id = str(batch.version)
        uow.audit.detail.update(
            lines=lines, loaded=len(good), rejected=len(rejected), source=source_name
        )
    return report


def batch_figures(batch_id: int, lines: Iterable[FileLine]) -> list[WorkforceFigure]:
    """One figure per organisation, period and role: the FTE of its staff groups added up."""
    figures: dict[tuple[str, str, str], WorkforceFigure] = {}
    for item in lines:
        key = (item.org_code, item.period, item.role)
        if key in figures:
            figures[key].fte += item.fte
            continue
        figures[key] = WorkforceFigure(
            batch_id=batch_id,
            org_code=item.org_code,
            level=item.level,
            org_name=item.name,
            pcn_code=item.pcn_code,
            period=item.period,
            role=item.role,
            fte=item.fte,
            list_size=item.list_size,
            imd_quintile=item.imd_quintile,
        )
    return list(figures.values())


def _checksum(lines: Iterable[FileLine]) -> str:
    figures = sorted(
        (
            i.org_code,
            i.level,
            i.name,
            i.pcn_code,
            i.period,
            i.staff_group,
            i.fte,
            i.list_size,
            i.imd_quintile,
        )
        for i in lines
    )
    return hashlib.sha256(json.dumps(figures).encode()).hexdigest()


@dataclass(frozen=True)
class FigureRecord:
    org_code: str
    level: str
    org_name: str
    pcn_code: str
    period: str
    role: str
    fte: float
    list_size: int | None
    imd_quintile: int | None
    batch_version: int


def current_figures(sessions: sessionmaker[Session]) -> list[FigureRecord]:
    """For each organisation and period, the figures of the latest batch that names them."""
    with sessions() as session:
        rows = session.execute(
            select(WorkforceFigure, WorkforceBatch.version)
            .join(WorkforceBatch, WorkforceFigure.batch_id == WorkforceBatch.id)
            .order_by(WorkforceBatch.version)
        ).all()
    latest: dict[tuple[str, str], int] = {}
    for figure, version in rows:
        latest[(figure.org_code, figure.period)] = version
    return [
        FigureRecord(
            f.org_code,
            f.level,
            f.org_name,
            f.pcn_code,
            f.period,
            f.role,
            f.fte,
            f.list_size,
            f.imd_quintile,
            version,
        )
        for f, version in rows
        if latest[(f.org_code, f.period)] == version
    ]


def batches(sessions: sessionmaker[Session]) -> list[WorkforceBatch]:
    """Every batch, newest first (detached rows, for display)."""
    with sessions() as session:
        found = list(
            session.execute(select(WorkforceBatch).order_by(WorkforceBatch.version.desc()))
            .scalars()
            .all()
        )
        session.expunge_all()
    return found
