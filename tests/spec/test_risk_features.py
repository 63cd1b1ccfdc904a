"""Spec tests: risk-model features and outcome on every engine.

Index date 2025-03-31; the feature window is 2024-03-31 (excluded) to 2025-03-31 (included);
the outcome window is 2025-04-01 to 2026-03-31.

  person 1  80, female, care home: two emergency admissions in the window (3 and 5 nights),
            one elective (2 nights), one emergency 400 days before; one A&E; outpatients one
            attended, one missed; GP one surgery, one home visit, one missed; one community
            contact; admitted again in the outcome window.
  person 2  40, male: his only admission comes the day after the index date (no leakage).
  person 3  left the practice before the index date: not in the population.
  person 4  died in the outcome window without an admission: outcome 0, died.
  person 5  activity exactly 365 days before the index date (excluded) and on it (included).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from joinedup.analytics.engine import put_table
from joinedup.analytics.risk.features import NO_ADMISSION_DAYS, TABLES, features, outcome
from joinedup.population.contracts import CONTRACTS
from tests.spec.conftest import run

D = dt.date.fromisoformat
INDEX = D("2025-03-31")


def _table(name: str, rows: list[dict]) -> pa.Table:
    schema = CONTRACTS[name].arrow_schema()
    return pa.Table.from_pylist(
        [{c: row.get(c) for c in schema.names} for row in rows], schema=schema
    )


def _patient(pid: int, dob: str, sex: str, **extra) -> dict:
    return {
        "person_id": pid,
        "nhs_number": f"999000000{pid}",
        "date_of_birth": D(dob),
        "sex": sex,
        "ethnicity": "Not stated",
        "lsoa_code": "E01000001",
        "imd_decile": pid,
        "care_home": False,
        "housebound": False,
        "carer": False,
        **extra,
    }


def _spell(sid: int, pid: int, day: str, method: str, nights: int) -> dict:
    start = D(day)
    return {
        "spell_id": sid,
        "person_id": pid,
        "provider_code": "RXX",
        "admission_date": start,
        "discharge_date": start + dt.timedelta(days=nights),
        "admission_method": method,
        "length_of_stay": nights,
        "cost": 1000.0,
    }


def _gp(aid: int, pid: int, day: str, mode: str = "face_to_face", attended: bool = True) -> dict:
    return {
        "appointment_id": aid,
        "person_id": pid,
        "practice_code": "P1",
        "appointment_date": D(day),
        "clinician_id": "c1",
        "clinician_role": "gp",
        "mode": mode,
        "attended": attended,
        "cost": 30.0,
    }


def _op(aid: int, pid: int, day: str, attended: bool) -> dict:
    return {
        "appointment_id": aid,
        "person_id": pid,
        "provider_code": "RXX",
        "appointment_date": D(day),
        "specialty_code": "300",
        "first_attendance": True,
        "attended": attended,
        "cost": 100.0,
    }


def _store() -> dict[str, pa.Table]:
    reg = [
        {"person_id": p, "practice_code": "P1", "start_date": D("2010-01-01"), "end_date": None}
        for p in (1, 2, 4, 5)
    ] + [{"person_id": 3, "practice_code": "P1", "start_date": D("2010-01-01"),
          "end_date": D("2025-01-01")}]  # fmt: skip
    return {
        "patients": _table(
            "patients",
            [
                _patient(1, "1944-06-01", "F", care_home=True),
                _patient(2, "1984-06-01", "M"),
                _patient(3, "1950-01-01", "F"),
                _patient(4, "1935-01-01", "M", date_of_death=D("2025-10-01")),
                _patient(5, "1960-01-01", "F"),
            ],
        ),
        "registrations": _table("registrations", reg),
        "hospital_spells": _table(
            "hospital_spells",
            [
                _spell(1, 1, "2024-06-01", "emergency", 3),
                _spell(2, 1, "2025-01-10", "emergency", 5),
                _spell(3, 1, "2024-09-01", "elective", 2),
                _spell(4, 1, "2024-02-25", "emergency", 1),  # 400 days before: not in the year
                _spell(5, 1, "2025-06-01", "emergency", 1),  # outcome
                _spell(6, 2, "2025-04-01", "emergency", 4),  # the day after the index date
                _spell(7, 3, "2024-12-01", "emergency", 1),  # left before the index date
                _spell(8, 5, "2024-03-31", "emergency", 2),  # exactly 365 days before
                _spell(9, 5, "2025-03-31", "elective", 0),  # on the index date
            ],
        ),
        "spell_diagnoses": _table("spell_diagnoses", []),
        "ae_attendances": _table(
            "ae_attendances",
            [
                {
                    "attendance_id": 1,
                    "person_id": 1,
                    "provider_code": "RXX",
                    "arrival_date": D("2025-01-10"),
                    "disposal": "admitted",
                    "cost": 200.0,
                },
                {
                    "attendance_id": 2,
                    "person_id": 2,
                    "provider_code": "RXX",
                    "arrival_date": D("2025-04-01"),
                    "disposal": "admitted",
                    "cost": 200.0,
                },
            ],
        ),
        "outpatient_appointments": _table(
            "outpatient_appointments",
            [_op(1, 1, "2024-11-01", True), _op(2, 1, "2024-12-01", False)],
        ),
        "gp_appointments": _table(
            "gp_appointments",
            [
                _gp(1, 1, "2024-05-01"),
                _gp(2, 1, "2024-07-01", mode="home_visit"),
                _gp(3, 1, "2024-08-01", attended=False),
                _gp(4, 2, "2025-04-02"),
                _gp(5, 5, "2024-03-31"),
                _gp(6, 5, "2025-03-31"),
            ],
        ),
        "community_contacts": _table(
            "community_contacts",
            [
                {
                    "contact_id": 1,
                    "person_id": 1,
                    "contact_date": D("2024-10-01"),
                    "service": "district_nursing",
                    "setting": "care_home",
                    "duration_minutes": 30,
                    "cost": 50.0,
                }
            ],
        ),
        "clinical_events": _table("clinical_events", []),
        "medications": _table("medications", []),
    }


def _tables(con) -> dict:
    return {name: put_table(con, f"risk_spec_{name}", data) for name, data in _store().items()}


ACTIVITY = [
    "person_id",
    "age",
    "male",
    "imd_decile",
    "care_home",
    "emergency_admissions_12m",
    "elective_admissions_12m",
    "bed_days_12m",
    "ae_attendances_12m",
    "outpatient_attendances_12m",
    "gp_appointments_12m",
    "gp_home_visits_12m",
    "community_contacts_12m",
    "days_since_emergency",
    "ltc_count",
    "efi_deficits",
]


def test_features_count_only_the_year_up_to_the_index_date(con) -> None:
    assert set(TABLES) <= set(_store())
    result = run(con, features(_tables(con), INDEX).select(*ACTIVITY)).to_pylist()
    none = NO_ADMISSION_DAYS
    expected = [
        # id age male imd home emerg elect beds A&E OP GP visits community days ltc efi
        (1, 80, 0, 1, 1, 2, 1, 10, 1, 1, 2, 1, 1, (INDEX - D("2025-01-10")).days, 0, 0),
        (2, 40, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, none, 0, 0),
        (4, 90, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, none, 0, 0),
        (5, 65, 0, 5, 0, 0, 1, 0, 0, 0, 1, 0, 0, 365, 0, 0),
    ]
    assert result == [dict(zip(ACTIVITY, row, strict=True)) for row in expected]


def test_outcome_is_an_emergency_admission_in_the_following_year(con) -> None:
    result = run(con, outcome(_tables(con), INDEX)).to_pylist()
    assert result == [
        {"person_id": 1, "admitted": 1, "died": 0, "left": 0},
        {"person_id": 2, "admitted": 1, "died": 0, "left": 0},
        {"person_id": 4, "admitted": 0, "died": 1, "left": 0},
        {"person_id": 5, "admitted": 0, "died": 0, "left": 0},
    ]
