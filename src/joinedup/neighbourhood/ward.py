"""The virtual ward's services: wards, admission, observation schedules, reading sets, missed
readings, discharge, the board and the ward's measures (issue 15; tables in `models`).

Every write is one `unit_of_work` with its audit event, which names the person by id only: no
reading, reason or outcome goes into the audit trail.

* **Admission** is for a person the user may see, by the same legitimate-relationship rule the
  person gate applies (`governance.relationships.person_access`); the database keeps a person
  to one open admission (`uq_ward_admissions_open_person`).
* **A reading set** is scored by `news2.score` when it is recorded. A value no living person can
  have is refused with every reason and nothing is stored (`news2.ImplausibleObservations`).
  The alerts `alerts.evaluate` fires on the new set are raised in the same transaction.
* **Missed readings** are raised by `check_missed(now)` (run on a timer or on the board's
  refresh); the alert table's unique key makes a second run raise nothing new.
* **Discharge** needs every alert of the stay closed first: an open alert is a person still
  waiting for a response.
* **Measures** (NHS England's virtual-ward measures): occupancy against capacity over a period,
  length of stay, step-up against step-down, and 30-day readmission (an admission within 30
  days of the same person's discharge from any virtual ward).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import alerts, news2
from joinedup.neighbourhood.models import (
    ADMISSION_SOURCES,
    DISCHARGE_OUTCOMES,
    PATHWAYS,
    TAKEN_BY,
    ObservationSchedule,
    ReadingSet,
    VirtualWard,
    WardAdmission,
    WardAlert,
)
from joinedup.population.reads import PersonIdentity

WRITE_PERMISSION = "ward.use"
WARD_ORG_TYPES = ("neighbourhood", "hub", "pcn")
REASON_MAX = 500
READMISSION_WINDOW = dt.timedelta(days=30)
#: A reading time this far ahead of the server's clock is a typing error, not a clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MEASURED_FIELDS = ("resp_rate", "spo2", "systolic_bp", "pulse", "temperature")


class WardError(UserError, ValueError):
    """A ward request cannot be done as asked; `problems` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class WardNotAllowed(UserError, PermissionError):
    """The user may not do this on the virtual ward."""


class WardNotFound(WardError, LookupError):
    """There is no such ward, admission or alert."""

    def __init__(self, what: str) -> None:
        super().__init__([f"there is no {what}"])


@dataclass(frozen=True)
class ScheduleRequest:
    """Which NEWS2 parameters to take, how often and with what grace (minutes)."""

    parameters: frozenset[str]
    every_minutes: int
    grace_minutes: int = 30


@dataclass(frozen=True)
class RecordedReading:
    reading_set_id: int
    result: news2.News2Result
    alerts: tuple[alerts.Alert, ...]


def check_can_write(actor: Principal) -> None:
    if not actor.can(WRITE_PERMISSION):
        raise WardNotAllowed("your role may not change the virtual ward")


# --- wards ----------------------------------------------------------------------------------------


def create_ward(
    sessions: sessionmaker[Session],
    actor: Principal,
    *,
    name: str,
    org_code: str,
    capacity_beds: int,
) -> int:
    """A virtual ward of a neighbourhood or hub, with its capacity in beds."""
    check_can_write(actor)
    problems = [] if name.strip() else ["a ward has a name"]
    if not 0 < capacity_beds <= 10_000:
        problems.append(f"capacity {capacity_beds} is not a number of beds (1–10000)")
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="virtual_ward.create",
        entity_type="virtual_ward",
        purpose=DIRECT_CARE,
    ) as uow:
        org = uow.session.get(Organisation, org_code)
        if org is None or org.org_type not in WARD_ORG_TYPES:
            problems.append(f"{org_code!r} is not a neighbourhood or hub of the area")
        if uow.session.scalar(select(VirtualWard.id).where(VirtualWard.name == name.strip())):
            problems.append(f"there is already a ward called {name.strip()!r}")
        if problems:
            raise WardError(problems)
        ward = VirtualWard(
            name=name.strip(), org_code=org_code, capacity_beds=capacity_beds, created_at=uow.now
        )
        uow.session.add(ward)
        uow.session.flush()
        uow.audit.entity_id = str(ward.id)
        return int(ward.id)


def wards(sessions: sessionmaker[Session]) -> list[VirtualWard]:
    with sessions() as session:
        return list(session.scalars(select(VirtualWard).order_by(VirtualWard.name)))


def get_ward(sessions: sessionmaker[Session], ward_id: int) -> VirtualWard:
    with sessions() as session:
        ward = session.get(VirtualWard, ward_id)
    if ward is None:
        raise WardNotFound("such virtual ward")
    return ward


# --- admission and schedules ----------------------------------------------------------------------


def admit(
    sessions: sessionmaker[Session],
    actor: Principal,
    person: PersonIdentity,
    *,
    ward_id: int,
    pathway: str,
    source: str,
    reason: str,
    expected_stay_days: int,
    responsible_user_id: int,
    scale2: news2.Scale2Decision | None = None,
    schedule: ScheduleRequest | None = None,
) -> int:
    """Admit `person` to the ward; returns the admission's id. Every problem is reported."""
    check_can_write(actor)
    if not person_access(sessions, actor, person.person_id, person.practice_code).allowed:
        raise WardNotAllowed("you have no legitimate relationship with this person")
    problems = _admission_problems(pathway, source, reason, expected_stay_days, person)
    problems += _schedule_problems(schedule) if schedule else []
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_admission.admit",
        entity_type="ward_admission",
        purpose=DIRECT_CARE,
        person_id=person.person_id,
        detail={"ward_id": ward_id, "pathway": pathway, "source": source},
    ) as uow:
        problems += _admission_store_problems(uow.session, ward_id, responsible_user_id, person)
        if problems:
            raise WardError(problems)
        admission = WardAdmission(
            ward_id=ward_id,
            person_id=person.person_id,
            pathway=pathway,
            source=source,
            reason=reason.strip(),
            expected_stay_days=expected_stay_days,
            responsible_user_id=responsible_user_id,
            admitted_at=uow.now,
            admitted_by=actor.user_id,
            **_scale2_columns(scale2),
        )
        uow.session.add(admission)
        uow.session.flush()
        if schedule:
            _insert_schedule(uow.session, admission.id, schedule, uow.now, actor)
        uow.audit.entity_id = str(admission.id)
        return int(admission.id)


def _admission_problems(
    pathway: str, source: str, reason: str, expected_stay_days: int, person: PersonIdentity
) -> list[str]:
    problems = []
    if pathway not in PATHWAYS:
        problems.append("the pathway is step-up or step-down")
    if source not in ADMISSION_SOURCES:
        problems.append(f"the source is one of {', '.join(ADMISSION_SOURCES)}")
    if not reason.strip() or len(reason) > REASON_MAX:
        problems.append(f"give the reason for admission (up to {REASON_MAX} characters)")
    if not 1 <= expected_stay_days <= 90:
        problems.append("the expected length of stay is 1 to 90 days")
    if person.date_of_death is not None:
        problems.append("this person has died")
    return problems


def _admission_store_problems(
    session: Session, ward_id: int, responsible_user_id: int, person: PersonIdentity
) -> list[str]:
    problems = []
    if session.get(VirtualWard, ward_id) is None:
        problems.append("there is no such virtual ward")
    clinician = session.get(User, responsible_user_id)
    if clinician is None or not clinician.active:
        problems.append("the responsible clinician is not an active user")
    if open_admission_id(session, person.person_id) is not None:
        problems.append("this person is already on a virtual ward")
    return problems


def _scale2_columns(decision: news2.Scale2Decision | None) -> dict[str, object]:
    if decision is None:
        return {}
    return {
        "scale2_decided_by": decision.decided_by,
        "scale2_decided_at": decision.decided_at,
        "scale2_target_low": decision.target_low,
        "scale2_target_high": decision.target_high,
    }


def open_admission_id(session: Session, person_id: int) -> int | None:
    return session.scalar(
        select(WardAdmission.id).where(
            WardAdmission.person_id == person_id, WardAdmission.discharged_at.is_(None)
        )
    )


def add_schedule(
    sessions: sessionmaker[Session],
    actor: Principal,
    admission_id: int,
    schedule: ScheduleRequest,
) -> int:
    """Start a further observation schedule for an open admission."""
    check_can_write(actor)
    problems = _schedule_problems(schedule)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_schedule.create",
        entity_type="ward_admission",
        entity_id=str(admission_id),
        purpose=DIRECT_CARE,
    ) as uow:
        admission = _open_admission(uow.session, admission_id)
        uow.audit.person_id = admission.person_id
        if problems:
            raise WardError(problems)
        return _insert_schedule(uow.session, admission_id, schedule, uow.now, actor)


def _schedule_problems(schedule: ScheduleRequest) -> list[str]:
    problems = []
    unknown = sorted(schedule.parameters - set(news2.PARAMETERS))
    if unknown or not schedule.parameters:
        problems.append(f"a schedule names NEWS2 parameters to take (not {', '.join(unknown)})")
    if not 15 <= schedule.every_minutes <= 7 * 24 * 60:
        problems.append("observations are due every 15 minutes to 7 days")
    if not 0 <= schedule.grace_minutes <= 24 * 60:
        problems.append("the grace period is 0 minutes to 24 hours")
    return problems


def _insert_schedule(
    session: Session,
    admission_id: int,
    schedule: ScheduleRequest,
    now: dt.datetime,
    actor: Principal,
) -> int:
    row = ObservationSchedule(
        admission_id=admission_id,
        parameters=sorted(schedule.parameters),
        every_minutes=schedule.every_minutes,
        grace_minutes=schedule.grace_minutes,
        starts_at=now,
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    return int(row.id)


def _open_admission(session: Session, admission_id: int) -> WardAdmission:
    admission = session.get(WardAdmission, admission_id)
    if admission is None:
        raise WardNotFound("such admission")
    if admission.discharged_at is not None:
        raise WardError(["this person has been discharged from the virtual ward"])
    return admission


# --- readings -------------------------------------------------------------------------------------


def parse_observations(form: Mapping[str, str]) -> news2.Observations:
    """A reading set from form text (blank = not measured); every unreadable field reported."""
    problems, values = [], {}
    for name in MEASURED_FIELDS:
        text = (form.get(name) or "").strip()
        try:
            values[name] = float(text) if text else None
        except ValueError:
            problems.append(f"{news2.LABELS[name]} {text!r} is not a number")
    oxygen = (form.get("on_oxygen") or "").strip().lower()
    if oxygen not in ("", "air", "oxygen"):
        problems.append("air or oxygen is 'air' or 'oxygen'")
    consciousness = (form.get("consciousness") or "").strip().upper() or None
    if problems:
        raise WardError(problems)
    return news2.Observations(
        **values,
        on_oxygen=None if not oxygen else oxygen == "oxygen",
        consciousness=consciousness,
    )


def record_reading(
    sessions: sessionmaker[Session],
    actor: Principal,
    admission_id: int,
    observations: news2.Observations,
    *,
    taken_at: dt.datetime,
    taken_by: str,
    rules: alerts.RuleSet | None = None,
) -> RecordedReading:
    """Score and store one set and raise the alerts it fires, in one transaction; a set with any
    impossible value is refused with every reason and nothing is stored."""
    check_can_write(actor)
    rules = rules or alerts.load_rules()
    problems = _reading_problems(observations, taken_at, taken_by)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_reading.record",
        entity_type="ward_admission",
        entity_id=str(admission_id),
        purpose=DIRECT_CARE,
        detail={"taken_by": taken_by},
    ) as uow:
        admission = _open_admission(uow.session, admission_id)
        uow.audit.person_id = admission.person_id
        problems += _reading_store_problems(uow.session, admission, taken_at)
        if problems:
            raise WardError(problems)
        result = news2.score(observations, scale2_of(admission))
        row = _reading_row(admission, observations, result, taken_at, taken_by, uow.now, actor)
        uow.session.add(row)
        uow.session.flush()
        fired = [
            a
            for a in alerts.evaluate(rules, history(uow.session, admission_id), now=taken_at)
            if a.set_time == taken_at
        ]
        uow.session.add_all(_alert_row(admission, a, row.id) for a in fired)
        uow.audit.detail.update(reading_set_id=row.id, alerts_raised=len(fired))
        return RecordedReading(int(row.id), result, tuple(fired))


def _reading_problems(
    observations: news2.Observations, taken_at: dt.datetime, taken_by: str
) -> list[str]:
    problems = news2.plausibility_problems(observations)
    if all(getattr(observations, p) is None for p in news2.PARAMETERS):
        problems.append("the set has no observations in it")
    if taken_by not in TAKEN_BY:
        problems.append(f"the reading was taken by one of {', '.join(TAKEN_BY)}")
    if taken_at.tzinfo is None:
        problems.append("the time the set was taken has no timezone")
    elif taken_at > dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE:
        problems.append("the time the set was taken is in the future")
    return problems


def _reading_store_problems(
    session: Session, admission: WardAdmission, taken_at: dt.datetime
) -> list[str]:
    if taken_at.tzinfo is None:
        return []
    if taken_at < admission.admitted_at:
        return ["the set was taken before the person was admitted to the virtual ward"]
    same_time = session.scalar(
        select(ReadingSet.id).where(
            ReadingSet.admission_id == admission.id, ReadingSet.taken_at == taken_at
        )
    )
    return ["a set taken at that time is already recorded"] if same_time else []


def scale2_of(admission: WardAdmission) -> news2.Scale2Decision | None:
    if admission.scale2_decided_by is None:
        return None
    return news2.Scale2Decision(
        admission.scale2_decided_by,
        admission.scale2_decided_at,
        admission.scale2_target_low or 88,
        admission.scale2_target_high or 92,
    )


def _reading_row(
    admission: WardAdmission,
    obs: news2.Observations,
    result: news2.News2Result,
    taken_at: dt.datetime,
    taken_by: str,
    now: dt.datetime,
    actor: Principal,
) -> ReadingSet:
    return ReadingSet(
        **reading_columns(admission, obs, result, taken_at, taken_by, now, actor.user_id)
    )


def reading_columns(
    admission: WardAdmission,
    obs: news2.Observations,
    result: news2.News2Result,
    taken_at: dt.datetime,
    taken_by: str,
    now: dt.datetime,
    recorded_by: int,
) -> dict[str, object]:
    """A stored set's column values (no id): for one row, or many in one bulk insert."""
    return {
        "admission_id": admission.id,
        "person_id": admission.person_id,
        "taken_at": taken_at,
        "taken_by": taken_by,
        "recorded_at": now,
        "recorded_by": recorded_by,
        **{p: getattr(obs, p) for p in news2.PARAMETERS},
        "spo2_scale": result.scale,
        "sub_scores": result.sub_scores,
        "missing": list(result.missing),
        "partial_sum": result.partial_sum,
        "red_score": result.red_score,
        "news2_total": result.total,
        "news2_risk": result.risk,
    }


#: The columns `stored_result` reads: a query may select just these rather than whole sets.
STORED_SCORE_COLUMNS = (
    ReadingSet.news2_total,
    ReadingSet.news2_risk,
    ReadingSet.red_score,
    ReadingSet.partial_sum,
    ReadingSet.spo2_scale,
    ReadingSet.sub_scores,
    ReadingSet.missing,
)


def stored_result(row: ReadingSet | Row[Any]) -> news2.News2Result:
    """The NEWS2 result as it was recorded with the set."""
    total = row.news2_total
    return news2.News2Result(
        sub_scores=dict(row.sub_scores),
        missing=tuple(row.missing),
        scale=row.spo2_scale,
        scale_note=f"Scale {row.spo2_scale}",
        partial_sum=row.partial_sum,
        red_score=row.red_score,
        total=total,
        risk=row.news2_risk,  # type: ignore[arg-type]
        response=None if total is None else news2.response_for(total, row.red_score),
    )


def reading_sets(session: Session, admission_id: int) -> list[ReadingSet]:
    return list(
        session.scalars(
            select(ReadingSet)
            .where(ReadingSet.admission_id == admission_id)
            .order_by(ReadingSet.taken_at)
        )
    )


def history(session: Session, admission_id: int) -> list[alerts.ScoredSet]:
    return [
        alerts.ScoredSet(row.taken_at, stored_result(row))
        for row in reading_sets(session, admission_id)
    ]


def schedules(session: Session, admission_id: int) -> list[alerts.Schedule]:
    rows = session.scalars(
        select(ObservationSchedule).where(
            ObservationSchedule.admission_id == admission_id,
            ObservationSchedule.ended_at.is_(None),
        )
    )
    return [
        alerts.Schedule(
            frozenset(row.parameters),
            dt.timedelta(minutes=row.every_minutes),
            dt.timedelta(minutes=row.grace_minutes),
            row.starts_at,
        )
        for row in rows
    ]


def _alert_row(admission: WardAdmission, alert: alerts.Alert, set_id: int | None) -> WardAlert:
    return WardAlert(**alert_columns(admission, alert, set_id))


def alert_columns(
    admission: WardAdmission, alert: alerts.Alert, set_id: int | None
) -> dict[str, object]:
    """A new open alert's column values (no id)."""
    return {
        "admission_id": admission.id,
        "person_id": admission.person_id,
        "reading_set_id": set_id,
        "rule_id": alert.rule_id,
        "title": alert.title,
        "reason": alert.reason[:REASON_MAX],
        "raised_at": alert.fired_at,
        "due_by": alert.due_by,
        "state": "open",
        "escalation_chain": list(alert.escalate_to),
        "escalation_level": 0,
        "escalated_to_role": alert.escalate_to[0],
        "version": 1,
    }


def check_missed(
    sessions: sessionmaker[Session],
    actor: Principal,
    now: dt.datetime,
    *,
    rules: alerts.RuleSet | None = None,
) -> int:
    """Raise a missed-reading alert for every scheduled reading not taken by `now` that has not
    been raised already; returns how many were raised."""
    rules = rules or alerts.load_rules()
    missed_rules = [r.id for r in rules.rules if isinstance(r, alerts.MissedReadingRule)]
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_alert.check_missed",
        entity_type="virtual_ward",
        purpose=DIRECT_CARE,
    ) as uow:
        raised = 0
        for admission in open_admissions(uow.session):
            due = alerts.evaluate(
                rules,
                history(uow.session, admission.id),
                schedules(uow.session, admission.id),
                now=now,
                only=[r for r in missed_rules if rules.rule(r).enabled],
            )
            new = _not_yet_raised(uow.session, admission.id, due)
            uow.session.add_all(_alert_row(admission, a, None) for a in new)
            raised += len(new)
        uow.audit.detail["alerts_raised"] = raised
        return raised


def open_admissions(session: Session, ward_id: int | None = None) -> list[WardAdmission]:
    query = select(WardAdmission).where(WardAdmission.discharged_at.is_(None))
    if ward_id is not None:
        query = query.where(WardAdmission.ward_id == ward_id)
    return list(session.scalars(query.order_by(WardAdmission.admitted_at)))


def _not_yet_raised(
    session: Session, admission_id: int, due: Iterable[alerts.Alert]
) -> list[alerts.Alert]:
    rows = session.execute(
        select(WardAlert.rule_id, WardAlert.raised_at).where(WardAlert.admission_id == admission_id)
    )
    known = {(rule_id, raised_at) for rule_id, raised_at in rows}
    return [a for a in due if (a.rule_id, a.fired_at) not in known]


# --- discharge ---


def discharge(
    sessions: sessionmaker[Session], actor: Principal, admission_id: int, *, outcome: str
) -> None:
    """Discharge to home, the caseload, hospital, or record a death. Every alert of the stay is
    closed first."""
    check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_admission.discharge",
        entity_type="ward_admission",
        entity_id=str(admission_id),
        purpose=DIRECT_CARE,
        detail={"outcome": outcome},
    ) as uow:
        admission = _open_admission(uow.session, admission_id)
        uow.audit.person_id = admission.person_id
        problems = [] if outcome in DISCHARGE_OUTCOMES else ["choose where the person went"]
        unclosed = uow.session.scalar(
            select(func.count(WardAlert.id)).where(
                WardAlert.admission_id == admission_id, WardAlert.state != "closed"
            )
        )
        if unclosed:
            problems.append(f"{unclosed} alert(s) of this stay are not closed yet")
        if problems:
            raise WardError(problems)
        admission.discharged_at = uow.now
        admission.discharged_by = actor.user_id
        admission.discharge_outcome = outcome
        for row in uow.session.scalars(
            select(ObservationSchedule).where(
                ObservationSchedule.admission_id == admission_id,
                ObservationSchedule.ended_at.is_(None),
            )
        ):
            row.ended_at = uow.now
