"""What the virtual ward shows: the board (each patient's latest NEWS2, trend, missed readings and
open alerts), the ward measures (occupancy, length of stay, step-up vs step-down, 30-day
readmissions) and the reads the pages need. Read-only: the writes are in `neighbourhood.ward`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.neighbourhood import news2
from joinedup.neighbourhood.models import (
    ReadingSet,
    VirtualWard,
    WardAdmission,
    WardAlert,
)
from joinedup.neighbourhood.ward import (
    READMISSION_WINDOW,
    WARD_ORG_TYPES,
    WardError,
    WardNotFound,
    open_admissions,
    reading_sets,
    stored_result,
)

# --- measures ---


@dataclass(frozen=True)
class WardMeasures:
    capacity_beds: int
    occupied_now: int
    bed_days: float
    occupancy: float  # occupied bed-days over capacity × days in the period
    admissions: int
    step_up: int
    step_down: int
    discharges: int
    mean_length_of_stay_days: float | None
    readmissions_30_days: int


def ward_measures(
    sessions: sessionmaker[Session],
    ward_id: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
) -> WardMeasures:
    """Occupancy, length of stay, step-up vs step-down and readmissions for [start, end)."""
    if end <= start:
        raise WardError(["the period ends after it starts"])
    now = now or dt.datetime.now(dt.UTC)
    with sessions() as session:
        ward = session.get(VirtualWard, ward_id)
        if ward is None:
            raise WardNotFound("such virtual ward")
        stays = list(session.scalars(select(WardAdmission).where(WardAdmission.ward_id == ward_id)))
        everyone = list(session.scalars(select(WardAdmission)))
    admitted = [s for s in stays if start <= s.admitted_at < end]
    discharged = [s for s in stays if s.discharged_at and start <= s.discharged_at < end]
    occupied = sum((_overlap(s, start, min(end, now)) for s in stays), dt.timedelta(0))
    bed_days = occupied / dt.timedelta(days=1)
    days = (end - start) / dt.timedelta(days=1)
    return WardMeasures(
        capacity_beds=ward.capacity_beds,
        occupied_now=sum(1 for s in stays if s.discharged_at is None),
        bed_days=bed_days,
        occupancy=bed_days / (ward.capacity_beds * days),
        admissions=len(admitted),
        step_up=sum(1 for s in admitted if s.pathway == "step_up"),
        step_down=sum(1 for s in admitted if s.pathway == "step_down"),
        discharges=len(discharged),
        mean_length_of_stay_days=_mean_stay(discharged),
        readmissions_30_days=sum(1 for s in admitted if is_readmission(s, everyone)),
    )


def _overlap(stay: WardAdmission, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    stay_end = stay.discharged_at or end
    return max(dt.timedelta(0), min(stay_end, end) - max(stay.admitted_at, start))


def _mean_stay(discharged: Sequence[WardAdmission]) -> float | None:
    if not discharged:
        return None
    stays = [(s.discharged_at - s.admitted_at) for s in discharged if s.discharged_at]
    return sum(stays, dt.timedelta(0)) / dt.timedelta(days=1) / len(stays)


def is_readmission(stay: WardAdmission, everyone: Iterable[WardAdmission]) -> bool:
    """Admitted within 30 days of the same person's discharge from any virtual ward."""
    return any(
        other.person_id == stay.person_id
        and other.id != stay.id
        and other.discharged_at is not None
        and dt.timedelta(0) <= stay.admitted_at - other.discharged_at <= READMISSION_WINDOW
        for other in everyone
    )


# --- the board ---


@dataclass(frozen=True)
class BoardRow:
    """One patient on the board: their latest set, its trend, missed readings, open alerts."""

    admission_id: int
    person_id: int
    pathway: str
    admitted_at: dt.datetime
    expected_stay_days: int
    latest_at: dt.datetime | None
    latest: news2.News2Result | None
    #: "up", "down", "same" against the previous complete set; None without two complete sets.
    trend: str | None
    missed_readings: int
    open_alerts: int
    overdue_alerts: int


def board(sessions: sessionmaker[Session], ward_id: int, now: dt.datetime) -> list[BoardRow]:
    """The ward's open admissions, those with the most urgent open alerts first."""
    with sessions() as session:
        stays = open_admissions(session, ward_id)
        ids = [s.id for s in stays]
        latest = _latest_sets(session, ids)
        totals = _last_two_totals(session, ids)
        alert_rows = session.execute(
            select(WardAlert.admission_id, WardAlert.rule_id, WardAlert.due_by).where(
                WardAlert.admission_id.in_(ids), WardAlert.state != "closed"
            )
        ).all()
    by_admission: dict[int, list[Any]] = {}
    for alert in alert_rows:
        by_admission.setdefault(alert.admission_id, []).append(alert)
    rows = [
        _board_row(
            stay, latest.get(stay.id), totals.get(stay.id, []), by_admission.get(stay.id, []), now
        )
        for stay in stays
    ]
    return sorted(rows, key=lambda r: (-r.overdue_alerts, -r.open_alerts, -_urgency(r)))


def _latest_sets(session: Session, admission_ids: list[int]) -> dict[int, ReadingSet]:
    """Each admission's latest set, by one windowed query (the board needs no more of them)."""
    if not admission_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=ReadingSet.admission_id, order_by=ReadingSet.taken_at.desc())
        .label("rank")
    )
    ranked = (
        select(ReadingSet.id, rank).where(ReadingSet.admission_id.in_(admission_ids)).subquery()
    )
    latest = session.scalars(
        select(ReadingSet).join(ranked, ranked.c.id == ReadingSet.id).where(ranked.c.rank == 1)
    )
    return {row.admission_id: row for row in latest}


def _last_two_totals(session: Session, admission_ids: list[int]) -> dict[int, list[int]]:
    """Each admission's two latest complete NEWS2 totals, newest first (for the trend)."""
    if not admission_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=ReadingSet.admission_id, order_by=ReadingSet.taken_at.desc())
        .label("rank")
    )
    ranked = (
        select(ReadingSet.admission_id, ReadingSet.news2_total, rank)
        .where(ReadingSet.admission_id.in_(admission_ids), ReadingSet.news2_total.is_not(None))
        .subquery()
    )
    totals: dict[int, list[int]] = {}
    for admission_id, total, _ in session.execute(
        select(ranked).where(ranked.c.rank <= 2).order_by(ranked.c.admission_id, ranked.c.rank)
    ):
        totals.setdefault(admission_id, []).append(total)
    return totals


def _trend(totals: list[int]) -> str | None:
    if len(totals) < 2:
        return None
    return "up" if totals[0] > totals[1] else "down" if totals[0] < totals[1] else "same"


def _board_row(
    stay: WardAdmission,
    latest: ReadingSet | None,
    totals: list[int],
    alert_rows: Sequence[Any],
    now: dt.datetime,
) -> BoardRow:
    mine = alert_rows  # this admission's open alerts
    return BoardRow(
        admission_id=stay.id,
        person_id=stay.person_id,
        pathway=stay.pathway,
        admitted_at=stay.admitted_at,
        expected_stay_days=stay.expected_stay_days,
        latest_at=latest.taken_at if latest else None,
        latest=stored_result(latest) if latest else None,
        trend=_trend(totals),
        missed_readings=sum(1 for a in mine if a.rule_id == "missed-reading"),
        open_alerts=len(mine),
        overdue_alerts=sum(1 for a in mine if a.due_by < now),
    )


def _urgency(row: BoardRow) -> int:
    if row.latest is None:
        return -1
    return row.latest.total if row.latest.total is not None else row.latest.partial_sum


def admission_of(sessions: sessionmaker[Session], person_id: int) -> WardAdmission | None:
    """The person's open admission, or else their latest one; None if never admitted."""
    with sessions() as session:
        return session.scalars(
            select(WardAdmission)
            .where(WardAdmission.person_id == person_id)
            .order_by(WardAdmission.discharged_at.is_not(None), WardAdmission.admitted_at.desc())
            .limit(1)
        ).first()


def chart_sets(sessions: sessionmaker[Session], admission_id: int) -> list[ReadingSet]:
    with sessions() as session:
        return reading_sets(session, admission_id)


def ward_of_admission(sessions: sessionmaker[Session], admission_id: int) -> int:
    with sessions() as session:
        ward_id = session.scalar(
            select(WardAdmission.ward_id).where(WardAdmission.id == admission_id)
        )
    if ward_id is None:
        raise WardNotFound("such admission")
    return int(ward_id)


def ward_organisations(sessions: sessionmaker[Session]) -> list[Organisation]:
    """The neighbourhoods and hubs a ward may belong to."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Organisation)
                .where(Organisation.org_type.in_(WARD_ORG_TYPES), Organisation.active.is_(True))
                .order_by(Organisation.name)
            )
        )
