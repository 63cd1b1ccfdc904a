"""Coordinated-care measures, caseload balance and the worklist, on hand-made care-store rows and
hand-made stratification runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import PERSON_RESULTS, RUN_FILE, RUNS_DIR
from joinedup.care.caseloads import is_heavy, team_caseloads
from joinedup.care.measures import CoordinatedCareMeasures, coordinated_care_measures
from joinedup.care.models import (
    CareAction,
    CarePlan,
    CarePlanVersion,
    MdtMeeting,
    NamedProfessional,
    RegisterEntry,
)
from joinedup.care.worklist import new_action_count, worklist
from joinedup.governance.models import Objection, User
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

Sessions = sessionmaker[Session]
AS_OF = dt.date(2026, 3, 31)
NOON = dt.time(12, tzinfo=dt.UTC)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, NOON)


def write_run(
    home: Path,
    run_id: str,
    created_at: str,
    rows: list[dict[str, object]],
    index_date: str = "2026-03-31",
) -> None:
    """A stratification run holding only what the care services read."""
    folder = home / RUNS_DIR / run_id
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / PERSON_RESULTS)
    meta = {
        "index_date": index_date,
        "created_at": created_at,
        "engine": "duckdb",
        "parameters": {"schemes": []},
        "segmentations": {},
        "risk_columns": ["risk"],
    }
    (folder / RUN_FILE).write_text(json.dumps(meta))


def _person(pid: int, risk: float, hood: str, efi: str = "fit") -> dict[str, object]:
    practice = "P81001" if hood == "NBH01" else "P81003"
    return {
        "person_id": pid,
        "practice_code": practice,
        "neighbourhood_code": hood,
        "efi_category": efi,
        "hfrs_category": "low",
        "risk": risk,
    }


@pytest.fixture
def home(tmp_path: Path, area_store: PopulationStore) -> Settings:
    """area_store wrote the organisations (NBH01, NBH02) under tmp_path/population."""
    assert area_store.root == tmp_path / "population"
    return Settings(home=tmp_path, database_url="sqlite://")


def _users(sessions: Sessions, *names: str) -> list[int]:
    ids = []
    with sessions() as session, session.begin():
        for name in names:
            user = User(
                username=name, display_name=name.title(), role="nurse", created_at=_at(AS_OF)
            )
            session.add(user)
            session.flush()
            ids.append(user.id)
    return ids


def _entry(
    session: Session, pid: int, hood: str, status: str, by: int, review: dt.date | None = None
) -> RegisterEntry:
    row = RegisterEntry(
        person_id=pid,
        practice_code="P81001" if hood == "NBH01" else "P81003",
        neighbourhood_code=hood,
        status=status,
        source="referral",
        reason="r",
        added_by=by,
        added_at=_at(AS_OF - dt.timedelta(days=200)),
        status_changed_at=_at(AS_OF - dt.timedelta(days=200)),
        review_due_on=review,
        version=1,
    )
    session.add(row)
    session.flush()
    return row


def _named(session: Session, entry: RegisterEntry, user: int, started: dt.date) -> None:
    session.add(
        NamedProfessional(
            entry_id=entry.id,
            person_id=entry.person_id,
            user_id=user,
            professional_role="nurse",
            started_at=_at(started),
            assigned_by=user,
        )
    )


def _plan(session: Session, pid: int, by: int, versions: list[tuple[dt.date, dt.date]]) -> None:
    """A plan whose versions were each agreed on the first date, with the second as review."""
    plan = CarePlan(
        person_id=pid,
        version=len(versions),
        status="agreed",
        created_at=_at(AS_OF),
        updated_at=_at(AS_OF),
        updated_by=by,
    )
    session.add(plan)
    session.flush()
    for number, (agreed, review) in enumerate(versions, start=1):
        session.add(
            CarePlanVersion(
                plan_id=plan.id,
                version=number,
                content={"review_due_on": review.isoformat()},
                saved_at=_at(agreed),
                saved_by=by,
                agreed_by_person=True,
                agreed_at=_at(agreed),
                agreement_recorded_by=by,
            )
        )


def _action(
    session: Session,
    pid: int,
    owner: int,
    due: dt.date,
    status: str,
    done: dt.date | None = None,
    *,
    by: int | None = None,
    created: dt.date | None = None,
) -> None:
    session.add(
        CareAction(
            person_id=pid,
            title=f"call {pid}",
            source="register",
            owner_user_id=owner,
            owner_name="N",
            owner_org="O",
            due_on=due,
            status=status,
            created_at=_at(created or due - dt.timedelta(days=30)),
            created_by=by or owner,
            completed_at=_at(done) if done else None,
            version=1,
        )
    )


def _meeting(session: Session, hood: str, by: int, day: dt.date, status: str) -> None:
    session.add(
        MdtMeeting(
            neighbourhood_code=hood,
            starts_at=_at(day),
            status=status,
            created_by=by,
            created_at=_at(day),
            held_at=_at(day) if status == "held" else None,
        )
    )


def test_measures_count_each_definition_per_neighbourhood(
    sessions: Sessions, home: Settings
) -> None:
    # 41 people: 40 is the highest risk, 39 and 41 tie next; 0.05 × 41 = 2.05, so the top 5%
    # is everyone with fewer than 2.05 people above: 40, 39 and 41 (ties all in).
    people = [_person(i, i / 100, "NBH01") for i in range(1, 41)]
    people.append(_person(41, 0.39, "NBH02"))
    write_run(home.home, "run1", "2026-04-01T00:00:00Z", people)
    [nurse] = _users(sessions, "nurse")

    def day(days_ago: int) -> dt.date:
        return AS_OF - dt.timedelta(days=days_ago)

    with sessions() as session, session.begin():
        e40 = _entry(session, 40, "NBH01", "active", nurse)
        _named(session, e40, nurse, AS_OF - dt.timedelta(days=100))
        _entry(session, 39, "NBH01", "active", nurse)
        _entry(session, 38, "NBH01", "discharged", nurse)
        session.add(
            Objection(
                person_id=39,
                kind="type_1",
                source="recorded",
                recorded_at=_at(AS_OF),
                recorded_by="t",
            )
        )
        # Person 40: review due 30 days ago, reviewed (v2 agreed) 40 days ago: on time.
        _plan(session, 40, nurse, [(day(200), day(30)), (day(40), day(-100))])
        # Person 41: review due 10 days ago, not reviewed.
        _plan(session, 41, nurse, [(day(100), day(10))])
        _meeting(session, "NBH01", nurse, day(10), "held")
        _meeting(session, "NBH01", nurse, day(100), "held")  # outside 90 days
        _meeting(session, "NBH02", nurse, day(5), "scheduled")
        _action(session, 40, nurse, day(5), "done", day(6))  # on time
        _action(session, 40, nurse, day(3), "done", day(1))  # late
        _action(session, 40, nurse, day(3), "cancelled")  # not counted
        _action(session, 40, nurse, day(400), "open")  # due over a year ago
        _action(session, 41, nurse, day(-5), "open")  # not due yet

    found = coordinated_care_measures(sessions, home, as_of=AS_OF)

    assert found == [
        CoordinatedCareMeasures("NBH01", 1, 1, 1, 1, 1, 1, 1, 2, 1),
        CoordinatedCareMeasures("NBH02", 1, 0, 0, 1, 1, 0, 0, 0, 0),
    ]


def test_with_no_run_the_cohort_is_empty_but_activity_still_counts(
    sessions: Sessions, home: Settings
) -> None:
    [nurse] = _users(sessions, "nurse")
    with sessions() as session, session.begin():
        _meeting(session, "NBH02", nurse, AS_OF, "held")

    found = {
        m.neighbourhood_code: m for m in coordinated_care_measures(sessions, home, as_of=AS_OF)
    }

    assert found["NBH01"].top_risk_cohort == found["NBH02"].top_risk_cohort == 0
    assert found["NBH02"].mdt_meetings_held_90_days == 1


def test_a_heavy_caseload_is_over_one_and_a_half_times_the_team_median() -> None:
    assert is_heavy(7, 4.0) and not is_heavy(6, 4.0)
    assert not is_heavy(3, 0.0)


def test_caseloads_per_neighbourhood_team_flag_the_heavy_one(sessions: Sessions) -> None:
    a, b, c, d = _users(sessions, "amy", "bea", "cat", "dee")
    loads = {a: 2, b: 3, c: 7}  # median 3: 7 > 4.5 is heavy, 3 and 2 are not
    pid = 100
    with sessions() as session, session.begin():
        for user, n in loads.items():
            for _ in range(n):
                pid += 1
                _named(session, _entry(session, pid, "NBH01", "active", user), user, AS_OF)
        left = _entry(session, 999, "NBH01", "discharged", d)  # left: not counted
        _named(session, left, d, AS_OF)
        _named(session, _entry(session, 500, "NBH02", "active", d), d, AS_OF)

    teams = team_caseloads(sessions)

    assert [t.neighbourhood_code for t in teams] == ["NBH01", "NBH02"]
    nbh01 = teams[0]
    assert nbh01.median == 3.0
    assert [(x.user_id, x.people, x.flagged) for x in nbh01.caseloads] == [
        (c, 7, True),
        (b, 3, False),
        (a, 2, False),
    ]
    assert [(x.user_id, x.people) for x in teams[1].caseloads] == [(d, 1)]
    assert team_caseloads(sessions, practices={"P81003"})[0].neighbourhood_code == "NBH02"


def test_the_worklist_holds_reviews_actions_allocations_and_risers(
    sessions: Sessions, home: Settings
) -> None:
    before = [_person(i, 0.1, "NBH01") for i in (1, 2, 3, 4)]
    after = [_person(i, 0.1, "NBH01", "severe" if i in (2, 4) else "fit") for i in (1, 2, 3, 4)]
    write_run(home.home, "run1", "2026-01-01T00:00:00Z", before, "2025-12-31")
    write_run(home.home, "run2", "2026-04-01T00:00:00Z", after)
    me, other = _users(sessions, "me", "other")
    today = AS_OF
    with sessions() as session, session.begin():
        soon = _entry(session, 1, "NBH01", "active", me, review=today + dt.timedelta(days=3))
        _named(session, soon, me, today - dt.timedelta(days=100))
        riser = _entry(session, 2, "NBH01", "review_due", me)
        _named(session, riser, me, today - dt.timedelta(days=2))  # new allocation too
        later = _entry(session, 3, "NBH01", "active", me, review=today + dt.timedelta(days=90))
        _named(session, later, me, today - dt.timedelta(days=100))
        theirs = _entry(session, 4, "NBH01", "active", other, review=today)
        _named(session, theirs, other, today)
        _action(session, 3, me, today - dt.timedelta(days=1), "open")
        _action(session, 3, me, today + dt.timedelta(days=30), "open")  # later, still mine
        _action(session, 3, me, today, "done", today)
        _action(session, 4, other, today, "open")
        # Assigned by someone else: two days ago (new), and three weeks ago (no longer new).
        _action(session, 1, me, today + dt.timedelta(days=16), "open", by=other, created=today)
        _action(
            session, 1, me, today + dt.timedelta(days=40), "open", by=other,
            created=today - dt.timedelta(days=21),
        )  # fmt: skip

    work = worklist(sessions, home, me, today=today)

    assert work.caseload == 3
    assert [(r.person_id, r.what) for r in work.reviews] == [
        (2, "register review"),
        (1, "register review"),
    ]
    assert [(a.person_id, a.overdue(today), a.group(today), a.new) for a in work.actions] == [
        (3, True, "overdue", False),
        (1, False, "later", True),
        (3, False, "later", False),
        (1, False, "later", False),
    ]
    assert new_action_count(sessions, me, today) == 1
    assert new_action_count(sessions, other, today) == 0
    assert [a.person_id for a in work.allocations] == [2]
    assert [(r.person_id, r.reason) for r in work.risers] == [
        (2, "eFI frailty worsened from fit to severe")
    ]
    assert work.runs_compared == ("run1", "run2")
    # The page names the runs by the dates they stratified at, not by their ids alone.
    assert work.dates_compared == (dt.date(2025, 12, 31), AS_OF)
    assert work.people == {1, 2, 3}
