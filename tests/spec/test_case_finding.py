"""Case-finding lists on every engine: readable records → the people each list finds.

Index date 2026-03-31 throughout. "The last 2 years" is the 730 days ending on the index date
(2024-03-31 < date ≤ 2026-03-31); "the last 12 months" the 365 days (2025-03-31 < date).
Each person is one case; one query per list and engine checks them all. The risk list reads
a stratification run's scores (`RUN_SCORES`), written here as a small table beside the store's.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

import pyarrow as pa

from joinedup.analytics.case_finding import RUN_SCORES, case_finding_pipeline
from joinedup.analytics.engine import put_table
from joinedup.analytics.scores import efi
from joinedup.population.contracts import contract
from joinedup.terminology.codelists import load_codelist
from tests.spec.conftest import run

INDEX = dt.date(2026, 3, 31)
D = dt.date.fromisoformat
OUT_OF_WINDOW = D("2024-03-31")  # exactly 730 days before: outside the 2-year window
FIRST_DAY = D("2024-04-01")  # the first day inside it
AFTER = D("2026-04-01")  # after the index date: ignored

SYSTOLIC, DIASTOLIC = "72313002", "271650006"
HBA1C = "999791000000106"
IRREGULAR_PULSE = "361137007"


def snomed(codelist_id: str) -> str:
    """A SNOMED code of the list (the smallest, so cases are stable)."""
    return min(load_codelist(codelist_id).codes["snomed"], key=lambda c: (len(c), c))


class Area:
    """A tiny area: one neighbourhood, practices P1 and P2, people added case by case."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.patients: list[dict] = []
        self.registrations: list[dict] = []
        self.events: list[dict] = []
        self.appointments: list[dict] = []

    def person(self, person_id: int, age: int = 70, practice: str = "P1") -> int:
        dob = dt.date(INDEX.year - age, 1, 1)
        self.patients.append(
            {
                "person_id": person_id,
                "nhs_number": "9000000009",
                "date_of_birth": dob,
                "sex": "F",
                "ethnicity": "White",
                "lsoa_code": "E01000001",
                "imd_decile": 5,
                "care_home": False,
                "housebound": False,
                "carer": False,
                "date_of_death": None,
            }
        )
        self.registrations.append(
            {
                "person_id": person_id,
                "practice_code": practice,
                "start_date": D("2000-01-01"),
                "end_date": None,
            }
        )
        return person_id

    def code(
        self, person_id: int, code: str, day: dt.date, value: float | None = None, unit=None
    ) -> None:
        self.events.append(
            {
                "event_id": next(self.ids),
                "person_id": person_id,
                "event_date": day,
                "code_system": "snomed",
                "code": code,
                "value": value,
                "unit": unit,
            }
        )

    def bp(self, person_id: int, day: dt.date, systolic: float, diastolic: float) -> None:
        self.code(person_id, SYSTOLIC, day, systolic, "mm[Hg]")
        self.code(person_id, DIASTOLIC, day, diastolic, "mm[Hg]")

    def gp(self, person_id: int, practice: str, n: int, attended: bool = True) -> None:
        for i in range(n):
            self.appointments.append(
                {
                    "appointment_id": next(self.ids),
                    "person_id": person_id,
                    "practice_code": practice,
                    "appointment_date": INDEX - dt.timedelta(days=1 + i),
                    "clinician_id": "C1",
                    "clinician_role": "gp",
                    "mode": "face_to_face",
                    "attended": attended,
                    "cost": 30.0,
                }
            )

    def tables(self, con) -> dict:
        organisations = [
            {"org_code": "N1", "name": "North", "org_type": "neighbourhood", "parent_code": None},
            {"org_code": "P1", "name": "Practice One", "org_type": "practice", "parent_code": "N1"},
            {"org_code": "P2", "name": "Practice Two", "org_type": "practice", "parent_code": "N1"},
        ]
        data = {
            "organisations": organisations,
            "patients": self.patients,
            "registrations": self.registrations,
            "clinical_events": self.events,
            "medications": [],
            "gp_appointments": self.appointments,
        }
        tables = {}
        for name, rows in data.items():
            schema = contract(name).arrow_schema()
            filled = [{c: row.get(c) for c in schema.names} for row in rows]
            table = pa.Table.from_pylist(filled, schema=schema.remove_metadata())
            tables[name] = put_table(con, f"cf_{name}", table)
        return tables


ROWS: dict[str, list[dict]] = {}  # the last run's full rows, by list id


def found(con, area: Area, list_id: str) -> dict[int, str]:
    """person_id → evidence of the people the list finds."""
    result = run(con, case_finding_pipeline(list_id, area.tables(con), INDEX))
    ROWS[list_id] = result.to_pylist()
    return dict(zip(result["person_id"].to_pylist(), result["evidence"].to_pylist(), strict=True))


def test_raised_blood_pressure_without_hypertension(con) -> None:
    a = Area()
    # 140 systolic or 90 diastolic is raised: two different days → found.
    a.bp(a.person(1), D("2025-11-02"), 140, 80)
    a.bp(1, D("2026-01-15"), 120, 90)
    # 139/89 is not raised.
    a.bp(a.person(2), D("2025-11-02"), 139, 89)
    a.bp(2, D("2026-01-15"), 139, 89)
    # Two raised readings on one day are one raised day.
    a.bp(a.person(3), D("2025-11-02"), 150, 95)
    a.bp(3, D("2025-11-02"), 152, 94)
    # A hypertension diagnosis at any time before the index date excludes.
    a.bp(a.person(4), D("2025-11-02"), 160, 100)
    a.bp(4, D("2026-01-15"), 160, 100)
    a.code(4, snomed("hypertension"), D("2010-05-01"))
    # A reading outside the 2-year window is ignored; the window's first day counts.
    a.bp(a.person(5), OUT_OF_WINDOW, 160, 100)
    a.bp(5, D("2026-01-15"), 160, 100)
    a.bp(a.person(6), FIRST_DAY, 160, 100)
    a.bp(6, D("2026-01-15"), 150, 70)
    a.bp(6, D("2026-02-01"), 120, 70)  # a normal day in between: not shown
    # A diagnosis after the index date does not exclude; a reading after it is ignored.
    a.bp(a.person(7), D("2025-06-01"), 145, 85)
    a.bp(7, D("2025-07-01"), 141, 91)
    a.bp(7, AFTER, 200, 120)
    a.code(7, snomed("hypertension"), AFTER)
    # Children are not listed.
    a.bp(a.person(8, age=17), D("2025-11-02"), 160, 100)
    a.bp(8, D("2026-01-15"), 160, 100)

    assert found(con, a, "raised-bp-no-hypertension") == {
        1: "BP 140/80 on 2025-11-02 and 120/90 on 2026-01-15 (2 raised days in 2 years)",
        6: "BP 160/100 on 2024-04-01 and 150/70 on 2026-01-15 (2 raised days in 2 years)",
        7: "BP 145/85 on 2025-06-01 and 141/91 on 2025-07-01 (2 raised days in 2 years)",
    }
    # Every row carries the person's NHS number, practice, neighbourhood, age and sex.
    first = ROWS["raised-bp-no-hypertension"][0]
    assert first == {
        "person_id": 1,
        "nhs_number": "9000000009",
        "practice_code": "P1",
        "practice_name": "Practice One",
        "neighbourhood_code": "N1",
        "neighbourhood_name": "North",
        "age": 70,
        "sex": "F",
        "evidence": first["evidence"],
        "evidence_date": D("2026-01-15"),
    }


def test_raised_hba1c_without_diabetes(con) -> None:
    a = Area()
    a.code(a.person(1), HBA1C, D("2025-06-01"), 48, "mmol/mol")  # latest 48: found
    a.code(a.person(2), HBA1C, D("2025-06-01"), 47, "mmol/mol")  # 47: not raised
    a.code(a.person(3), HBA1C, D("2024-06-01"), 48, "mmol/mol")  # two raised, latest normal
    a.code(3, HBA1C, D("2024-09-01"), 50, "mmol/mol")
    a.code(3, HBA1C, D("2025-06-01"), 45, "mmol/mol")
    a.code(a.person(4), HBA1C, D("2024-06-01"), 50, "mmol/mol")  # one raised, latest normal
    a.code(4, HBA1C, D("2025-06-01"), 45, "mmol/mol")
    a.code(a.person(5), HBA1C, D("2025-06-01"), 60, "mmol/mol")  # diabetes excludes
    a.code(5, snomed("diabetes"), D("2025-07-01"))
    a.code(a.person(6), HBA1C, D("2025-06-01"), 60, "%")  # DCCT %: not read
    a.code(a.person(7), HBA1C, OUT_OF_WINDOW, 60, "mmol/mol")  # outside the window
    a.code(a.person(8), HBA1C, D("2025-06-01"), 55)  # no unit: read as mmol/mol

    assert found(con, a, "raised-hba1c-no-diabetes") == {
        1: "Latest HbA1c 48 mmol/mol on 2025-06-01 (1 of 48 or more in 2 years)",
        3: "Latest HbA1c 45 mmol/mol on 2025-06-01 (2 of 48 or more in 2 years)",
        8: "Latest HbA1c 55 mmol/mol on 2025-06-01 (1 of 48 or more in 2 years)",
    }


def test_irregular_pulse_without_af(con) -> None:
    a = Area()
    a.code(a.person(1), IRREGULAR_PULSE, D("2025-01-16"))
    a.code(1, IRREGULAR_PULSE, D("2025-09-01"))
    a.code(a.person(2), IRREGULAR_PULSE, D("2025-01-16"))  # AF diagnosed: excluded
    a.code(2, snomed("atrial-fibrillation"), D("2025-02-01"))
    a.code(a.person(3), IRREGULAR_PULSE, OUT_OF_WINDOW)  # outside the window
    a.code(a.person(4), IRREGULAR_PULSE, FIRST_DAY)

    assert found(con, a, "irregular-pulse-no-af") == {
        1: "Irregular pulse on 2025-09-01 (2 recorded in 2 years)",
        4: "Irregular pulse on 2024-04-01 (1 recorded in 2 years)",
    }


def frail(a: Area, person_id: int, deficits: int, age: int = 80) -> None:
    a.person(person_id, age=age)
    for deficit in efi.CODED_DEFICITS[:deficits]:
        assert deficit.codelist_id
        a.code(person_id, snomed(deficit.codelist_id), D("2020-01-01"))


def test_frailty_without_a_review_in_12_months(con) -> None:
    a = Area()
    review = snomed("care-plan-review")
    frail(a, 1, 9)  # moderate, never reviewed: found
    frail(a, 2, 9)  # reviewed 100 days ago: excluded
    a.code(2, review, INDEX - dt.timedelta(days=100))
    frail(a, 3, 13)  # severe, last reviewed 365 days ago (outside 12 months): found
    a.code(3, review, INDEX - dt.timedelta(days=365))
    frail(a, 4, 8)  # mild: not listed
    frail(a, 5, 13, age=64)  # under 65: not listed
    frail(a, 6, 9)  # reviewed on the 12-month window's first day: excluded
    a.code(6, review, INDEX - dt.timedelta(days=364))

    assert found(con, a, "frailty-no-review") == {
        1: "eFI moderate (9 deficits, 25/100); no review recorded",
        3: "eFI severe (13 deficits, 36/100); last review 2025-03-31",
    }


def test_high_gp_users(con) -> None:
    a = Area()
    # P1: 60 people, so the top 2% is anyone with fewer than 1.2 people above them.
    for pid in range(1, 61):
        a.person(pid, practice="P1")
    a.gp(1, "P1", 14)  # the top: found
    a.gp(2, "P1", 13)  # one person above (1 < 1.2): found
    a.gp(3, "P1", 12)  # two above: not in the top 2%
    a.gp(4, "P1", 5)
    a.gp(4, "P1", 20, attended=False)  # did-not-attend is not counted
    # P2: 10 people; the top user has 11 attended, below the floor of 12.
    for pid in range(101, 111):
        a.person(pid, practice="P2")
    a.gp(101, "P2", 11)
    a.gp(102, "P2", 2)

    assert found(con, a, "high-gp-users") == {
        1: "14 GP appointments attended in 12 months (practice top 2% from 13)",
        2: "13 GP appointments attended in 12 months (practice top 2% from 13)",
    }


RISK_LIST = "top-risk-not-on-register"


def run_scores(con, risks: dict[int, float | None], factors: bool = True):
    """A stratification run's scores (the `RUN_SCORES` input) for the people given."""
    people = sorted(risks)
    columns = {
        "person_id": pa.array(people, pa.int64()),
        "risk": pa.array([risks[p] for p in people], pa.float64()),
        "run_id": pa.array(["R1"] * len(people), pa.string()),
        "run_index_date": pa.array([INDEX] * len(people), pa.date32()),
    }
    if factors:
        columns["top_factors"] = pa.array([f"factor of {p}" for p in people], pa.string())
    return put_table(con, "cf_run_scores", pa.table(columns))


def top_risk(con, a: Area, risks: dict[int, float | None], **kwargs) -> dict[int, tuple]:
    """person_id → (tier, rank, rank_percentile, risk_percent) of the people listed."""
    tables = {**a.tables(con), RUN_SCORES: run_scores(con, risks, kwargs.pop("factors", True))}
    result = run(con, case_finding_pipeline(RISK_LIST, tables, INDEX, **kwargs))
    ROWS[RISK_LIST] = result.to_pylist()
    return {
        r["person_id"]: (r["tier"], r["rank"], r["rank_percentile"], r["risk_percent"])
        for r in ROWS[RISK_LIST]
    }


def test_top_risk_tiers_are_ranked_over_the_area_with_ties_sharing_a_rank(con) -> None:
    a = Area()
    risks: dict[int, float | None] = {}
    for pid in range(1, 101):  # 100 people with a risk: 2% is 2 people, 5% is 5
        a.person(pid, practice="P1" if pid % 2 else "P2")
        risks[pid] = 0.10
    risks.update({1: 0.9, 2: 0.8, 3: 0.8, 4: 0.7, 5: 0.6, 6: 0.5, 7: 0.5})
    a.person(101)
    risks[101] = None  # not scored: neither ranked nor counted in the 100

    assert top_risk(con, a, risks) == {
        1: ("Top 2%", 1, 100.0, 90.0),
        # one person higher (1 < 2% of 100): both tied people are in the top 2%, so the tier
        # holds 3 people, a little over 2%
        2: ("Top 2%", 2, 99.0, 80.0),
        3: ("Top 2%", 2, 99.0, 80.0),
        4: ("Top 5%", 4, 97.0, 70.0),
        5: ("Top 5%", 5, 96.0, 60.0),
        # 6 and 7: five people higher, not fewer than 5% of 100: not listed
    }
    first = next(r for r in ROWS[RISK_LIST] if r["person_id"] == 1)
    assert first["evidence"] == "Risk 90.0%, rank 1 of 100 in the area (top 2%)"
    assert first["evidence_date"] == INDEX and first["run_index_date"] == INDEX
    assert first["run_id"] == "R1" and first["top_factors"] == "factor of 1"
    assert first["practice_code"] == "P1"  # ranked over the area, shown with the practice


def test_top_risk_boundaries_at_fractions_of_a_person(con) -> None:
    # 60 people: 2% is 1.2 people, 5% is 3: fewer than 1.2 higher is 0 or 1; fewer than 3
    # higher is 0, 1 or 2.
    a = Area()
    risks: dict[int, float | None] = {}
    for pid in range(1, 61):
        a.person(pid)
        risks[pid] = round(1 - pid / 100, 2)  # 0.99, 0.98, ... all different
    got = top_risk(con, a, risks, factors=False)
    assert {p: t[:2] for p, t in got.items()} == {
        1: ("Top 2%", 1),
        2: ("Top 2%", 2),
        3: ("Top 5%", 3),
    }
    assert got[1][3] == 99.0
    assert "top_factors" not in ROWS[RISK_LIST][0]  # left out when the run has none


def test_top_risk_leaves_out_the_register_after_ranking(con) -> None:
    a = Area()
    risks: dict[int, float | None] = {}
    for pid in range(1, 101):
        a.person(pid)
        risks[pid] = 0.5 - pid / 1000  # person 1 highest, all different
    got = top_risk(con, a, risks, on_register=frozenset({1, 4}))
    # 1 and 4 are on the register: the others keep the ranks the whole area gave them.
    assert {p: t[:2] for p, t in got.items()} == {
        2: ("Top 2%", 2),
        3: ("Top 5%", 3),
        5: ("Top 5%", 5),
    }
    # Registered, alive people only: someone in the run who has since left is not listed.
    a2 = Area()
    for pid in range(1, 101):
        a2.person(pid)
    a2.registrations[0]["end_date"] = D("2026-01-01")
    assert 1 not in top_risk(con, a2, risks)
