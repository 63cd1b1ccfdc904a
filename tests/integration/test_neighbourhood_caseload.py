"""The neighbourhood caseload and its day of visits on both backends: a team from every
organisation, intake and discharge with reasons, the day built from caseload and rota, both
plan options checked by the independent checker, outcomes updating the caseload, and a
same-day replan when a nurse goes off sick (issues 15 and 16)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import capacity, caseload_demo, visit_day
from joinedup.neighbourhood import caseload as cl
from joinedup.neighbourhood.caseload_demo import seed_demo_caseloads
from joinedup.neighbourhood.caseload_models import CaseloadEntry, VisitOutcome
from joinedup.neighbourhood.visits.checker import check
from joinedup.neighbourhood.visits.travel import StraightLine
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.places import practice_locations
from joinedup.population.reads import (
    find_person,
    home_points,
    organisations,
    practices_of,
    registered_person_ids,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal

DAY = dt.date(2026, 12, 7)
TRAVEL = StraightLine()


def _user(sessions: sessionmaker[Session], role: str, org: str) -> Principal:
    with sessions() as session, session.begin():
        user = User(
            username=f"t-{role}", display_name=role, role=role, created_at=dt.datetime.now(dt.UTC)
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=org))
        user_id = int(user.id)
    return principal(role, user_id=user_id, username=f"t-{role}", organisations=(org,))


def _people(store: PopulationStore, hood: str, count: int) -> list[int]:
    """`count` people registered in the neighbourhood's practices, with a home to visit."""
    practices = {c for c, o in organisations(store).items() if o.parent_code == hood}
    ids = registered_person_ids(store)[:3000].tolist()
    mine = [p for p, code in practices_of(store, ids).items() if code in practices]
    homes = home_points(store, mine)
    return [p for p in mine if p in homes][:count]


def _entry(nurse: int, **changes: object) -> cl.EntryRequest:
    values: dict[str, object] = {
        "reason": "Leg ulcer, weekly dressing",
        "intake_source": "referral",
        "acuity": "medium",
        "named_nurse_id": nurse,
        "visit_type": "wound_care",
        "visits_per_week": 7,
        "duration_min": 30,
        "window_start": 9 * 60,
        "window_end": 16 * 60,
        "next_review": DAY + dt.timedelta(days=28),
    }
    values.update(changes)
    return cl.EntryRequest(**values)  # type: ignore[arg-type]


def test_is_due_spreads_each_frequency_over_every_week() -> None:
    for per_week in range(1, 8):
        for entry_id in (1, 2, 17):
            for start in range(7):
                days = [DAY + dt.timedelta(days=start + i) for i in range(7)]
                due = sum(visit_day.is_due(entry_id, per_week, d) for d in days)
                assert due == per_week, (per_week, entry_id, start)


def test_capacity_warns_past_the_published_thresholds() -> None:
    busy = capacity.Capacity("N", DAY, 320, 2.0, 2, 21, {"high": 400, "medium": 300}, 840)
    assert busy.caseload_per_wte == 160.0 and busy.visits_per_nurse == 10.5
    assert len(busy.warnings) == 2  # 160 > 150 per WTE, 10.5 > 9 visits; 700 care ≤ 840 staff
    calm = capacity.Capacity("N", DAY, 150, 1.0, 2, 18, {"high": 900}, 840)
    assert [w.split(" ")[0] for w in calm.warnings] == ["900"]  # exactly 150 and 9: no warning


def test_caseload_to_a_replanned_day(sessions: sessionmaker[Session], small_area: Settings) -> None:
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    hood = next(c for c, o in organisations(store).items() if o.org_type == "neighbourhood")
    nurse = _user(sessions, "nurse", hood)
    people = _people(store, hood, 8)
    base = home_points(store, people)[people[0]]

    def member(name: str, role: str, **extra: object) -> int:
        kind = "social_care" if role == "social_worker" else "community_trust"
        req = cl.MemberRequest(name, kind, "Synthetic Trust", role, **extra)  # type: ignore[arg-type]
        return cl.add_member(sessions, nurse, hood, req)

    ana = member("Ana", "district_nurse", band=6, base=base, skills=("syringe_driver",))
    ben = member("Ben", "community_nurse", band=5, base=base)
    cai = member("Cai", "community_nurse", band=5, base=base)
    member("Dee", "social_worker")
    assert {m.display_name for m in cl.team(sessions, hood)} == {"Ana", "Ben", "Cai", "Dee"}

    who = [find_person(store, p) for p in people]
    assert all(who)
    entries = [
        cl.add_to_caseload(
            sessions,
            nurse,
            who[0],  # type: ignore[arg-type]
            hood,
            _entry(ana, acuity="high", fixed_time=600),
        ),
        cl.add_to_caseload(
            sessions,
            nurse,
            who[1],  # type: ignore[arg-type]
            hood,
            _entry(ana, visit_type="end_of_life", required_skills=("syringe_driver",)),
        ),
        cl.add_to_caseload(sessions, nurse, who[2], hood, _entry(ben, two_person=True)),  # type: ignore[arg-type]
        *(
            cl.add_to_caseload(sessions, nurse, p, hood, _entry(cai, preferred_nurse_id=ben))  # type: ignore[arg-type]
            for p in who[3:7]
        ),
    ]

    # Refused whole, with every reason: already on the caseload, and a bad window.
    with pytest.raises(cl.CaseloadError) as refused:
        cl.add_to_caseload(sessions, nurse, who[0], hood, _entry(ana, window_end=9 * 60 + 10))  # type: ignore[arg-type]
    assert len(refused.value.problems) == 2
    with pytest.raises(cl.CaseloadError, match="visiting role"):
        social = cl.team(sessions, hood)[-1].id
        cl.add_to_caseload(sessions, nurse, who[7], hood, _entry(social))  # type: ignore[arg-type]

    visit_day.set_shifts(
        sessions,
        nurse,
        DAY,
        [visit_day.ShiftRequest(m, 8 * 60, 17 * 60, 12 * 60, 14 * 60, 30) for m in (ana, ben, cai)],
    )
    built = visit_day.build_day(sessions, store, hood, DAY)
    assert {v.id for v in built.day.visits} == {visit_day.visit_id(e) for e in entries}
    assert len(built.day.nurses) == 3  # the social worker does not visit

    options = visit_day.plan_options(sessions, nurse, store, hood, DAY, TRAVEL, seconds=1)
    plans = visit_day.plans_of_day(sessions, hood, DAY)
    assert len(options) == 2 and visit_day.current_plan(plans) is None
    for option in visit_day.latest_options(plans):
        assert check(option.plan, TRAVEL) == []
        assert option.plan.summary.unplanned == 0
    visit_day.adopt(sessions, nurse, options[0])
    adopted = visit_day.current_plan(visit_day.plans_of_day(sessions, hood, DAY))
    assert adopted is not None and adopted.kind == "least_travel"

    # Outcomes update the caseload; a second outcome for one visit is refused.
    routes = [r for r in adopted.plan.routes if r.stops]
    first = routes[0].stops[0]
    visit_day.record_outcome(sessions, nurse, hood, DAY, first.visit_id, "needs_review")
    with pytest.raises(cl.CaseloadError, match="already recorded"):
        visit_day.record_outcome(sessions, nurse, hood, DAY, first.visit_id, "done")
    with sessions() as session:
        entry = session.get(CaseloadEntry, visit_day.entry_of(first.visit_id))
        assert entry is not None and entry.last_outcome == "needs_review"
        assert entry.next_review == DAY  # brought forward
        assert session.scalars(select(VisitOutcome)).all()[0].member_id == visit_day.member_of(
            routes[0].nurse_id
        )

    # The first route's nurse goes off sick once that visit is over.
    off = visit_day.member_of(routes[0].nurse_id)
    replan_id = visit_day.nurse_off(
        sessions, nurse, hood, DAY, off, first.departure, TRAVEL, seconds=1
    )
    replanned = visit_day.current_plan(visit_day.plans_of_day(sessions, hood, DAY))
    assert replanned is not None and replanned.id == replan_id and replanned.kind == "replan"
    assert check(replanned.plan, TRAVEL) == []
    sick = next(r for r in replanned.plan.routes if r.nurse_id == routes[0].nurse_id)
    assert [s.visit_id for s in sick.stops] == [first.visit_id]  # kept; nothing after
    moved = {s.visit_id for s in routes[0].stops[1:]}
    assert moved <= {c["visit_id"] for c in replanned.changes}
    assert routes[0].nurse_id not in replanned.nurses_to_tell
    # The morning's options are stale now: none is offered, and adopting one is refused
    # (it would drop the replan and what is under way).
    assert visit_day.latest_options(visit_day.plans_of_day(sessions, hood, DAY)) == []
    with pytest.raises(cl.CaseloadError, match="replanned"):
        visit_day.adopt(sessions, nurse, options[1])
    still = visit_day.current_plan(visit_day.plans_of_day(sessions, hood, DAY))
    assert still is not None and still.id == replan_id

    report = capacity.capacity(sessions, hood, DAY)
    assert (report.caseload, report.visits_due, report.nurses_on_shift) == (7, 7, 2)
    assert report.care_minutes["high"] == 30 and report.total_care_minutes == 8 * 30

    # An urgent visit for someone not in today's plan: replanned in from 11:00.
    urgent = cl.add_to_caseload(sessions, nurse, who[7], hood, _entry(cai, acuity="high"))  # type: ignore[arg-type]
    visit_day.urgent_visit(sessions, nurse, store, hood, DAY, urgent, 11 * 60, TRAVEL, seconds=1)
    with_urgent = visit_day.current_plan(visit_day.plans_of_day(sessions, hood, DAY))
    assert with_urgent is not None and check(with_urgent.plan, TRAVEL) == []
    planned = {s.visit_id: s.start for r in with_urgent.plan.routes for s in r.stops}
    assert planned[visit_day.visit_id(urgent)] >= 11 * 60
    assert visit_day.visit_id(urgent) in {c["visit_id"] for c in with_urgent.changes}
    with pytest.raises(cl.CaseloadError, match="already has a visit today"):
        visit_day.urgent_visit(sessions, nurse, store, hood, DAY, urgent, 11 * 60, TRAVEL)

    cl.discharge(sessions, nurse, who[3], entries[3], "goals_met")  # type: ignore[arg-type]
    with pytest.raises(cl.CaseloadError, match="already been discharged"):
        cl.discharge(sessions, nurse, who[3], entries[3], "goals_met")  # type: ignore[arg-type]
    assert len(cl.caseload(sessions, hood)) == 7
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        details = " ".join(str(d) for d in session.scalars(select(AuditEvent.detail)))
    assert {"caseload.add", "caseload.discharge", "visit_day.nurse_off"} <= set(actions)
    assert "Leg ulcer" not in details  # no clinical text in the audit trail


def test_the_demo_team_is_based_at_the_neighbourhoods_practices(
    sessions: sessionmaker[Session], small_area: Settings
) -> None:
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    hood = next(c for c, o in organisations(store).items() if o.org_type == "neighbourhood")
    seeded = seed_demo_caseloads(
        sessions,
        store,
        _user(sessions, "nurse", hood),
        first_day=DAY,
        people_per_neighbourhood=3,
        only=[hood],
    )
    assert seeded == 1
    places = practice_locations(store)
    practices = sorted(c for c, o in organisations(store).items() if o.parent_code == hood)
    at_practices = [(places[c].point.lat, places[c].point.lon) for c in practices if c in places]
    assert at_practices, "the small area's practices have premises in its metadata"
    bases = [m.base for m in cl.team(sessions, hood) if m.base is not None]
    assert len(bases) == len(caseload_demo.NURSES) + 1  # the nurses and the community matron
    assert set(bases) == set(at_practices[: len(bases)])  # each a practice, in turn
