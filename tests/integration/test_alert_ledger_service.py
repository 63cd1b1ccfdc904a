"""The alert-effectiveness ledger read from both stores on both backends: an alert raised,
acknowledged and closed on the ward, the person's emergency admission in the population store,
and the ledger page showing it (published: small numbers withheld)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from joinedup.neighbourhood import alert_queue, ledger, ledger_service, ward
from joinedup.neighbourhood.models import WardAdmission, WardAlert
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import signed_in_app
from tests.html_support import html_table
from tests.integration.test_virtual_ward import CALM, UNWELL, Ward, vw  # noqa: F401

TODAY = dt.datetime.now(dt.UTC).date()


def _population(home: Path) -> PopulationStore:
    store = PopulationStore(home / "population")
    store.root.mkdir(parents=True)
    store.write_metadata({"extract_date": TODAY.isoformat()})
    pq.write_table(
        pa.table(
            {
                "person_id": [11, 12],
                "date_of_birth": [dt.date(1938, 2, 1), dt.date(1950, 6, 1)],
                "sex": ["F", "M"],
                "imd_decile": [3, None],
                "ethnicity": ["White", "Black"],
                "date_of_death": pa.array([None, None], pa.date32()),
            }
        ),
        store.path("patients"),
    )
    pq.write_table(
        pa.table(
            {
                "person_id": [11, 12],
                "admission_date": [TODAY, TODAY - dt.timedelta(days=20)],
                "admission_method": ["emergency", "emergency"],
            }
        ),
        store.path("hospital_spells"),
    )
    pq.write_table(
        pa.table({"person_id": [12], "arrival_date": [TODAY]}), store.path("ae_attendances")
    )
    return store


def _alert_closed_then_admitted(vw: Ward) -> int:  # noqa: F811
    admission = vw.admit(11)
    with vw.sessions() as session, session.begin():  # admitted an hour ago: readings in the past
        row = session.get(WardAdmission, admission)
        assert row is not None
        row.admitted_at -= dt.timedelta(hours=1)
    vw.read(admission, CALM, 1)
    vw.read(admission, UNWELL, 60)  # NEWS2 8: the high rule fires
    with vw.sessions() as session:
        alert = session.query(WardAlert).filter_by(admission_id=admission).one()
    alert_queue.acknowledge(vw.sessions, vw.nurse, alert.id, expected_version=1)
    alert_queue.close(
        vw.sessions,
        vw.nurse,
        alert.id,
        outcome="Sent to hospital",
        changed_management=True,
        expected_version=2,
    )
    ward.discharge(vw.sessions, vw.nurse, admission, outcome="hospital")
    return admission


def test_ledger_reads_both_stores(vw: Ward, tmp_path: Path) -> None:  # noqa: F811
    store = _population(tmp_path)
    _alert_closed_then_admitted(vw)
    end = dt.datetime.now(dt.UTC)
    report = ledger_service.alert_ledger(
        vw.sessions,
        store,
        ward_id=vw.ward_id,
        start=end - dt.timedelta(days=7),
        end=end,
        published=False,
    )
    rows = {r.rule_id: r for r in report.ledger.rules}
    high = rows["news2-high"]
    assert (high.fired, high.closed, high.acknowledged) == (1, 1, 1)
    assert high.changed_management == ledger.Proportion(1, 1)
    assert high.followed_by == {"admission": 1, "ae": 0, "death": 0}
    assert high.ppv_admission == ledger.Proportion(1, 1)
    assert rows[ledger.ALL_RULES].by_group["deprivation"] == {"2": ledger.Proportion(1, 1)}
    assert rows[ledger.ALL_RULES].by_group["age_band"] == {"85 and over": ledger.Proportion(1, 1)}
    fixed = report.comparison[0]
    # the ward's discharge to hospital and the spell the same day are one admission, warned of
    assert (fixed.alarms, fixed.admissions_warned) == (1, ledger.Proportion(1, 1))
    assert report.stays == 1 and 0 < report.patient_days < 1


def test_ledger_page_withholds_small_numbers(
    vw: Ward,  # noqa: F811
    sessions: sessionmaker[Session],
    care_store: str,
    tmp_path: Path,
) -> None:
    _population(tmp_path)
    _alert_closed_then_admitted(vw)
    settings = Settings(home=tmp_path, database_url=care_store)
    app = signed_in_app(
        settings, "nurse", user_id=vw.nurse.user_id, organisations=vw.nurse.organisations
    )
    with TestClient(app) as client:
        page = client.get(f"/neighbourhood/wards/{vw.ward_id}/ledger?days=30")
        assert page.status_code == 200, page.text
        figures = html_table(page.text, "ledger-rules").keyed(("key",), ("figure",))
        # one alert: a count of 1 to 7 is not shown, nor anything worked out from it
        assert figures["news2-high"]["fired"] == "withheld"
        assert figures["news2-high"]["ppv"] == "withheld"
        assert figures["news2-medium"]["fired"].startswith("0")
        assert "30 days" in page.text
        assert client.get("/neighbourhood/wards/999/ledger").status_code == 404
