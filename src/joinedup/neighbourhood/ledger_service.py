"""Gathers what the alert-effectiveness ledger reads (`ledger` computes; ADR 0026).

From the care store: the alerts raised on one ward (or every ward) in a period, the stays that
overlapped it (patient-days, and their stored reading sets for re-running rules), and ward
discharges to hospital or death with their times. From the population store
(`population.reads`): each person's groups (age, sex, deprivation, ethnicity) and their
emergency admissions, A&E attendances and deaths from the period's start to 48 hours after its
end. Returns the ledger published (small-number suppressed): an aggregate, with no person in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.neighbourhood import alerts, ledger
from joinedup.neighbourhood.ledger import Comparison, Ledger
from joinedup.neighbourhood.models import ReadingSet, WardAdmission, WardAlert
from joinedup.neighbourhood.ward import WardError, stored_result
from joinedup.population.reads import acute_events, person_groups
from joinedup.population.store import PopulationStore

DISCHARGE_OUTCOMES = {"hospital": "admission", "died": "death"}


@dataclass(frozen=True)
class LedgerReport:
    start: dt.datetime
    end: dt.datetime
    stays: int
    patient_days: float
    ledger: Ledger
    comparison: list[Comparison]


def alert_ledger(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    *,
    ward_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    rules: alerts.RuleSet | None = None,
    candidates: Sequence[ledger.Candidate] = ledger.CANDIDATES,
    published: bool = True,
) -> LedgerReport:
    """The ledger of the alerts raised in [start, end) on `ward_id` (None: every ward)."""
    if end <= start:
        raise WardError(["the period ends after it starts"])
    rules = rules or alerts.load_rules()
    with sessions() as session:
        stays = _stays(session, ward_id, start, end)
        facts = _facts(session, ward_id, start, end)
        histories = _histories(session, [s.id for s in stays])
    people = {s.person_id for s in stays} | {f.person_id for f in facts}
    outcomes = _outcomes(store, stays, people, start, end)
    groups = {
        pid: ledger.PersonGroups(g.date_of_birth, g.sex, g.imd_decile, g.ethnicity)
        for pid, g in person_groups(store, people).items()
    }
    days = sum(_overlap_days(s, start, end) for s in stays)
    built = ledger.build_ledger(
        facts, rules=rules, patient_days=days, outcomes=outcomes, people=groups
    )
    compared = ledger.compare_rules(
        [
            ledger.Stay(s.person_id, s.admitted_at, s.discharged_at, histories.get(s.id, ()))
            for s in stays
        ],
        candidates,
        rules=rules,
        start=start,
        end=end,
        patient_days=days,
        outcomes=outcomes,
    )
    if published:
        built, compared = ledger.publish(built), ledger.publish_comparison(compared, days)
    return LedgerReport(start, end, len(stays), days, built, compared)


def _stays(
    session: Session, ward_id: int | None, start: dt.datetime, end: dt.datetime
) -> list[WardAdmission]:
    query = select(WardAdmission).where(
        WardAdmission.admitted_at < end,
        or_(WardAdmission.discharged_at.is_(None), WardAdmission.discharged_at > start),
    )
    if ward_id is not None:
        query = query.where(WardAdmission.ward_id == ward_id)
    return list(session.scalars(query.order_by(WardAdmission.id)))


def _facts(
    session: Session, ward_id: int | None, start: dt.datetime, end: dt.datetime
) -> list[ledger.AlertFact]:
    query = select(
        WardAlert.rule_id,
        WardAlert.person_id,
        WardAlert.raised_at,
        WardAlert.acknowledged_at,
        WardAlert.actioned_at,
        WardAlert.closed_at,
        WardAlert.changed_management,
    ).where(WardAlert.raised_at >= start, WardAlert.raised_at < end)
    if ward_id is not None:
        query = query.join(WardAdmission, WardAdmission.id == WardAlert.admission_id).where(
            WardAdmission.ward_id == ward_id
        )
    return [ledger.AlertFact(*row) for row in session.execute(query)]


def _histories(
    session: Session, admission_ids: list[int]
) -> dict[int, tuple[alerts.ScoredSet, ...]]:
    """Every stay's stored sets, scored as they were recorded, in one query."""
    found: dict[int, list[alerts.ScoredSet]] = {}
    if not admission_ids:
        return {}
    rows = session.scalars(
        select(ReadingSet)
        .where(ReadingSet.admission_id.in_(admission_ids))
        .order_by(ReadingSet.admission_id, ReadingSet.taken_at)
    )
    for row in rows:
        found.setdefault(row.admission_id, []).append(
            alerts.ScoredSet(row.taken_at, stored_result(row))
        )
    return {k: tuple(v) for k, v in found.items()}


def _outcomes(
    store: PopulationStore,
    stays: list[WardAdmission],
    people: set[int],
    start: dt.datetime,
    end: dt.datetime,
) -> list[ledger.Outcome]:
    follow_end = (end + ledger.FOLLOW_UP).date()
    found = [
        ledger.Outcome(pid, kind, day)
        for pid, kind, day in acute_events(store, people, start.date(), follow_end)
    ]
    found += [
        ledger.Outcome(s.person_id, DISCHARGE_OUTCOMES[s.discharge_outcome], s.discharged_at)
        for s in stays
        if s.discharged_at is not None and s.discharge_outcome in DISCHARGE_OUTCOMES
    ]
    return found


def _overlap_days(stay: WardAdmission, start: dt.datetime, end: dt.datetime) -> float:
    stay_end = min(stay.discharged_at or end, end)
    overlap = stay_end - max(stay.admitted_at, start)
    return max(overlap, dt.timedelta(0)) / dt.timedelta(days=1)
