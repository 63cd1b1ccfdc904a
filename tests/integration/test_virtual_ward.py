"""The virtual ward's services on both backends: admission behind the relationship rule,
reading sets scored and refused whole, alerts raised and worked through the queue (two nurses at
once: one wins, the other told who), missed readings, escalation, discharge and the measures."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent, Organisation
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import alert_queue, ward, ward_views
from joinedup.neighbourhood.models import ReadingSet, WardAdmission, WardAlert
from joinedup.neighbourhood.news2 import Observations
from joinedup.population.reads import PersonIdentity
from tests.auth_support import principal

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# NEWS2 0: every parameter in its normal band (RCP 2017 Chart 1).
CALM = Observations(18, 97, False, 125, 72, "A", 36.8)
# NEWS2 8 (resp 25 → 3, SpO2 93 → 2, pulse 115 → 2, temperature 38.5 → 1): high, red score.
UNWELL = Observations(25, 93, False, 125, 115, "A", 38.5)


def _organisations(session: Session) -> None:
    for code, kind, parent in (
        ("NBH01", "neighbourhood", None),
        ("P81001", "practice", "NBH01"),
        ("P81009", "practice", None),
    ):
        session.add(
            Organisation(org_code=code, name=code, org_type=kind, parent_code=parent, synced_at=NOW)
        )


def add_user(sessions: sessionmaker[Session], username: str, role: str, org: str) -> Principal:
    with sessions() as session, session.begin():
        user = User(username=username, display_name=username, role=role, created_at=NOW)
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=org))
        user_id = int(user.id)
    return principal(role, user_id=user_id, username=username, organisations=(org,))


def person(person_id: int, practice: str = "P81001") -> PersonIdentity:
    return PersonIdentity(
        person_id, "9990000000", dt.date(1940, 5, 1), "F", None, practice, None, None, None
    )


@dataclass
class Ward:
    sessions: sessionmaker[Session]
    nurse: Principal
    other_nurse: Principal
    gp: Principal
    ward_id: int

    def admit(self, person_id: int, **changes: object) -> int:
        values: dict[str, object] = {
            "ward_id": self.ward_id,
            "pathway": "step_up",
            "source": "gp",
            "reason": "Chest infection, treated at home",
            "expected_stay_days": 7,
            "responsible_user_id": self.gp.user_id,
        }
        values.update(changes)
        return ward.admit(self.sessions, self.nurse, person(person_id), **values)  # type: ignore[arg-type]

    def read(self, admission: int, obs: Observations, seconds: float) -> ward.RecordedReading:
        """Record a set taken `seconds` after the admission (readings cannot be in the future)."""
        return ward.record_reading(
            self.sessions,
            self.nurse,
            admission,
            obs,
            taken_at=self.admitted_at(admission) + dt.timedelta(seconds=seconds),
            taken_by="staff",
        )

    def admitted_at(self, admission: int) -> dt.datetime:
        with self.sessions() as session:
            row = session.get(WardAdmission, admission)
            assert row is not None
            return row.admitted_at


@pytest.fixture
def vw(sessions: sessionmaker[Session]) -> Ward:
    with sessions() as session, session.begin():
        _organisations(session)
    nurse = add_user(sessions, "nurse-nia", "nurse", "NBH01")
    other = add_user(sessions, "nurse-ola", "nurse", "NBH01")
    gp = add_user(sessions, "dr-gita", "gp", "NBH01")
    ward_id = ward.create_ward(
        sessions, nurse, name="North Riverside virtual ward", org_code="NBH01", capacity_beds=20
    )
    return Ward(sessions, nurse, other, gp, ward_id)


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_admission_needs_a_relationship_and_one_open_stay(vw: Ward) -> None:
    admission = vw.admit(11)
    with vw.sessions() as session:
        row = session.get(WardAdmission, admission)
        assert row is not None and (row.person_id, row.pathway) == (11, "step_up")
    with pytest.raises(ward.WardError, match="already on a virtual ward"):
        vw.admit(11)
    with pytest.raises(ward.WardNotAllowed):
        ward.admit(
            vw.sessions,
            vw.nurse,
            person(12, practice="P81009"),
            ward_id=vw.ward_id,
            pathway="step_up",
            source="gp",
            reason="x",
            expected_stay_days=7,
            responsible_user_id=vw.gp.user_id,
        )
    with pytest.raises(ward.WardError) as bad:
        vw.admit(13, pathway="sideways", source="post", reason=" ", expected_stay_days=0)
    assert len(bad.value.problems) == 4
    assert count(vw.sessions, WardAdmission) == 1


def test_a_reading_is_scored_stored_and_fires_its_alerts(vw: Ward) -> None:
    admission = vw.admit(11)
    calm = vw.read(admission, CALM, 1)
    assert calm.result.total == 0 and calm.alerts == ()
    unwell = vw.read(admission, UNWELL, 60)
    assert (unwell.result.total, unwell.result.risk, unwell.result.red_score) == (8, "high", True)
    fired = {a.rule_id for a in unwell.alerts}
    # ≥ 7 is an emergency; the red score and the rise it also shows are superseded by it.
    assert fired == {"news2-high"}
    with vw.sessions() as session:
        stored = session.scalars(select(WardAlert).order_by(WardAlert.id)).all()
        assert {a.rule_id for a in stored} == fired
        assert all(a.state == "open" and a.escalated_to_role == "nurse" for a in stored)
        row = session.get(ReadingSet, unwell.reading_set_id)
        assert row is not None and row.sub_scores["resp_rate"] == 3 and row.news2_total == 8
        detail = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "ward_reading.record")
        ).all()
    assert "25" not in str(detail) and "38.5" not in str(detail)


def test_an_incomplete_set_is_stored_as_incomplete(vw: Ward) -> None:
    admission = vw.admit(11)
    home_kit = Observations(None, 96, False, 130, 80, None, 37.0)
    recorded = vw.read(admission, home_kit, 1)
    assert recorded.result.total is None
    with vw.sessions() as session:
        row = session.get(ReadingSet, recorded.reading_set_id)
        assert row is not None
        assert (row.news2_total, row.news2_risk) == (None, None)
        assert row.missing == ["resp_rate", "consciousness"]


def test_impossible_values_are_refused_with_every_reason_and_nothing_stored(vw: Ward) -> None:
    admission = vw.admit(11)
    impossible = Observations(18, 130, False, 125, 0, "A", 36.8)
    with pytest.raises(ward.WardError) as refused:
        vw.read(admission, impossible, 1)
    assert len(refused.value.problems) == 2
    assert "SpO2 130" in str(refused.value) and "pulse 0" in str(refused.value)
    with pytest.raises(ward.WardError, match="future"):
        vw.read(admission, CALM, 86_400)
    with pytest.raises(ward.WardError, match="not a number"):
        ward.parse_observations({"pulse": "fast", "spo2": "97"})
    assert count(vw.sessions, ReadingSet) == 0 and count(vw.sessions, WardAlert) == 0


def _first_alert(vw: Ward, admission: int) -> alert_queue.QueuedAlert:
    vw.read(admission, UNWELL, 1)
    return alert_queue.open_alerts(vw.sessions, vw.ward_id)[0]


def test_the_alert_is_acknowledged_actioned_and_closed_once(vw: Ward) -> None:
    admission = vw.admit(11)
    alert = _first_alert(vw, admission)
    alert_queue.acknowledge(vw.sessions, vw.nurse, alert.id, expected_version=1)
    with pytest.raises(alert_queue.AlertTaken, match="acknowledged by nurse-nia"):
        alert_queue.acknowledge(vw.sessions, vw.other_nurse, alert.id, expected_version=1)
    alert_queue.act(vw.sessions, vw.nurse, alert.id, action_taken="visit", expected_version=2)
    with pytest.raises(ward.WardError, match="one of"):
        alert_queue.act(vw.sessions, vw.nurse, alert.id, action_taken="pray", expected_version=3)
    alert_queue.close(
        vw.sessions,
        vw.nurse,
        alert.id,
        outcome="Antibiotics started",
        changed_management=True,
        expected_version=3,
    )
    with vw.sessions() as session:
        row = session.get(WardAlert, alert.id)
        assert row is not None
        assert (row.state, row.action_taken, row.changed_management, row.version) == (
            "closed",
            "visit",
            True,
            4,
        )
        assert row.acknowledged_by == vw.nurse.user_id


def test_two_nurses_acknowledging_at_once_one_wins_the_other_told_who(vw: Ward) -> None:
    admission = vw.admit(11)
    alert = _first_alert(vw, admission)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def take(nurse: Principal) -> None:
        start.wait()
        try:
            alert_queue.acknowledge(vw.sessions, nurse, alert.id, expected_version=1)
            outcomes[nurse.username] = "won"
        except alert_queue.AlertTaken as exc:
            outcomes[nurse.username] = str(exc)

    threads = [threading.Thread(target=take, args=(n,)) for n in (vw.nurse, vw.other_nurse)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1 and len(outcomes) == 2
    [loser_message] = [o for o in outcomes.values() if o != "won"]
    assert f"acknowledged by {winners[0]}" in loser_message
    with vw.sessions() as session:
        events = session.scalar(
            select(func.count()).where(AuditEvent.action == "ward_alert.acknowledge")
        )
    assert events == 1


def test_missed_readings_are_raised_once_and_escalate_when_unacknowledged(vw: Ward) -> None:
    schedule = ward.ScheduleRequest(frozenset({"spo2", "pulse"}), every_minutes=240)
    admission = vw.admit(11, schedule=schedule)
    start = vw.admitted_at(admission)
    # Due at 4 h, late after 4 h 30 min grace; by 9 h the 8-hour reading is missed too.
    assert ward.check_missed(vw.sessions, vw.nurse, start + dt.timedelta(hours=9)) == 2
    assert ward.check_missed(vw.sessions, vw.nurse, start + dt.timedelta(hours=9)) == 0
    [first, _] = alert_queue.open_alerts(vw.sessions, vw.ward_id)
    assert first.rule_id == "missed-reading" and first.escalated_to_role == "nurse"
    way_later = start + dt.timedelta(days=2)
    assert alert_queue.escalate_overdue(vw.sessions, vw.nurse, way_later) == 2
    moved = alert_queue.get_alert(vw.sessions, first.id)
    assert moved.escalated_to_role == "care_coordinator" and moved.version == 2
    # The last role on the rota keeps it; a nurse holding the old screen is refused.
    assert (
        alert_queue.escalate_overdue(vw.sessions, vw.nurse, way_later + dt.timedelta(days=1)) == 0
    )
    with pytest.raises(alert_queue.AlertTaken):
        alert_queue.acknowledge(vw.sessions, vw.nurse, first.id, expected_version=1)


def test_discharge_needs_closed_alerts_and_readmission_is_counted(vw: Ward) -> None:
    admission = vw.admit(11, pathway="step_down", source="hospital")
    alert = _first_alert(vw, admission)
    with pytest.raises(ward.WardError, match="not closed"):
        ward.discharge(vw.sessions, vw.nurse, admission, outcome="home")
    alert_queue.acknowledge(vw.sessions, vw.nurse, alert.id, expected_version=1)
    for other in alert_queue.open_alerts(vw.sessions, vw.ward_id):
        if other.state == "open":
            alert_queue.acknowledge(vw.sessions, vw.nurse, other.id, expected_version=1)
    for other in alert_queue.open_alerts(vw.sessions, vw.ward_id):
        alert_queue.close(
            vw.sessions,
            vw.nurse,
            other.id,
            outcome="Reviewed",
            changed_management=False,
            expected_version=other.version,
        )
    ward.discharge(vw.sessions, vw.nurse, admission, outcome="home")
    with pytest.raises(ward.WardError, match="discharged"):
        ward.discharge(vw.sessions, vw.nurse, admission, outcome="home")
    again = vw.admit(11)  # back within 30 days: a readmission
    vw.admit(12)
    measures = ward_views.ward_measures(
        vw.sessions,
        vw.ward_id,
        start=NOW - dt.timedelta(days=1),
        end=NOW + dt.timedelta(days=1),
        now=NOW + dt.timedelta(days=1),
    )
    assert (measures.admissions, measures.step_up, measures.step_down) == (3, 2, 1)
    assert (measures.discharges, measures.readmissions_30_days, measures.occupied_now) == (1, 1, 2)
    assert measures.mean_length_of_stay_days is not None
    assert measures.mean_length_of_stay_days < 0.1
    # Two open stays for about a day each over a 2-day period of 20 beds.
    assert measures.occupancy == pytest.approx(measures.bed_days / 40)
    assert 1.9 < measures.bed_days < 2.1
    assert again != admission


def test_the_board_shows_latest_set_trend_and_open_alerts_most_urgent_first(vw: Ward) -> None:
    calm_person = vw.admit(11)
    worse_person = vw.admit(12)
    vw.read(calm_person, CALM, 1)
    vw.read(worse_person, CALM, 1)
    vw.read(worse_person, UNWELL, 60)
    home_kit = Observations(None, 96, False, 130, 80, None, 37.0)
    vw.read(calm_person, home_kit, 120)  # incomplete: latest, but no trend from it
    rows = ward_views.board(vw.sessions, vw.ward_id, dt.datetime.now(dt.UTC))
    assert [r.admission_id for r in rows] == [worse_person, calm_person]
    worse, calm = rows
    assert worse.latest is not None and worse.latest.total == 8 and worse.trend == "up"
    assert worse.open_alerts == 1
    assert calm.latest is not None and calm.latest.total is None and calm.trend is None
    assert calm.open_alerts == 0
    vw.read(worse_person, CALM, 90)  # 0 after 8: falling
    vw.read(worse_person, home_kit, 100)  # an incomplete latest: the trend is of complete sets
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # every open alert overdue
    worse = next(
        r for r in ward_views.board(vw.sessions, vw.ward_id, tomorrow) if r.person_id == 12
    )
    assert worse.latest is not None and worse.latest.total is None and worse.trend == "down"
    assert (worse.open_alerts, worse.overdue_alerts, worse.missed_readings) == (1, 1, 0)
