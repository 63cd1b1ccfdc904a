"""Social prescribing referrals and outcomes for the synthetic area, so the pages and reports
have something in them on the demo (never real people: the area is synthetic, ADR 0005).

Calibration (the figures the generator aims at; `calibration` measures them back):

* **Volume** — NHS England's Long Term Plan commitment of 900,000 people referred to social
  prescribing a year by 2023/24 (NHS Long Term Plan, 2019, §1.40), over England's registered
  population of about 57 million: about 1.6% of registered people a year. Referrals are drawn
  over the 12 months before the extract date from adults, more often older and more deprived
  people (an assumption of this generator, not a published weight).
* **Wellbeing change** — UK social prescribing evaluations report mean WEMWBS gains of about 4
  to 7 points between first contact and discharge (the range this project's issue 19 asks for);
  the generator aims at +5 (SD 8). SWEMWBS items move by the same standardised effect, and ONS4
  items by about half to one point (anxiety down).
* **Everything else** (sources, needs, days to first contact, declines, onward referral
  outcomes, attrition before the end measure) is assumed, with the shares named below.

The demo link worker holds the open referrals of their own practices; the rest of the area's
referrals are with link workers who have no demo account (`link_worker_id` empty), and their
records are written as by the demo link worker.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.directory.models import DirectoryService
from joinedup.directory.social_prescribing import measures
from joinedup.directory.social_prescribing.models import (
    DECLINED_CODE,
    NEEDS,
    REFERRED_CODE,
    SocialPrescribingContact,
    SocialPrescribingMeasure,
    SocialPrescribingOnwardReferral,
    SocialPrescribingReferral,
)
from joinedup.governance.models import User
from joinedup.governance.relationships import user_practices
from joinedup.population.reads import (
    equity_groups,
    extract_date,
    practices_of,
    registered_person_ids,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

DEMO_LINK_WORKER = "demo-link-worker"
REFERRED_PER_YEAR = 900_000 / 57_000_000  # NHS Long Term Plan target over England's list size
SOURCE_SHARES = {"professional": 0.6, "register": 0.1, "mdt": 0.1, "self": 0.2}
NEED_WEIGHTS = {
    "loneliness": 5,
    "low_mood": 4,
    "physical_activity": 3,
    "money_and_debt": 2,
    "housing": 1,
    "carer_support": 1,
    "long_term_condition": 2,
    "employment": 1,
}
DECLINE_SHARE = 0.15
ONWARD_OUTCOMES = {"attended": 0.6, "not_taken_up": 0.3, "service_full": 0.1}
END_MEASURE_SHARE = 0.65  # people still in touch for the end measure
WEEKS_TO_END = 12
WEMWBS_START, WEMWBS_GAIN, WEMWBS_SD = 40.0, 5.0, 8.0
WEMWBS_POPULATION_SD = 8.5  # so SWEMWBS and ONS4 move by the same standardised effect


@dataclass(frozen=True)
class SeedSummary:
    referrals: int
    open: int
    with_end_measure: int


def seed_social_prescribing(
    sessions: sessionmaker[Session], settings: Settings, seed: int = 1
) -> SeedSummary:
    """The area's referrals over the year before its extract date, written in one unit of work
    with one audit event. Safe to run again: a care store with referrals is left alone."""
    store = PopulationStore(settings.population_dir)
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(SocialPrescribingReferral)):
            return SeedSummary(0, 0, 0)
        worker = session.scalar(select(User).where(User.username == DEMO_LINK_WORKER))
        services = list(session.scalars(select(DirectoryService.id).order_by(DirectoryService.id)))
        own = user_practices(session, worker.id) if worker else frozenset()
    if worker is None or not services:
        return SeedSummary(0, 0, 0)
    rng = random.Random(seed)
    today = extract_date(store)
    people = _people(store, rng, today)
    with unit_of_work(
        sessions,
        actor="demo",
        actor_role="system",
        action="sp_referral.seed_demo",
        entity_type="sp_referral",
        purpose="demo",
        detail={"people": len(people)},
    ) as uow:
        made = [
            _referral(uow.session, rng, person, practice, today, worker.id, own, services)
            for person, practice in people
        ]
    return SeedSummary(len(made), sum(m[0] for m in made), sum(m[1] for m in made))


def _people(store: PopulationStore, rng: random.Random, today: dt.date) -> list[tuple[int, str]]:
    """Adults referred this year, `REFERRED_PER_YEAR` of everyone registered: an adult is 1.5
    times as likely at 65 and over and 1.3 times in IMD deciles 1–3 (children are not)."""
    ids = [int(p) for p in registered_person_ids(store)]
    groups = equity_groups(store, ids)
    weights: dict[int, float] = {}
    for pid, person in groups.items():
        age = (today - person.date_of_birth).days / 365.25
        if age >= 18:
            older = 1.5 if age >= 65 else 1.0
            weights[pid] = older * (1.3 if (person.imd_decile or 10) <= 3 else 1.0)
    scale = REFERRED_PER_YEAR * len(ids) / max(1.0, sum(weights.values()))
    chosen = [pid for pid in sorted(weights) if rng.random() < scale * weights[pid]]
    practices = practices_of(store, chosen)
    return [(pid, practices[pid]) for pid in chosen]


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _referral(
    session: Session,
    rng: random.Random,
    person_id: int,
    practice: str,
    today: dt.date,
    worker_id: int,
    own: frozenset[str],
    services: Sequence[str],
) -> tuple[bool, bool]:
    """One person's referral and what followed; (is open, has an end measure)."""
    end_of_day = dt.datetime.combine(today, dt.time(17), tzinfo=dt.UTC)
    referred = end_of_day - dt.timedelta(days=rng.uniform(0, 365), hours=rng.uniform(0, 8))
    first = referred + dt.timedelta(days=min(60.0, rng.lognormvariate(2.3, 0.6)))
    needs = sorted(set(rng.choices(list(NEED_WEIGHTS), list(NEED_WEIGHTS.values()), k=2)))
    row = SocialPrescribingReferral(
        person_id=person_id,
        practice_code=practice,
        source=_pick(rng, SOURCE_SHARES),
        needs=[n for n in needs if n in NEEDS],
        reason="",
        consent=True,
        snomed_code=REFERRED_CODE,
        status="referred",
        referred_at=referred,
        link_worker_id=worker_id if practice in own else None,
    )
    session.add(row)
    session.flush()
    if first > end_of_day:
        return row.link_worker_id is not None, False
    row.first_contact_at, row.first_contact_mode = first, rng.choice(("phone", "in_person"))
    if rng.random() < DECLINE_SHARE:
        row.status, row.snomed_code, row.declined_at = "declined", DECLINED_CODE, first
        return False, False
    row.status = "active"
    row.what_matters, row.plan, row.plan_agreed_at = "(synthetic)", "(synthetic)", first
    _onward(session, rng, row, services, first, end_of_day, worker_id)
    end = first + dt.timedelta(weeks=WEEKS_TO_END, days=rng.uniform(-7, 7))
    ended = end <= end_of_day
    measured_end = ended and rng.random() < END_MEASURE_SHARE
    _measures(session, rng, row, first, end if measured_end else None, worker_id)
    if ended:
        session.add(
            SocialPrescribingContact(
                referral_id=row.id,
                contact_at=first + dt.timedelta(weeks=4),
                mode="phone",
                note="(synthetic follow-up)",
                recorded_by=worker_id,
            )
        )
        row.status, row.discharged_at = "discharged", end
        row.discharge_reason = "goals_met" if measured_end else "disengaged"
    return row.status == "active" and row.link_worker_id is not None, measured_end


def _onward(
    session: Session,
    rng: random.Random,
    row: SocialPrescribingReferral,
    services: Sequence[str],
    first: dt.datetime,
    end_of_day: dt.datetime,
    writer: int,
) -> None:
    for service in rng.sample(list(services), k=min(len(services), rng.choice((1, 1, 2)))):
        at = first + dt.timedelta(days=rng.uniform(1, 14))
        if at > end_of_day:
            continue
        outcome_at = at + dt.timedelta(days=21)
        known = outcome_at <= end_of_day
        session.add(
            SocialPrescribingOnwardReferral(
                referral_id=row.id,
                service_id=service,
                referred_at=at,
                referred_by=writer,
                outcome=_service_outcome(rng, service) if known else None,
                outcome_at=outcome_at if known else None,
            )
        )


def _service_outcome(rng: random.Random, service: str) -> str:
    """Attended, not taken up or full; some services are taken up more than others."""
    lean = (int(service[:2], 16) / 255 - 0.5) * 0.4  # a fixed lean per service, ±0.2
    shares = dict(ONWARD_OUTCOMES)
    shares["attended"] = max(0.05, shares["attended"] + lean)
    return _pick(rng, shares)


def _measures(
    session: Session,
    rng: random.Random,
    row: SocialPrescribingReferral,
    start_at: dt.datetime,
    end_at: dt.datetime | None,
    writer: int,
) -> None:
    """ONS4 and one of WEMWBS (40%) or SWEMWBS (60%) at start and, if still in touch, at end."""
    instrument = "wemwbs" if rng.random() < 0.4 else "swemwbs"
    level = rng.gauss(0, 1)  # the person's wellbeing at start, in population SDs
    gain = rng.gauss(WEMWBS_GAIN, WEMWBS_SD) / WEMWBS_POPULATION_SD
    points = [("start", start_at, 0.0)] + ([("end", end_at, gain)] if end_at else [])
    for timepoint, at, shift in points:
        for name in ("ons4", instrument):
            scored = measures.score(name, _answers(rng, name, level + shift))
            session.add(
                SocialPrescribingMeasure(
                    referral_id=row.id,
                    instrument=name,
                    timepoint=timepoint,
                    items=list(scored.items),
                    score=scored.score,
                    raw_score=scored.raw_score,
                    recorded_at=at,
                    recorded_by=writer,
                )
            )


def _answers(rng: random.Random, instrument: str, level: float) -> list[int | None]:
    """Item answers for a person `level` population SDs from the referred group's start mean:
    the total is drawn first and spread over the items, so rounding each item does not shrink
    the change."""
    if instrument == "ons4":
        means = {"life_satisfaction": 5.0, "worthwhile": 5.5, "happy": 5.0, "anxious": 5.5}
        return [
            _clip(round(rng.gauss(means[n] + (-1 if n == "anxious" else 1) * level, 1.2)), 0, 10)
            for n, _ in measures.ONS4_ITEMS
        ]
    count = measures.WEMWBS_ITEMS if instrument == "wemwbs" else measures.SWEMWBS_ITEMS
    mean = WEMWBS_START * count / measures.WEMWBS_ITEMS
    sd = WEMWBS_POPULATION_SD * count / measures.WEMWBS_ITEMS
    total = _clip(round(mean + sd * level), count, 5 * count)
    return _spread(rng, total, count)


def _spread(rng: random.Random, total: int, count: int) -> list[int | None]:
    """`count` items of 1–5 that add up to `total` (count ≤ total ≤ 5 × count)."""
    items = [total // count] * count
    for index in rng.sample(range(count), total % count):
        items[index] += 1
    for _ in range(count):  # move a point between two items now and then, keeping the sum
        a, b = rng.sample(range(count), 2)
        if items[a] < 5 and items[b] > 1:
            items[a], items[b] = items[a] + 1, items[b] - 1
    return list(items)


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
