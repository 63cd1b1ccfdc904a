"""The causal structure analytics should find in a generated area (40,000 people, one seed).

Each test states a relationship from the clinical literature and checks it in the stored
tables with SQL — the direction and rough size, not the generator's exact parameters.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from joinedup.population.contracts import CONTRACTS
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.terminology.codelists import codelist_table, list_codelists

pytestmark = pytest.mark.slow

CONDITION_LISTS = (
    "hypertension",
    "diabetes",
    "copd",
    "coronary-heart-disease",
    "atrial-fibrillation",
    "heart-failure",
    "dementia",
    "ckd",
    "stroke-tia",
)


@pytest.fixture(scope="module")
def sql(area_40k: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    store = PopulationStore(area_40k.population_dir)
    con = duckdb.connect()
    for name in CONTRACTS:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{store.path(name)}')")
    efi = [i.id for i in list_codelists() if i.id.startswith("efi-")]
    lists = codelist_table([*CONDITION_LISTS, *efi], ["snomed"])
    con.register("lists", lists)
    con.execute("""
        CREATE TABLE diagnosed AS
        SELECT e.person_id, l.codelist_id AS condition, min(e.event_date) AS since
        FROM clinical_events e JOIN lists l ON l.code = e.code GROUP BY ALL;
        CREATE TABLE people AS
        SELECT p.person_id, date_diff('year', p.date_of_birth, DATE '2026-03-31') AS age,
               p.imd_decile, p.date_of_death,
               p.date_of_death IS NULL AND p.person_id IN
                   (SELECT person_id FROM registrations WHERE end_date IS NULL) AS registered
        FROM patients p;
    """)
    yield con
    con.close()


def share(con: duckdb.DuckDBPyConnection, condition: str, where: str) -> float:
    return con.execute(f"""
        SELECT avg(CASE WHEN person_id IN (SELECT person_id FROM diagnosed
                                           WHERE condition = '{condition}') THEN 1 ELSE 0 END)
        FROM people WHERE registered AND ({where})""").fetchone()[0]


def has(condition: str) -> str:
    return f"person_id IN (SELECT person_id FROM diagnosed WHERE condition = '{condition}')"


def test_conditions_rise_with_age(sql):
    assert share(sql, "hypertension", "age >= 65") > 4 * share(sql, "hypertension", "age < 45")
    assert share(sql, "dementia", "age >= 80") > 10 * share(
        sql, "dementia", "age BETWEEN 55 AND 70"
    )


def test_copd_and_diabetes_follow_deprivation(sql):
    for condition in ("copd", "diabetes"):
        deprived = share(sql, condition, "imd_decile <= 2 AND age >= 40")
        affluent = share(sql, condition, "imd_decile >= 8 AND age >= 40")
        assert deprived > 1.3 * affluent, condition


def test_diabetes_and_hypertension_lead_to_kidney_and_heart_disease(sql):
    older = "age >= 50"
    assert share(sql, "ckd", f"{older} AND {has('diabetes')}") > 2 * share(
        sql, "ckd", f"{older} AND NOT {has('diabetes')} AND NOT {has('hypertension')}"
    )
    assert share(sql, "coronary-heart-disease", f"{older} AND {has('hypertension')}") > 1.5 * share(
        sql, "coronary-heart-disease", f"{older} AND NOT {has('hypertension')}"
    )
    assert share(sql, "stroke-tia", f"age >= 65 AND {has('atrial-fibrillation')}") > 1.5 * share(
        sql, "stroke-tia", f"age >= 65 AND NOT {has('atrial-fibrillation')}"
    )
    assert share(
        sql, "heart-failure", f"age >= 65 AND {has('coronary-heart-disease')}"
    ) > 2 * share(sql, "heart-failure", f"age >= 65 AND NOT {has('coronary-heart-disease')}")


def test_a_caused_condition_is_diagnosed_after_its_cause(sql):
    after = sql.execute("""
        SELECT avg(CASE WHEN k.since >= d.since THEN 1 ELSE 0 END)
        FROM diagnosed d JOIN diagnosed k USING (person_id)
        WHERE d.condition = 'diabetes' AND k.condition = 'ckd'""").fetchone()[0]
    assert after > 0.95


def test_frailty_predicts_admission_and_death(sql):
    # People aged 75+ registered on 1 April 2024, by deficits recorded before that day.
    rates = {
        row[0]: row[1:]
        for row in sql.execute("""
        WITH deficits AS (
            SELECT person_id, count(DISTINCT condition) AS n FROM diagnosed
            WHERE condition LIKE 'efi-%' AND since < DATE '2024-04-01' GROUP BY 1),
        older AS (
            SELECT p.person_id, coalesce(d.n, 0) AS n, p.date_of_death FROM patients p
            LEFT JOIN deficits d USING (person_id)
            WHERE date_diff('year', p.date_of_birth, DATE '2024-04-01') >= 75
              AND (p.date_of_death IS NULL OR p.date_of_death >= DATE '2024-04-01')
              AND p.person_id IN (SELECT person_id FROM registrations
                                  WHERE start_date < DATE '2024-04-01')),
        admissions AS (
            SELECT person_id, count(*) AS k FROM hospital_spells
            WHERE admission_method = 'emergency'
              AND admission_date BETWEEN DATE '2024-04-01' AND DATE '2025-03-31' GROUP BY 1)
        SELECT n >= 9 AS frail,
               avg(CASE WHEN date_of_death < DATE '2025-04-01' THEN 1 ELSE 0 END),
               avg(coalesce(k, 0))
        FROM older LEFT JOIN admissions USING (person_id) WHERE n >= 9 OR n <= 4 GROUP BY 1
    """).fetchall()
    }
    died_frail, admitted_frail = rates[True]
    died_fit, admitted_fit = rates[False]
    assert died_frail > 1.5 * died_fit
    assert admitted_frail > 1.5 * admitted_fit


def test_past_use_predicts_future_use(sql):
    previous, rest = sql.execute("""
        WITH years AS (
            SELECT person_id, year(admission_date - INTERVAL 3 MONTH) AS fy, count(*) AS k
            FROM hospital_spells WHERE admission_method = 'emergency' GROUP BY ALL),
        pairs AS (
            SELECT p.person_id, coalesce(a.k, 0) AS before, coalesce(b.k, 0) AS after
            FROM people p LEFT JOIN years a ON a.person_id = p.person_id AND a.fy = 2023
                          LEFT JOIN years b ON b.person_id = p.person_id AND b.fy = 2024
            WHERE p.registered AND p.age >= 65)
        SELECT avg(after) FILTER (WHERE before >= 1), avg(after) FILTER (WHERE before = 0)
        FROM pairs""").fetchone()
    assert previous > 2 * rest


def test_yearly_activity_is_roughly_stable(sql):
    for table, column in (
        ("gp_appointments", "appointment_date"),
        ("ae_attendances", "arrival_date"),
        ("hospital_spells", "admission_date"),
    ):
        counts = [
            r[1]
            for r in sql.execute(f"""
            SELECT year({column} - INTERVAL 3 MONTH), count(*) FROM {table} GROUP BY 1 ORDER BY 1
        """).fetchall()
        ]
        assert len(counts) == 5 and max(counts) < 1.2 * min(counts), table


def test_top_five_percent_use_are_older_frailer_and_multimorbid(sql):
    top_age, rest_age = sql.execute("""
        WITH spend AS (SELECT person_id, sum(cost) AS cost FROM costs
                       WHERE financial_year = 2025 GROUP BY 1),
             ranked AS (SELECT person_id, ntile(20) OVER (ORDER BY cost DESC) AS tile FROM spend)
        SELECT avg(age) FILTER (WHERE tile = 1), avg(age) FILTER (WHERE tile > 1)
        FROM ranked JOIN people USING (person_id)""").fetchone()
    assert top_age > rest_age + 15
