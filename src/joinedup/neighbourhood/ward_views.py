"""What the virtual ward shows: the board (each patient's latest NEWS2, trend, missed readings and
open alerts), the ward measures (occupancy, length of stay, step-up vs step-down, 30-day
readmissions) and the reads the pages need. Read-only: the writes are in `neighbourhood.ward`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
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
    STORED_SCORE_COLUMNS,
    WARD_ORG_TYPES,
    WardError,
    WardNotFound,
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
    """The ward's open admissions, those with the most urgent open alerts first.

    Four statements whatever the ward's size (no query per patient): the open stays; each
    stay's latest set; its last two complete totals; and its open, missed-reading and overdue
    alerts, counted by the database. Plain rows, no ORM objects: a 200-patient board reads about
    800 narrow rows."""
    with sessions() as session:
        stays = session.execute(
            select(
                WardAdmission.id,
                WardAdmission.person_id,
                WardAdmission.pathway,
                WardAdmission.admitted_at,
                WardAdmission.expected_stay_days,
            )
            .where(WardAdmission.ward_id == ward_id, WardAdmission.discharged_at.is_(None))
            .order_by(WardAdmission.admitted_at)
        ).all()
        latest, totals = _latest_and_totals(session, ward_id)
        counts = _open_alert_counts(session, ward_id, now)
    rows = [
        BoardRow(
            admission_id=stay.id,
            person_id=stay.person_id,
            pathway=stay.pathway,
            admitted_at=stay.admitted_at,
            expected_stay_days=stay.expected_stay_days,
            latest_at=latest[stay.id].taken_at if stay.id in latest else None,
            latest=stored_result(latest[stay.id]) if stay.id in latest else None,
            trend=_trend(totals.get(stay.id, [])),
            missed_readings=counts.get(stay.id, (0, 0, 0))[1],
            open_alerts=counts.get(stay.id, (0, 0, 0))[0],
            overdue_alerts=counts.get(stay.id, (0, 0, 0))[2],
        )
        for stay in stays
    ]
    return sorted(rows, key=lambda r: (-r.overdue_alerts, -r.open_alerts, -_urgency(r)))


def _open_stays(ward_id: int) -> Any:
    return select(WardAdmission.id).where(
        WardAdmission.ward_id == ward_id, WardAdmission.discharged_at.is_(None)
    )


def _latest_and_totals(
    session: Session, ward_id: int
) -> tuple[dict[int, Any], dict[int, list[int]]]:
    """Each open stay's latest set (a row of the stored score's columns) and its two latest
    complete NEWS2 totals, newest first (for the trend). Two statements on the
    (admission, time) index: the latest by each stay's greatest time (200 rows for 200 stays,
    the score's JSON columns read only for those), the totals by a window over three narrow
    columns. One window over whole sets took four times as long."""
    last = (
        select(ReadingSet.admission_id, func.max(ReadingSet.taken_at).label("taken_at"))
        .where(ReadingSet.admission_id.in_(_open_stays(ward_id)))
        .group_by(ReadingSet.admission_id)
        .subquery()
    )
    latest = {
        row.admission_id: row
        for row in session.execute(
            select(ReadingSet.admission_id, ReadingSet.taken_at, *STORED_SCORE_COLUMNS).join(
                last,
                (ReadingSet.admission_id == last.c.admission_id)
                & (ReadingSet.taken_at == last.c.taken_at),
            )
        )
    }
    newest = func.row_number().over(
        partition_by=ReadingSet.admission_id, order_by=ReadingSet.taken_at.desc()
    )
    ranked = (
        select(ReadingSet.admission_id, ReadingSet.news2_total, newest.label("newest"))
        .where(
            ReadingSet.admission_id.in_(_open_stays(ward_id)),
            ReadingSet.news2_total.is_not(None),
        )
        .subquery()
    )
    totals: dict[int, list[int]] = {}
    for admission_id, total in session.execute(
        select(ranked.c.admission_id, ranked.c.news2_total)
        .where(ranked.c.newest <= 2)
        .order_by(ranked.c.admission_id, ranked.c.newest)
    ):
        totals.setdefault(admission_id, []).append(total)
    return latest, totals


def _open_alert_counts(
    session: Session, ward_id: int, now: dt.datetime
) -> dict[int, tuple[int, int, int]]:
    """(open, missed readings, overdue) alerts of each open stay that has any."""
    missed = func.sum(case((WardAlert.rule_id == "missed-reading", 1), else_=0))
    overdue = func.sum(case((WardAlert.due_by < now, 1), else_=0))
    found = session.execute(
        select(WardAlert.admission_id, func.count(), missed, overdue)
        .where(WardAlert.admission_id.in_(_open_stays(ward_id)), WardAlert.state != "closed")
        .group_by(WardAlert.admission_id)
    )
    return {a: (int(n), int(m or 0), int(o or 0)) for a, n, m, o in found}


def _trend(totals: list[int]) -> str | None:
    if len(totals) < 2:
        return None
    return "up" if totals[0] > totals[1] else "down" if totals[0] < totals[1] else "same"


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
