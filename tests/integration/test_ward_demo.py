"""The demo's synthetic virtual ward: calibrated stays, every stored score and alert what the
live services would have made of the same readings, finished stays fully answered, and a
second run leaves it alone."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.users import create_demo_users
from joinedup.neighbourhood import alerts, news2, ward_demo
from joinedup.neighbourhood.models import ReadingSet, WardAdmission, WardAlert
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from tests.carestore_support import migrated

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(
    small_store: PopulationStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[sessionmaker[Session], ward_demo.DemoWard]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ward-demo') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    sync_organisations(small_store, sessions)
    create_demo_users(sessions)
    made = ward_demo.seed_demo_ward(sessions, small_store, seed=3, now=NOW, history_days=30)
    assert made is not None
    return sessions, made


def test_stays_are_calibrated(demo: tuple[sessionmaker[Session], ward_demo.DemoWard]) -> None:
    sessions, made = demo
    with sessions() as session:
        stays = list(session.scalars(select(WardAdmission)))
    assert len(stays) == made.stays > 20
    finished = [s for s in stays if s.discharged_at is not None]
    days = [(s.discharged_at - s.admitted_at) / dt.timedelta(days=1) for s in finished]
    assert 3 <= statistics.median(days) <= 10
    assert all(s.discharged_at <= NOW for s in finished)
    assert {s.pathway for s in stays} == {"step_up", "step_down"}
    assert {s.discharge_outcome for s in finished} >= {"home", "hospital"}
    assert max(_occupied(stays, NOW - dt.timedelta(days=d)) for d in range(20)) <= 20


def _occupied(stays: list[WardAdmission], at: dt.datetime) -> int:
    return sum(1 for s in stays if s.admitted_at <= at and (s.discharged_at or NOW) > at)


def test_scores_and_alerts_are_what_the_rules_make_of_the_readings(
    demo: tuple[sessionmaker[Session], ward_demo.DemoWard],
) -> None:
    sessions, made = demo
    with sessions() as session:
        sets = list(session.scalars(select(ReadingSet)))
        fired = list(session.scalars(select(WardAlert)))
        stays = {s.id: s for s in session.scalars(select(WardAdmission))}
    assert len(sets) == made.sets and len(fired) == made.alerts
    for row in sets[:300]:
        obs = news2.Observations(**{p: getattr(row, p) for p in news2.PARAMETERS})
        assert news2.score(obs).total == row.news2_total
    on_sets = [a for a in fired if a.reading_set_id is not None]
    by_id = {s.id: s for s in sets}
    rules = alerts.load_rules()
    for alert in on_sets[:100]:
        row = by_id[alert.reading_set_id]
        rule = rules.rule(alert.rule_id)
        assert row.taken_at == alert.raised_at
        if isinstance(rule, alerts.News2TotalRule):
            assert rule.min_total <= (row.news2_total or -1) <= rule.max_total
    # a finished stay leaves nothing unanswered; some answers were late, some on time
    assert all(a.state == "closed" for a in fired if stays[a.admission_id].discharged_at)
    late = [a for a in fired if a.acknowledged_at and a.acknowledged_at > a.due_by]
    on_time = [a for a in fired if a.acknowledged_at and a.acknowledged_at <= a.due_by]
    assert late and on_time
    assert any(a.rule_id == "missed-reading" for a in fired)


def test_a_second_run_leaves_the_ward_alone(
    demo: tuple[sessionmaker[Session], ward_demo.DemoWard], small_store: PopulationStore
) -> None:
    sessions, _ = demo
    assert ward_demo.seed_demo_ward(sessions, small_store, seed=3, now=NOW) is None
