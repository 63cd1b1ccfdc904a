"""The ward's clock and device readings on both backends: a tick raises each missed reading
once however often (and however many at once) it runs; FHIR Observations by NHS number land in
the person's admission and raise alerts; any bad record stores nothing and says why."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from joinedup.interop.fhir_readings import reading_observation
from joinedup.neighbourhood import readings, ward, ward_ingest, ward_tick
from joinedup.neighbourhood.models import ReadingSet, WardAdmission, WardAlert
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.integration.test_virtual_ward import Ward, vw  # noqa: F401

NHS = "9434765919"
UNWELL = {  # NEWS2 8: resp 25 (3), SpO2 93 (2), pulse 115 (2), temperature 38.5 (1)
    "resp_rate": 25.0,
    "spo2": 93.0,
    "on_oxygen": False,
    "systolic_bp": 125.0,
    "pulse": 115.0,
    "consciousness": "A",
    "temperature": 38.5,
}


def _backdate(vw: Ward, admission: int, hours: float) -> dt.datetime:  # noqa: F811
    with vw.sessions() as session, session.begin():
        row = session.get(WardAdmission, admission)
        assert row is not None
        row.admitted_at -= dt.timedelta(hours=hours)
        return row.admitted_at


def _alerts(vw: Ward, rule_id: str) -> int:  # noqa: F811
    with vw.sessions() as session:
        return int(
            session.scalar(select(func.count(WardAlert.id)).where(WardAlert.rule_id == rule_id))
            or 0
        )


def test_tick_raises_each_miss_once_even_when_run_at_once(vw: Ward) -> None:  # noqa: F811
    admission = vw.admit(11, schedule=ward.ScheduleRequest(frozenset({"pulse"}), 60, 0))
    _backdate(vw, admission, 4.5)  # 4.5 hours with no reading: misses due at 1, 2, 3 and 4 h
    with vw.sessions() as session, session.begin():
        session.execute(
            ward.ObservationSchedule.__table__.update().values(
                starts_at=select(WardAdmission.admitted_at)
                .where(WardAdmission.id == admission)
                .scalar_subquery()
            )
        )
    now = dt.datetime.now(dt.UTC)
    results: list[ward_tick.TickResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(ward_tick.tick(vw.sessions, now)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.missed_raised for r in results) == 4
    assert _alerts(vw, "missed-reading") == 4
    # the misses of 1 and 2 hours are past their 2-hour response: each moved up the rota once
    assert sum(r.escalated for r in results) == 2
    assert ward_tick.tick(vw.sessions, now) == ward_tick.TickResult(0, 0)
    # two hours on, the other two are overdue too; the first two are already with the last role
    later = now + dt.timedelta(hours=2, minutes=1)
    assert ward_tick.tick(vw.sessions, later).escalated == 2
    assert ward_tick.tick(vw.sessions, later).escalated == 0


def test_tick_interval_setting(tmp_path: Path) -> None:
    assert ward_tick.interval_seconds(Settings(tmp_path, "sqlite://")) == 60
    assert ward_tick.interval_seconds(Settings(tmp_path, "sqlite://", ward_tick_seconds="0")) == 0
    with pytest.raises(ward_tick.TickSettingError, match="not 'soon'"):
        ward_tick.interval_seconds(Settings(tmp_path, "sqlite://", ward_tick_seconds="soon"))


def _population(home: Path) -> PopulationStore:
    store = PopulationStore(home / "population")
    store.root.mkdir(parents=True)
    store.write_metadata({"extract_date": dt.date.today().isoformat()})
    pq.write_table(
        pa.table(
            {
                "person_id": [11],
                "nhs_number": [NHS],
                "date_of_birth": [dt.date(1938, 2, 1)],
                "sex": ["F"],
                "imd_decile": pa.array([None], pa.int64()),
                "date_of_death": pa.array([None], pa.date32()),
            }
        ),
        store.path("patients"),
    )
    pq.write_table(
        pa.table(
            {
                "person_id": [11],
                "practice_code": ["P81001"],
                "start_date": [dt.date(2000, 1, 1)],
                "end_date": pa.array([None], pa.date32()),
            }
        ),
        store.path("registrations"),
    )
    return store


def _ndjson(path: Path, subject: str, when: dt.datetime, values: dict[str, object]) -> Path:
    lines = [
        reading_observation(
            readings.Reading(subject, when, parameter, value, _unit(parameter)), f"obs-{index}"
        ).model_dump_json(exclude_none=True)
        for index, (parameter, value) in enumerate(values.items())
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _unit(parameter: str) -> str | None:
    return {"resp_rate": "/min", "spo2": "%", "systolic_bp": "mm[Hg]", "pulse": "/min"}.get(
        parameter, "Cel" if parameter == "temperature" else None
    )


def test_device_readings_land_in_the_ward_and_raise_alerts(
    vw: Ward,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = _population(tmp_path)
    admission = vw.admit(11)
    taken = _backdate(vw, admission, 2) + dt.timedelta(hours=1)
    batch = readings.read_paths([_ndjson(tmp_path / "set.ndjson", f"Patient/{NHS}", taken, UNWELL)])
    assert not batch.rejects, batch.rejects
    result = ward_ingest.ingest(vw.sessions, store, vw.nurse, batch)
    assert (result.committed, result.sets, result.alerts_raised) == (True, 1, 1)
    with vw.sessions() as session:
        stored = session.scalars(select(ReadingSet)).one()
        assert (stored.admission_id, stored.news2_total, stored.taken_by) == (
            admission,
            8,
            "device",
        )
    assert _alerts(vw, "news2-high") == 1
    again = ward_ingest.ingest(vw.sessions, store, vw.nurse, batch)  # the same file twice
    assert not again.committed
    assert [r.reason.split(" (")[0] for r in again.rejects] == [
        "a set taken at that time is already recorded"
    ]


def test_any_bad_record_stores_nothing_and_says_why(vw: Ward, tmp_path: Path) -> None:  # noqa: F811
    store = _population(tmp_path)
    admission = vw.admit(11)
    taken = _backdate(vw, admission, 2) + dt.timedelta(hours=1)
    good = _ndjson(tmp_path / "good.ndjson", f"Patient/{NHS}", taken, UNWELL)
    stranger = _ndjson(tmp_path / "other.ndjson", "Patient/9000000009", taken, {"pulse": 80.0})
    bad = json.loads(good.read_text().splitlines()[0])
    bad["valueQuantity"]["code"] = "kg"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    batch = readings.read_paths([good, stranger, tmp_path / "bad.json"])
    result = ward_ingest.ingest(vw.sessions, store, vw.nurse, batch)
    reasons = " | ".join(r.reason for r in result.rejects)
    assert not result.committed
    assert "no one in the population has this NHS number" in reasons
    assert "is not a unit of" in reasons
    with vw.sessions() as session:
        assert session.scalar(select(func.count(ReadingSet.id))) == 0


def test_a_later_file_is_judged_on_the_stored_history(vw: Ward, tmp_path: Path) -> None:  # noqa: F811
    """A rise of 2 within 24 hours across two files: the second file's set (NEWS2 3) rises from
    the first file's (NEWS2 1), stored earlier."""
    store = _population(tmp_path)
    admission = vw.admit(11)
    first = _backdate(vw, admission, 10) + dt.timedelta(hours=1)
    one = {**UNWELL, "resp_rate": 16.0, "spo2": 97.0, "pulse": 80.0}  # temperature 38.5 → 1
    three = {**one, "spo2": 95.0, "pulse": 95.0}  # + SpO2 95 (1) + pulse 95 (1) → 3
    for name, when, values in (("a", first, one), ("b", first + dt.timedelta(hours=8), three)):
        batch = readings.read_paths(
            [_ndjson(tmp_path / f"{name}.ndjson", f"Patient/{NHS}", when, values)]
        )
        assert ward_ingest.ingest(vw.sessions, store, vw.nurse, batch).committed
    with vw.sessions() as session:
        totals = sorted(session.scalars(select(ReadingSet.news2_total)))
    assert totals == [1, 3]
    assert _alerts(vw, "news2-rise") == 1
