"""Seed the demo's coordinated care register: some of the latest run's top-risk people in the demo
neighbourhood, in every state, with named professionals from the demo users.

Deterministic: the same run and the same demo users give the same register (people are taken
in order of risk, highest first, ties by person id; states and professionals cycle in a fixed
order). Idempotent: people already on the register are left as they are. Every change goes
through the register's own services, so the demo's register has its transitions and audit
trail like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import latest_run
from joinedup.care import register as reg
from joinedup.care.demo_plans import seed_demo_plans
from joinedup.care.mdt_demo import seed_demo_meetings
from joinedup.care.models import MdtMeeting, RegisterEntry
from joinedup.care.named_professionals import assign
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import practices_covered
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

#: The path each seeded person takes, cycled in this order (the last state is where they stop).
JOURNEYS: tuple[tuple[str, ...], ...] = (
    ("invited", "consented", "active"),
    ("invited", "consented", "active"),
    ("invited",),
    (),
    ("invited", "consented"),
    ("invited", "consented", "active", "review_due"),
    ("invited", "declined"),
    ("not_contactable",),
    ("invited", "consented", "active", "discharged"),
)
OUTCOME_REASONS = {
    "declined": "The person would rather not have a care coordinator for now.",
    "not_contactable": "Three attempts by phone and a letter, no answer.",
    "discharged": "Stable for a year; goals met.",
}
#: Which demo users are named professionals, and as what, in turn.
PROFESSIONALS = (
    ("demo-care-coordinator", "care_coordinator"),
    ("demo-nurse", "nurse"),
    ("demo-gp", "gp"),
    ("demo-link-worker", "navigator"),
)
COORDINATOR = "demo-care-coordinator"


@dataclass(frozen=True)
class SeedSummary:
    added: int
    already: int
    by_state: dict[str, int]


def seed_demo_register(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    people: int = 27,
    today: dt.date | None = None,
) -> SeedSummary:
    """Put up to `people` of the latest run's highest-risk people at the demo coordinator's
    practices on the register (see the module docstring). Needs the demo users and a run.
    Someone whose journey ends in review due has their review falling due `today` (default:
    the real date), so the register never says "review due" beside a review months away."""
    today = today or dt.date.today()
    run = latest_run(settings)
    if run is None or "risk" not in run.metadata.get("risk_columns", []):
        raise reg.RegisterError("the demo register needs a stratification run with a risk")
    coordinator = _principal(sessions, COORDINATOR)
    with sessions() as session:
        practices = practices_covered(session, coordinator.organisations)
    table = run.person_results(["person_id", "practice_code", "risk"]).drop_null()
    table = table.filter(pc.is_in(table["practice_code"], value_set=_strings(practices)))
    order = pc.sort_indices(table, [("risk", "descending"), ("person_id", "ascending")])
    # A few more than asked for: someone in the run may have died or moved away since.
    chosen = [int(p) for p in table.take(order)["person_id"].to_pylist()[: people * 2]]
    store = PopulationStore(settings.population_dir)
    professionals = [(_principal(sessions, name), kind) for name, kind in PROFESSIONALS]
    added = already = 0
    for person_id in chosen:
        if added + already == people:
            break
        i = added + already
        try:
            entry = reg.add_to_register(
                sessions,
                store,
                coordinator,
                person_id=person_id,
                source="case_finding",
                source_detail="top-risk-not-on-register",
                reason="In the top 5% by emergency-admission risk (demo).",
            )
        except reg.AlreadyOnRegister:
            already += 1
            continue
        except (reg.RegisterError, reg.PersonUnknown):
            continue  # no longer registered in the area
        added += 1
        _walk(sessions, coordinator, entry, JOURNEYS[i % len(JOURNEYS)], professionals, i, today)
    return SeedSummary(added, already, reg.counts_by_state(sessions))


def _walk(
    sessions: sessionmaker[Session],
    coordinator: Principal,
    entry: reg.RegisterRecord,
    journey: tuple[str, ...],
    professionals: list[tuple[Principal, str]],
    i: int,
    today: dt.date,
) -> None:
    for state in journey:
        entry = reg.move(
            sessions,
            coordinator,
            entry.id,
            to_status=state,
            expected_version=entry.version,
            reason=OUTCOME_REASONS.get(state),
            review_due_on=today if state == "review_due" else None,
            record_consent=state == "consented",
        )
        if state == "consented":
            pro, kind = professionals[i % len(professionals)]
            assign(
                sessions,
                coordinator,
                person_id=entry.person_id,
                user_id=pro.user_id,
                professional_role=kind,
            )


def _principal(sessions: sessionmaker[Session], username: str) -> Principal:
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise reg.RegisterError(f"the demo register needs the demo user {username}")
        orgs = tuple(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
            )
        )
        return Principal(user.id, user.username, user.display_name, user.role, orgs)


def _strings(values: frozenset[str]) -> pa.Array:
    return pa.array(sorted(values), pa.string())


@dataclass(frozen=True)
class DemoCare:
    register: SeedSummary
    plans: int
    meetings_held: int
    meetings_upcoming: int
    decisions: int


#: Register states in which a person has agreed to coordinated care, so may have a plan.
PLANNED_STATES = ("consented", "active", "review_due")


def seed_demo_care(
    sessions: sessionmaker[Session], settings: Settings, *, now: dt.datetime | None = None
) -> DemoCare:
    """The whole demo loop in the care store: the register, care plans for the people who
    agreed to coordinated care (written by the demo coordinator), and an MDT meeting held two
    weeks ago with an upcoming one, all dated from `now` (default: the real now). Safe to run
    again: what exists is left alone."""
    now = now or dt.datetime.now(dt.UTC)
    register = seed_demo_register(sessions, settings, today=now.date())
    coordinator = _principal(sessions, COORDINATOR)
    with sessions() as session:
        planned = list(
            session.scalars(
                select(RegisterEntry.person_id)
                .where(RegisterEntry.status.in_(PLANNED_STATES))
                .order_by(RegisterEntry.person_id)
            )
        )
        meetings = session.scalar(select(func.count()).select_from(MdtMeeting)) or 0
    plans = seed_demo_plans(sessions, settings, planned, coordinator.user_id, today=now.date())
    if meetings:
        return DemoCare(register, len(plans), 0, 0, 0)
    held = seed_demo_meetings(sessions, settings, organiser_username=COORDINATOR, now=now)
    return DemoCare(register, len(plans), 1, 1, held.decisions)
