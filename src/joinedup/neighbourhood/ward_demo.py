"""Synthetic virtual-ward episodes for the demo: a ward with a history the alert ledger can
analyse — stays with readings, deteriorations, alerts and responses (some late, some missed)
(issue 15; ADR 0026). Synthetic data only: no real person's readings.

**Calibration.** The figures a ward is built to match, and where they come from:

* occupancy about 80% of capacity — NHS England's target for virtual wards (≥ 80%, 2024/25
  planning guidance; Virtual Wards Operational Framework, August 2024); arrivals are drawn at
  0.8 × capacity ÷ mean length of stay a day and turned away when the ward is full;
* length of stay: median 7 days, most 5–14 (log-normal, σ 0.45, kept to 2–21 days) — the range
  the issue cites for NHS virtual wards (NHS England's monthly virtual-ward statistics do not
  publish length of stay; this is an assumption to revisit when they do);
* step-up 55%, step-down 45% — an assumption: NHS England publishes no national split; local
  evaluations report both pathways in similar numbers (``NEXT_DOMAINS.md`` §1.1);
* people aged 65 and over, three sets a day (every 8 hours, 1 hour's grace), and about 5% of
  scheduled sets not sent (missed-reading alerts);
* a fifth of stays deteriorate (NEWS2 climbing to 5–9 over a day); of those, about 60% go to
  hospital within 36 hours of the first alert, 35% recover at home and 5% die; a tenth of stays
  are people whose usual NEWS2 is already 4–5 (e.g. COPD), whose alerts mostly change nothing —
  the false alarms a personal-baseline rule should avoid;
* responses: acknowledgement after a median of 25 minutes (log-normal; about a fifth later than
  the rule's target), action on about 70% of alerts, and a few alerts of open stays still
  unacknowledged; whether an alert changed management follows from what happened.

The ward's alerts are what `alerts.evaluate` fires on the generated sets with the rules in
force, exactly as if they had been recorded live. The history is written by one unit of work
(audited as ``ward_demo.seed``) because its times are in the past, which the live services
never write. Deterministic for a seed; run again, it leaves an existing demo ward alone.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.neighbourhood import alerts, news2
from joinedup.neighbourhood.models import (
    ObservationSchedule,
    ReadingSet,
    VirtualWard,
    WardAdmission,
    WardAlert,
)
from joinedup.population.reads import person_groups, practices_of, registered_person_ids
from joinedup.population.store import PopulationStore

DEMO_NURSE = "demo-nurse"
DEMO_GP = "demo-gp"
CAPACITY = 20
OCCUPANCY = 0.8
MEDIAN_STAY_DAYS = 7.0
STAY_SIGMA = 0.45
HISTORY_DAYS = 120
STEP_UP_SHARE = 0.55
DETERIORATE_SHARE = 0.2
CHRONIC_SHARE = 0.1
SET_EVERY = dt.timedelta(hours=8)
SET_GRACE = dt.timedelta(hours=1)
MISSED_SHARE = 0.05
ACK_MEDIAN_MINUTES = 25.0


@dataclass(frozen=True)
class DemoWard:
    ward_id: int
    stays: int
    open_stays: int
    sets: int
    alerts: int


@dataclass
class _Stay:
    person_id: int
    start: dt.datetime
    end: dt.datetime
    kind: str  # "calm", "deteriorates" or "chronic"
    pathway: str
    outcome: str | None  # None while still on the ward


def seed_demo_ward(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    *,
    seed: int,
    now: dt.datetime,
    history_days: int = HISTORY_DAYS,
) -> DemoWard | None:
    """The demo neighbourhood's virtual ward with `history_days` of history up to `now`; None
    when it exists already or the demo nurse is missing."""
    rng = random.Random(seed)
    with sessions() as session:
        nurse = session.scalar(select(User).where(User.username == DEMO_NURSE))
        gp = session.scalar(select(User).where(User.username == DEMO_GP))
        if nurse is None or gp is None:
            return None
        org = session.scalar(
            select(UserOrganisation.org_code).where(UserOrganisation.user_id == nurse.id)
        )
        name = f"{org} virtual ward"
        if org is None or session.scalar(select(VirtualWard.id).where(VirtualWard.name == name)):
            return None
        practices = practices_covered(session, [org])
    people = _older_people(store, practices, now.date())
    stays = _stays(rng, people, now, history_days)
    rules = alerts.load_rules()
    with unit_of_work(
        sessions,
        actor="demo",
        actor_role="command line",
        action="ward_demo.seed",
        entity_type="virtual_ward",
        purpose=DIRECT_CARE,
        detail={"seed": seed},
    ) as uow:
        ward = VirtualWard(name=name, org_code=org, capacity_beds=CAPACITY, created_at=uow.now)
        uow.session.add(ward)
        uow.session.flush()
        sets = raised = 0
        for stay in stays:
            made = _write_stay(uow.session, rng, ward.id, stay, rules, nurse.id, gp.id, now)
            sets, raised = sets + made[0], raised + made[1]
        uow.audit.entity_id = str(ward.id)
        uow.audit.detail.update(stays=len(stays), sets=sets, alerts=raised)
        open_stays = sum(1 for s in stays if s.outcome is None)
        return DemoWard(int(ward.id), len(stays), open_stays, sets, raised)


def _older_people(store: PopulationStore, practices: Collection[str], today: dt.date) -> list[int]:
    ids = [int(p) for p in registered_person_ids(store)]
    local = [p for p, practice in practices_of(store, ids).items() if practice in practices]
    groups = person_groups(store, local)
    return sorted(
        p
        for p, g in groups.items()
        if g.date_of_birth is not None and (today - g.date_of_birth).days >= 65 * 365.25
    )


def _stays(
    rng: random.Random, people: list[int], now: dt.datetime, history_days: int
) -> list[_Stay]:
    """Arrivals at 0.8 × capacity ÷ mean stay a day over the history, turned away when full."""
    mean_stay = MEDIAN_STAY_DAYS * math.exp(STAY_SIGMA**2 / 2)
    # A tenth more arrivals than 0.8 × capacity ÷ mean stay: deteriorating stays end early.
    rate = OCCUPANCY * CAPACITY / mean_stay * 1.1
    clock = now - dt.timedelta(days=history_days)
    stays: list[_Stay] = []
    busy: set[int] = set()
    while True:
        clock += dt.timedelta(days=rng.expovariate(rate))
        if clock >= now - dt.timedelta(hours=12):
            return stays
        here = [s for s in stays if s.start <= clock < s.end]
        busy = {s.person_id for s in stays if s.end > clock - dt.timedelta(days=30)}
        free = [p for p in people if p not in busy]
        if len(here) >= CAPACITY or not free:
            continue
        days = min(21.0, max(2.0, rng.lognormvariate(math.log(MEDIAN_STAY_DAYS), STAY_SIGMA)))
        draw = rng.random()
        kind = (
            "deteriorates"
            if draw < DETERIORATE_SHARE
            else "chronic"
            if draw < DETERIORATE_SHARE + CHRONIC_SHARE
            else "calm"
        )
        start = clock.replace(second=0, microsecond=0)
        end = start + dt.timedelta(days=days)
        stays.append(
            _Stay(
                person_id=rng.choice(free),
                start=start,
                end=end,
                kind=kind,
                pathway="step_up" if rng.random() < STEP_UP_SHARE else "step_down",
                outcome=None,
            )
        )


def _observations(rng: random.Random, kind: str, illness: float) -> news2.Observations:
    """A home set: `illness` 0 (well) to 1 (very unwell) moves each value towards its bad band;
    a chronic (COPD-like) person sits a little low on SpO2 and high on breathing."""
    chronic = kind == "chronic"
    resp = 16 + (5 if chronic else 0) + 10 * illness + rng.gauss(0, 1.2)
    spo2 = 96.5 - (3 if chronic else 0) - 6 * illness + rng.gauss(0, 0.8)
    pulse = 76 + 40 * illness + rng.gauss(0, 6)
    systolic = 132 - 35 * illness + rng.gauss(0, 8)
    temperature = 36.8 + 1.8 * illness + rng.gauss(0, 0.25)
    confused = illness > 0.85 and rng.random() < 0.3
    return news2.Observations(
        resp_rate=float(round(min(40, max(8, resp)))),
        spo2=float(round(min(100, max(80, spo2)))),
        on_oxygen=False,
        systolic_bp=float(round(min(200, max(80, systolic)))),
        pulse=float(round(min(160, max(40, pulse)))),
        consciousness="C" if confused else "A",
        temperature=round(min(41.0, max(35.0, temperature)), 1),
    )


def _write_stay(
    session: Session,
    rng: random.Random,
    ward_id: int,
    stay: _Stay,
    rules: alerts.RuleSet,
    nurse_id: int,
    gp_id: int,
    now: dt.datetime,
) -> tuple[int, int]:
    """One stay: its sets up to discharge (or now), the alerts they fire, the responses."""
    onset = stay.start + (stay.end - stay.start) * rng.uniform(0.3, 0.8)
    history, rows = [], []
    taken = stay.start + SET_EVERY
    last = min(stay.end, now)
    while taken <= last:
        if rng.random() >= MISSED_SHARE:
            illness = _illness(stay.kind, taken, onset)
            obs = _observations(rng, stay.kind, illness)
            result = news2.score(obs)
            history.append(alerts.ScoredSet(taken, result))
            rows.append((taken, obs, result))
        taken += SET_EVERY + dt.timedelta(minutes=rng.randint(-20, 20))
    schedule = alerts.Schedule(frozenset(news2.PARAMETERS), SET_EVERY, SET_GRACE, stay.start)
    fired = alerts.evaluate(rules, history, [schedule], now=last)
    if stay.kind == "deteriorates" and stay.end <= now:
        first = next((a.fired_at for a in fired if a.set_time is not None), None)
        if first is not None:  # the stay ends with the escalation, not at its planned end
            stay.end = min(stay.end, first + dt.timedelta(hours=rng.uniform(2, 36)))
            fired = [a for a in fired if a.fired_at <= stay.end]
            rows = [r for r in rows if r[0] <= stay.end]
    stay.outcome = _outcome(rng, stay) if stay.end <= now else None
    admission = _admission(session, ward_id, stay, nurse_id, gp_id)
    session.add(
        ObservationSchedule(
            admission_id=admission.id,
            parameters=sorted(news2.PARAMETERS),
            every_minutes=int(SET_EVERY / dt.timedelta(minutes=1)),
            grace_minutes=int(SET_GRACE / dt.timedelta(minutes=1)),
            starts_at=stay.start,
            ended_at=admission.discharged_at,
            created_by=nurse_id,
        )
    )
    set_ids = _write_sets(session, admission, rows, nurse_id)
    for alert in fired:
        session.add(_alert(rng, admission, alert, set_ids, stay, nurse_id, now))
    return len(rows), len(fired)


def _illness(kind: str, taken: dt.datetime, onset: dt.datetime) -> float:
    if kind != "deteriorates" or taken < onset:
        return 0.12 if kind == "chronic" else 0.0
    return min(1.0, (taken - onset) / dt.timedelta(hours=30) + 0.25)


def _outcome(rng: random.Random, stay: _Stay) -> str:
    if stay.kind == "deteriorates":
        draw = rng.random()
        return "hospital" if draw < 0.6 else "died" if draw > 0.95 else "home"
    return "home" if rng.random() < 0.75 else "caseload"


def _admission(
    session: Session, ward_id: int, stay: _Stay, nurse_id: int, gp_id: int
) -> WardAdmission:
    step_up = stay.pathway == "step_up"
    admission = WardAdmission(
        ward_id=ward_id,
        person_id=stay.person_id,
        pathway=stay.pathway,
        source="gp" if step_up else "hospital",
        reason="Chest infection, monitored at home" if step_up else "Early supported discharge",
        expected_stay_days=7,
        responsible_user_id=gp_id,
        admitted_at=stay.start,
        admitted_by=nurse_id,
        discharged_at=stay.end if stay.outcome else None,
        discharged_by=nurse_id if stay.outcome else None,
        discharge_outcome=stay.outcome,
    )
    session.add(admission)
    session.flush()
    return admission


def _write_sets(
    session: Session,
    admission: WardAdmission,
    rows: list[tuple[dt.datetime, news2.Observations, news2.News2Result]],
    nurse_id: int,
) -> dict[dt.datetime, int]:
    made = [
        ReadingSet(
            admission_id=admission.id,
            person_id=admission.person_id,
            taken_at=taken,
            taken_by="device",
            recorded_at=taken,
            recorded_by=None,
            **{p: getattr(obs, p) for p in news2.PARAMETERS},
            spo2_scale=result.scale,
            sub_scores=result.sub_scores,
            missing=list(result.missing),
            partial_sum=result.partial_sum,
            red_score=result.red_score,
            news2_total=result.total,
            news2_risk=result.risk,
        )
        for taken, obs, result in rows
    ]
    session.add_all(made)
    session.flush()
    return {row.taken_at: row.id for row in made}


def _alert(
    rng: random.Random,
    admission: WardAdmission,
    alert: alerts.Alert,
    set_ids: dict[dt.datetime, int],
    stay: _Stay,
    nurse_id: int,
    now: dt.datetime,
) -> WardAlert:
    """The alert and what the team did: acknowledged after a log-normal delay (some late),
    acted on mostly, closed (all of a finished stay's; recent ones of open stays not yet)."""
    row = WardAlert(
        admission_id=admission.id,
        person_id=admission.person_id,
        reading_set_id=set_ids.get(alert.set_time) if alert.set_time else None,
        rule_id=alert.rule_id,
        title=alert.title,
        reason=alert.reason[:500],
        raised_at=alert.fired_at,
        due_by=alert.due_by,
        state="open",
        escalation_chain=list(alert.escalate_to),
        escalation_level=0,
        escalated_to_role=alert.escalate_to[0],
        version=1,
    )
    acked = min(
        now,
        alert.fired_at
        + dt.timedelta(minutes=rng.lognormvariate(math.log(ACK_MEDIAN_MINUTES), 0.9)),
    )
    finished = stay.outcome is not None
    if not finished and acked > now - dt.timedelta(hours=2):
        return row  # still waiting on the queue
    changed = stay.kind == "deteriorates" and alert.set_time is not None
    acted = acked + dt.timedelta(minutes=rng.uniform(5, 90))
    closed = acted + dt.timedelta(minutes=rng.uniform(10, 240))
    if finished and stay.end < closed:
        closed = acted = max(acked, stay.end - dt.timedelta(minutes=1))
    row.state, row.version = "closed", 4
    row.acknowledged_by, row.acknowledged_at = nurse_id, acked
    if changed or rng.random() < 0.6:
        row.action_taken = _action(rng, changed, stay)
        row.actioned_by, row.actioned_at = nurse_id, acted
    row.closed_by, row.closed_at = nurse_id, closed
    row.changed_management = changed
    row.outcome = "Seen; plan changed" if changed else "Checked; no change needed"
    return row


def _action(rng: random.Random, changed: bool, stay: _Stay) -> str:
    if changed and stay.outcome == "hospital":
        return "hospital"
    if changed:
        return rng.choice(("visit", "medication_change"))
    return "call"
