"""Practice variation on every engine: a small readable area → its indirectly standardised ratios.

Index date 2026-03-31; "the last 12 months" is the 365 days ending on it
(2025-03-31 < date ≤ 2026-03-31). Two practices, P1 and P2, and people in two strata:

* stratum A: aged 72 (band 70), female, IMD decile 5 (quintile 3);
* stratum B: aged 34 (band 30), male, IMD decile 2 (quintile 1).

Each person's counts are written out by hand (`PEOPLE`); the events made for them include
ones the indicators must not count (outside the window, elective, follow-up, not attended,
after the index date). The expected ratios are worked out here in plain Python by the method
of `joinedup.analytics.variation.standardisation` (Breslow & Day 1987, ch. 2): the area rate of
each stratum, a practice's expected count as Σ its people × those rates, ratio = observed ÷
expected. The pipeline's `indicator_people` runs on the engine; the standardisation after it
is pandas, the same on both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import count

import pyarrow as pa
import pytest

from joinedup.analytics.engine import put_table
from joinedup.analytics.variation.people import indicator_cells, indicator_people, with_strata
from joinedup.analytics.variation.standardisation import expected_from_cells
from joinedup.population.contracts import contract
from joinedup.terminology.codelists import load_codelist
from tests.spec.conftest import run

INDEX = dt.date(2026, 3, 31)
D = dt.date.fromisoformat
IN_WINDOW = D("2025-09-01")
OUTSIDE = D("2025-03-31")  # exactly 365 days before: outside the window
AFTER = D("2026-04-01")  # after the index date: ignored
STRATA = {"A": (72, "F", 5), "B": (34, "M", 2)}
MEASURES = ("emergency_admissions", "ae_attendances", "outpatient_first", "hypertension")


@dataclass(frozen=True)
class Person:
    person_id: int
    practice: str
    stratum: str
    emergency_admissions: int
    ae_attendances: int
    outpatient_first: int
    hypertension: bool


PEOPLE = (
    Person(1, "P1", "A", 2, 1, 1, True),
    Person(2, "P1", "A", 0, 0, 0, False),
    Person(3, "P1", "B", 1, 2, 0, False),
    Person(4, "P2", "A", 1, 0, 2, True),
    Person(5, "P2", "B", 0, 1, 0, False),
    Person(6, "P2", "B", 0, 0, 0, False),
    Person(7, "P2", "B", 1, 0, 0, True),
)
DIED = 8  # registered at P2 (stratum B) but died before the index date: counted nowhere


class Area:
    def __init__(self) -> None:
        self.ids = count(1)
        self.rows: dict[str, list[dict]] = {
            "patients": [],
            "registrations": [],
            "clinical_events": [],
            "medications": [],
            "hospital_spells": [],
            "ae_attendances": [],
            "outpatient_appointments": [],
        }

    def person(self, p: Person, died: dt.date | None = None) -> None:
        age, sex, decile = STRATA[p.stratum]
        self.rows["patients"].append(
            {
                "person_id": p.person_id,
                "nhs_number": "9000000009",
                "date_of_birth": dt.date(INDEX.year - age, 1, 1),
                "sex": sex,
                "lsoa_code": "E01000001",
                "imd_decile": decile,
                "care_home": False,
                "housebound": False,
                "carer": False,
                "date_of_death": died,
            }
        )
        self.rows["registrations"].append(
            {
                "person_id": p.person_id,
                "practice_code": p.practice,
                "start_date": D("2000-01-01"),
                "end_date": None,
            }
        )

    def spell(self, person_id: int, day: dt.date, method: str = "emergency") -> None:
        self.rows["hospital_spells"].append(
            {
                "spell_id": next(self.ids),
                "person_id": person_id,
                "provider_code": "RXX",
                "admission_date": day,
                "discharge_date": day,
                "admission_method": method,
                "length_of_stay": 0,
                "cost": 1000.0,
            }
        )

    def ae(self, person_id: int, day: dt.date) -> None:
        self.rows["ae_attendances"].append(
            {
                "attendance_id": next(self.ids),
                "person_id": person_id,
                "provider_code": "RXX",
                "arrival_date": day,
                "disposal": "discharged",
                "cost": 200.0,
            }
        )

    def outpatient(self, person_id: int, day: dt.date, *, first: bool, attended: bool) -> None:
        self.rows["outpatient_appointments"].append(
            {
                "appointment_id": next(self.ids),
                "person_id": person_id,
                "provider_code": "RXX",
                "appointment_date": day,
                "specialty_code": "300",
                "first_attendance": first,
                "attended": attended,
                "cost": 150.0,
            }
        )

    def hypertension(self, person_id: int, day: dt.date) -> None:
        code = min(load_codelist("hypertension").codes["snomed"], key=lambda c: (len(c), c))
        self.rows["clinical_events"].append(
            {
                "event_id": next(self.ids),
                "person_id": person_id,
                "event_date": day,
                "code_system": "snomed",
                "code": code,
            }
        )

    def tables(self, con) -> dict:
        tables = {}
        for name, rows in self.rows.items():
            # Nullable throughout: rows leave out what the test does not need, and Spark's Arrow
            # path refuses a null in a column marked not-null (then converts row by row, slowly).
            contracted = contract(name).arrow_schema().remove_metadata()
            schema = pa.schema([field.with_nullable(True) for field in contracted])
            filled = [{c: row.get(c) for c in schema.names} for row in rows]
            tables[name] = put_table(con, f"pv_{name}", pa.Table.from_pylist(filled, schema=schema))
        return tables


def _area() -> Area:
    """`PEOPLE` as records, with the events no indicator may count beside those they count."""
    a = Area()
    for p in PEOPLE:
        a.person(p)
        for i in range(p.emergency_admissions):
            a.spell(p.person_id, INDEX if i == 0 else IN_WINDOW)  # the index date counts
        for _ in range(p.ae_attendances):
            a.ae(p.person_id, IN_WINDOW)
        for _ in range(p.outpatient_first):
            a.outpatient(p.person_id, IN_WINDOW, first=True, attended=True)
        if p.hypertension:
            a.hypertension(p.person_id, D("2010-05-01"))
    # Not counted: outside the window, after the index date, elective, follow-up, not attended.
    a.spell(1, OUTSIDE)
    a.spell(1, IN_WINDOW, method="elective")
    a.spell(2, AFTER)
    a.ae(2, OUTSIDE)
    a.outpatient(1, IN_WINDOW, first=True, attended=False)
    a.outpatient(1, IN_WINDOW, first=False, attended=True)
    a.hypertension(2, AFTER)  # recorded after the index date: not yet known
    # Died before the index date: not registered then, so in no count.
    a.person(Person(DIED, "P2", "B", 0, 0, 0, False), died=D("2025-12-01"))
    a.spell(DIED, IN_WINDOW)
    a.hypertension(DIED, D("2010-05-01"))
    return a


def _standardised_ratios(measure: str) -> dict[str, float]:
    """observed ÷ expected per practice, at the area's own rates per stratum (plain Python)."""
    events: dict[str, int] = {}
    people: dict[str, int] = {}
    for p in PEOPLE:
        events[p.stratum] = events.get(p.stratum, 0) + int(getattr(p, measure))
        people[p.stratum] = people.get(p.stratum, 0) + 1
    observed: dict[str, float] = {}
    expected: dict[str, float] = {}
    for p in PEOPLE:
        observed[p.practice] = observed.get(p.practice, 0) + int(getattr(p, measure))
        rate = events[p.stratum] / people[p.stratum]
        expected[p.practice] = expected.get(p.practice, 0.0) + rate
    return {code: observed[code] / expected[code] for code in sorted(expected)}


@pytest.fixture(scope="module")
def figures(con) -> dict:
    """Per measure: practice_code, people, observed, expected, from the pipeline on `con`."""
    people = run(con, indicator_people(_area().tables(con), INDEX)).to_pandas()
    return expected_from_cells(indicator_cells(with_strata(people)), MEASURES)


@pytest.fixture(scope="module")
def results(figures: dict) -> dict[str, dict[str, float]]:
    return {
        m: {r["practice_code"]: r["observed"] / r["expected"] for r in f.to_dict("records")}
        for m, f in figures.items()
    }


def test_each_person_is_counted_as_written(con) -> None:
    rows = run(con, indicator_people(_area().tables(con), INDEX)).to_pylist()
    got = {r["person_id"]: r for r in rows}
    assert sorted(got) == [p.person_id for p in PEOPLE]  # the person who died is not there
    for p in PEOPLE:
        row = got[p.person_id]
        assert row["practice_code"] == p.practice
        for measure in MEASURES:
            assert row[measure] == getattr(p, measure), (p.person_id, measure)


def test_emergency_admissions_worked_by_hand(results) -> None:
    # Area rates: A (persons 1, 2, 4) 3 admissions / 3 people = 1.0; B (3, 5, 6, 7) 2 / 4 = 0.5.
    # P1: observed 3, expected 2 × 1.0 + 1 × 0.5 = 2.5 → 1.2; P2: observed 2, expected 2.5 → 0.8.
    assert results["emergency_admissions"] == pytest.approx({"P1": 1.2, "P2": 0.8})


@pytest.mark.parametrize("measure", MEASURES)
def test_standardised_ratios_match_the_plain_computation(results, measure: str) -> None:
    assert results[measure] == pytest.approx(_standardised_ratios(measure), rel=1e-12)


@pytest.mark.parametrize("measure", MEASURES)
def test_observed_equals_expected_over_the_area(figures, measure: str) -> None:
    # Indirect standardisation at the area's own rates: summed over every practice, the
    # expected count is the observed one, which is the people's own total.
    frame = figures[measure]
    total = sum(int(getattr(p, measure)) for p in PEOPLE)
    assert int(frame["observed"].sum()) == total
    assert float(frame["expected"].sum()) == pytest.approx(total, rel=1e-12)
    assert int(frame["people"].sum()) == len(PEOPLE)
