"""How closely a stored area matches the published figures the synthetic generator aims at.

Every figure is measured from the stored tables with DuckDB SQL over the Parquet files — never
from generator internals — so the report checks what analytics will actually see:

* prevalence: people registered at the extract date with a diagnosis code of the condition
  recorded on or before it, as a share of everyone registered then (QOF-style, whole list);
* eFI categories among people aged 65+ registered at the extract date: deficits are the eFI
  code sets with any code recorded on or before the extract date, plus polypharmacy (five or
  more distinct medicines issued in the 365 days up to it); fit 0–4, mild 5–8, moderate 9–12,
  severe 13+ (Clegg 2016);
* rates per 1,000 per year in the last full financial year: events in the year over the
  person-years registered in it (days registered and alive, from the registrations);
* the share of the last full year's cost of care spent on the costliest 5% of the people
  registered at some point in that year (people with no cost count, at zero);
* GP appointments (booked, attended or not) per person-year in the last full year, and the
  share of them with a booking date that were booked the same day (GPAD, NHS Digital:
  about 40-45% nationally; `population/synthetic/primary_care.py`).

"Registered at the extract date": the one registration rule of `joinedup.population.reads`
(compiled to the SQL these figures run on), as the glossary states it.
Conditions and eFI deficits are found with the project's codelists (joinedup.terminology), the
same lists the analytics pipelines use, not with the generator's own code table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from joinedup.population.reads import extract_date, registered_sql
from joinedup.population.store import PopulationStore, StoreError
from joinedup.terminology.codelists import codelist_table, list_codelists

TOLERANCE = 0.15
PREVALENCE_TARGETS = (  # (code set, figure, % of the registered list)
    ("hypertension", "Hypertension prevalence", 14.0),
    ("diabetes", "Diabetes prevalence", 7.0),
    ("asthma", "Asthma prevalence", 6.5),
    ("coronary-heart-disease", "Coronary heart disease prevalence", 3.0),
    ("atrial-fibrillation", "Atrial fibrillation prevalence", 2.0),
    ("copd", "COPD prevalence", 2.0),
    ("heart-failure", "Heart failure prevalence", 1.0),
    ("dementia", "Dementia prevalence", 0.8),
)
EFI_TARGETS = (  # (category, figure, % of registered people aged 65+)
    ("fit", "eFI fit (0-4 deficits), aged 65+", 50.0),
    ("mild", "eFI mild frailty (5-8), aged 65+", 35.0),
    ("moderate", "eFI moderate frailty (9-12), aged 65+", 12.0),
    ("severe", "eFI severe frailty (13+), aged 65+", 3.0),
)
AE_TARGET = 400.0  # attendances per 1,000 per year
EMERGENCY_TARGET = 100.0  # emergency admissions per 1,000 per year
TOP_SHARE_TARGET = 45.0  # % of cost on the costliest 5%
GP_TARGET = 5.5  # appointments per person-year
SAME_DAY_TARGET = 43.0  # % of GP appointments booked the day they took place (GPAD)
POLYPHARMACY_MEDICINES = 5
TABLES = (
    "patients",
    "registrations",
    "clinical_events",
    "medications",
    "hospital_spells",
    "ae_attendances",
    "gp_appointments",
    "costs",
)


PREVALENCE_SQL = """
    SELECT s.code_set, count(DISTINCT e.person_id)
    FROM clinical_events e
    JOIN code_sets s ON s.code = e.code
    JOIN registered r ON r.person_id = e.person_id
    WHERE e.code_system = 'snomed' AND e.event_date <= $extract
    GROUP BY s.code_set
"""
EFI_SQL = """
    WITH older AS (
        SELECT person_id FROM registered
        WHERE date_diff('year', date_of_birth, $extract)
              - CASE WHEN strftime(date_of_birth, '%m%d') > strftime($extract, '%m%d')
                     THEN 1 ELSE 0 END >= 65
    ),
    deficits AS (
        SELECT e.person_id, count(DISTINCT s.code_set) AS n
        FROM clinical_events e
        JOIN code_sets s ON s.code = e.code AND s.code_set LIKE 'efi-%'
        JOIN older o ON o.person_id = e.person_id
        WHERE e.code_system = 'snomed' AND e.event_date <= $extract
        GROUP BY e.person_id
    ),
    polypharmacy AS (
        SELECT m.person_id
        FROM medications m JOIN older o ON o.person_id = m.person_id
        WHERE m.issue_date > $extract - INTERVAL 365 DAY AND m.issue_date <= $extract
        GROUP BY m.person_id
        HAVING count(DISTINCT m.code) >= $poly
    ),
    scored AS (
        SELECT coalesce(d.n, 0) + CASE WHEN p.person_id IS NULL THEN 0 ELSE 1 END AS n
        FROM older o
        LEFT JOIN deficits d USING (person_id)
        LEFT JOIN polypharmacy p USING (person_id)
    )
    SELECT CASE WHEN n <= 4 THEN 'fit' WHEN n <= 8 THEN 'mild'
                WHEN n <= 12 THEN 'moderate' ELSE 'severe' END AS category,
           100.0 * count(*) / sum(count(*)) OVER () AS share
    FROM scored GROUP BY category
"""


@dataclass(frozen=True)
class CalibrationFigure:
    name: str
    target: float
    measured: float
    unit: str
    tolerance: float = TOLERANCE  # relative

    @property
    def within(self) -> bool:
        return abs(self.measured - self.target) <= self.tolerance * abs(self.target)


def calibration_figures(store: PopulationStore) -> list[CalibrationFigure]:
    """Measure the stored area against the generator's published targets."""
    extract = extract_date(store)
    con = duckdb.connect()
    try:
        for name in TABLES:
            path = store.path(name)
            if not path.is_file():
                raise StoreError(f"the population store at {store.root} has no {name} table")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_quoted(path)}')")
        con.register("code_sets_arrow", _code_sets())
        con.execute("CREATE TEMP TABLE code_sets AS SELECT * FROM code_sets_arrow")
        con.execute(f"CREATE TEMP TABLE registered AS {registered_sql(extract)}")
        return _prevalence(con, extract) + _efi(con, extract) + _last_year(con, extract)
    finally:
        con.close()


def last_full_financial_year(extract: date) -> tuple[date, date]:
    """First and last day of the last financial year (April–March) ending by the extract."""
    end_year = extract.year if (extract.month, extract.day) >= (3, 31) else extract.year - 1
    return date(end_year - 1, 4, 1), date(end_year, 3, 31)


def _quoted(path: object) -> str:
    return str(path).replace("'", "''")


def _code_sets() -> pa.Table:
    """(code_set, code) for the eight conditions and the 35 eFI deficits, SNOMED CT only."""
    efi = [info.id for info in list_codelists() if info.id.startswith("efi-")]
    table = codelist_table([c for c, _, _ in PREVALENCE_TARGETS] + efi, ["snomed"])
    return pa.table({"code_set": table["codelist_id"], "code": table["code"]})


def _prevalence(con: duckdb.DuckDBPyConnection, extract: date) -> list[CalibrationFigure]:
    counts = dict(con.execute(PREVALENCE_SQL, {"extract": extract}).fetchall())
    registered = _scalar(con, "SELECT count(*) FROM registered", {})
    return [
        CalibrationFigure(
            figure,
            target,
            100.0 * counts.get(code_set, 0) / max(registered, 1),
            "% of registered list",
        )
        for code_set, figure, target in PREVALENCE_TARGETS
    ]


def _efi(con: duckdb.DuckDBPyConnection, extract: date) -> list[CalibrationFigure]:
    params = {"extract": extract, "poly": POLYPHARMACY_MEDICINES}
    shares = dict(con.execute(EFI_SQL, params).fetchall())
    return [
        CalibrationFigure(
            figure, target, float(shares.get(category, 0.0)), "% of registered people aged 65+"
        )
        for category, figure, target in EFI_TARGETS
    ]


PERSON_YEARS_SQL = """
    SELECT sum(date_diff('day', greatest(start_date, $first),
                         least(coalesce(end_date, $last), $last)) + 1) / 365.25
    FROM registrations
    WHERE start_date <= $last AND coalesce(end_date, $last) >= $first
"""
COUNT_IN_YEAR_SQL = {
    "ae": "SELECT count(*) FROM ae_attendances WHERE arrival_date BETWEEN $first AND $last",
    "emergency": """SELECT count(*) FROM hospital_spells WHERE admission_method = 'emergency'
                    AND admission_date BETWEEN $first AND $last""",
    "gp": "SELECT count(*) FROM gp_appointments WHERE appointment_date BETWEEN $first AND $last",
}
SAME_DAY_SQL = """
    SELECT 100.0 * count(*) FILTER (WHERE booked_date = appointment_date) / nullif(count(*), 0)
    FROM gp_appointments
    WHERE appointment_date BETWEEN $first AND $last AND booked_date IS NOT NULL
"""
TOP_SHARE_SQL = """
    WITH people AS (
        SELECT DISTINCT person_id FROM registrations
        WHERE start_date <= $last AND coalesce(end_date, $last) >= $first
    ),
    spend AS (
        SELECT p.person_id, coalesce(sum(c.cost), 0) AS cost
        FROM people p LEFT JOIN costs c
          ON c.person_id = p.person_id AND c.financial_year = year($first)
        GROUP BY p.person_id
    ),
    ranked AS (
        SELECT cost, row_number() OVER (ORDER BY cost DESC, person_id) AS rank,
               count(*) OVER () AS people
        FROM spend
    )
    SELECT 100.0 * sum(cost) FILTER (WHERE rank <= ceil(0.05 * people)) / nullif(sum(cost), 0)
    FROM ranked
"""


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> float:
    row = con.execute(sql, params).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def _last_year(con: duckdb.DuckDBPyConnection, extract: date) -> list[CalibrationFigure]:
    first, last = last_full_financial_year(extract)
    params: dict[str, object] = {"first": first, "last": last}
    person_years = _scalar(con, PERSON_YEARS_SQL, params)
    counts = {name: _scalar(con, sql, params) for name, sql in COUNT_IN_YEAR_SQL.items()}
    per_thousand = 1000.0 / person_years if person_years else 0.0
    return [
        CalibrationFigure(
            "A&E attendances, last full year",
            AE_TARGET,
            counts["ae"] * per_thousand,
            "per 1,000 per year",
        ),
        CalibrationFigure(
            "Emergency admissions, last full year",
            EMERGENCY_TARGET,
            counts["emergency"] * per_thousand,
            "per 1,000 per year",
        ),
        CalibrationFigure(
            "Cost on the costliest 5% of people, last full year",
            TOP_SHARE_TARGET,
            _scalar(con, TOP_SHARE_SQL, params),
            "% of total cost",
        ),
        CalibrationFigure(
            "GP appointments, last full year",
            GP_TARGET,
            counts["gp"] / person_years if person_years else 0.0,
            "per person-year",
        ),
        CalibrationFigure(
            "GP appointments booked the same day, last full year",
            SAME_DAY_TARGET,
            _scalar(con, SAME_DAY_SQL, params),
            "% of appointments with a booking date",
        ),
    ]
