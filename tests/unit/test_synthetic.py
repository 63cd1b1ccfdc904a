"""The synthetic area generator: valid tables, a coherent record, determinism, safe failure.

Most tests read the session's 6,000-person area (`small_store`) with DuckDB and check it
against rules stated independently of the generator's code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import nhs_number
import pytest

from joinedup.population.contracts import CONTRACTS
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import area as area_module
from joinedup.population.synthetic import generate_area
from joinedup.population.synthetic.organisations import build_area
from joinedup.population.synthetic.randomness import Streams
from joinedup.population.synthetic.reference import practice_profiles
from joinedup.population.validation import reference_violations, validate_table

EXTRACT = date(2026, 3, 31)
WINDOW_START = date(2021, 4, 1)
SMALL_AREA_PATIENTS = 6_000  # as tests/conftest.py


@pytest.fixture(scope="module")
def sql(small_store: PopulationStore) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    for name in CONTRACTS:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{small_store.path(name)}')")
    yield con
    con.close()


def one(con: duckdb.DuckDBPyConnection, query: str) -> object:
    return con.execute(query).fetchone()[0]


# Contracts ------------------------------------------------------------------------------------


def test_every_table_is_written_and_validates_with_no_violations(small_store: PopulationStore):
    tables = {name: small_store.read(name) for name in CONTRACTS}
    for name, table in tables.items():
        assert table.num_rows > 0, name
        violations = validate_table(CONTRACTS[name], table)
        assert violations == [], [str(v) for v in violations[:5]]
    assert reference_violations(tables) == []


def test_metadata_describes_the_area(small_store: PopulationStore):
    metadata = small_store.metadata()
    assert metadata["seed"] == 7 and metadata["patients"] == SMALL_AREA_PATIENTS
    assert metadata["extract_date"] == "2026-03-31"
    assert metadata["history_start"] == "2021-04-01"
    assert metadata["generator_version"] and metadata["area_name"]
    assert metadata["synthetic"] is True
    assert sum(p["registered"] for p in metadata["practices"]) == SMALL_AREA_PATIENTS
    assert sum(n["registered"] for n in metadata["neighbourhoods"]) == SMALL_AREA_PATIENTS
    assert metadata["rows"]["patients"] == metadata["people"] > SMALL_AREA_PATIENTS


def test_nhs_numbers_are_valid_distinct_and_never_issued(sql: duckdb.DuckDBPyConnection):
    numbers = [row[0] for row in sql.execute("SELECT nhs_number FROM patients").fetchall()]
    assert len(set(numbers)) == len(numbers)
    assert all(nhs_number.is_valid(n) for n in numbers)
    assert all(9_000_000_000 <= int(n) <= 9_999_999_999 for n in numbers)


# The registered population and its history ------------------------------------------------------


def test_the_requested_number_of_people_are_registered_at_the_extract_date(sql):
    registered = one(
        sql,
        f"""
        SELECT count(DISTINCT person_id) FROM registrations JOIN patients USING (person_id)
        WHERE start_date <= DATE '{EXTRACT}' AND (end_date IS NULL OR end_date >= DATE '{EXTRACT}')
          AND (date_of_death IS NULL OR date_of_death > DATE '{EXTRACT}')""",
    )
    assert registered == SMALL_AREA_PATIENTS


def test_registrations_follow_one_another_and_end_at_death(sql):
    overlapping = one(
        sql,
        """
        SELECT count(*) FROM (SELECT start_date, lag(end_date) OVER w AS previous_end,
                                     lag(start_date) OVER w AS previous_start
                              FROM registrations
                              WINDOW w AS (PARTITION BY person_id ORDER BY start_date))
        WHERE previous_start IS NOT NULL
          AND (previous_end IS NULL OR previous_end >= start_date)""",
    )
    assert overlapping == 0
    open_after_death = one(
        sql,
        """
        SELECT count(*) FROM registrations r JOIN patients p USING (person_id)
        WHERE p.date_of_death IS NOT NULL
          AND (r.end_date IS NULL OR r.end_date > p.date_of_death)""",
    )
    assert open_after_death == 0
    before_birth = one(
        sql,
        "SELECT count(*) FROM registrations JOIN patients USING (person_id) "
        "WHERE start_date < date_of_birth",
    )
    assert before_birth == 0
    moved = one(
        sql,
        "SELECT count(*) FROM (SELECT person_id FROM registrations GROUP BY 1 "
        "HAVING count(DISTINCT practice_code) > 1)",
    )
    assert moved > 0  # some people changed practice within the area


def test_deaths_rise_with_age_and_happen_in_the_window(sql):
    dates = sql.execute("SELECT min(date_of_death), max(date_of_death) FROM patients").fetchone()
    assert dates[0] >= WINDOW_START and dates[1] <= EXTRACT
    by_age = dict(
        sql.execute("""
        SELECT date_diff('year', date_of_birth, DATE '2021-04-01') >= 75 AS old,
               avg(CASE WHEN date_of_death IS NULL THEN 0 ELSE 1 END) FROM patients GROUP BY 1
    """).fetchall()
    )
    assert by_age[True] > 5 * by_age[False]


def test_statuses_have_realistic_shares(sql):
    care_home, housebound_65, carer_adults = sql.execute(f"""
        WITH now AS (SELECT p.*, date_diff('year', date_of_birth, DATE '{EXTRACT}') AS age
                     FROM patients p WHERE date_of_death IS NULL
                       AND person_id IN (SELECT person_id FROM registrations
                                         WHERE end_date IS NULL))
        SELECT avg(care_home::INT), avg(housebound::INT) FILTER (WHERE age >= 65),
               avg(carer::INT) FILTER (WHERE age >= 18) FROM now""").fetchone()
    assert 0.004 < care_home < 0.01
    assert 0.015 < housebound_65 < 0.04
    assert 0.07 < carer_adults < 0.13


# The coded record ---------------------------------------------------------------------------


def test_nothing_is_recorded_before_birth_after_death_or_after_the_extract(sql):
    for table, column in (
        ("clinical_events", "event_date"),
        ("medications", "issue_date"),
        ("gp_appointments", "appointment_date"),
        ("ae_attendances", "arrival_date"),
        ("hospital_spells", "discharge_date"),
        ("outpatient_appointments", "appointment_date"),
        ("community_contacts", "contact_date"),
    ):
        wrong = one(
            sql,
            f"""
            SELECT count(*) FROM {table} t JOIN patients p USING (person_id)
            WHERE t.{column} < p.date_of_birth OR t.{column} > DATE '{EXTRACT}'
               OR (p.date_of_death IS NOT NULL AND t.{column} > p.date_of_death)""",
        )
        assert wrong == 0, table


def test_activity_lies_in_the_five_year_history_window(sql):
    for table, column in (
        ("gp_appointments", "appointment_date"),
        ("ae_attendances", "arrival_date"),
        ("hospital_spells", "admission_date"),
        ("medications", "issue_date"),
    ):
        first, last = sql.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchone()
        assert first >= WINDOW_START and last <= EXTRACT, table
        years = one(sql, f"SELECT count(DISTINCT year({column} - INTERVAL 3 MONTH)) FROM {table}")
        assert years == 5, table


def test_case_finding_signals_are_present_without_the_diagnosis(sql):
    raised_bp = one(
        sql,
        """
        WITH readings AS (
            SELECT person_id, event_date,
                   max(value) FILTER (WHERE code = '72313002') AS systolic,
                   max(value) FILTER (WHERE code = '271650006') AS diastolic
            FROM clinical_events WHERE code IN ('72313002', '271650006')
              AND event_date > DATE '2024-03-31' GROUP BY 1, 2)
        SELECT count(*) FROM (SELECT person_id FROM readings
                              WHERE systolic >= 140 OR diastolic >= 90
                              GROUP BY 1 HAVING count(*) >= 2)
        WHERE person_id NOT IN (SELECT person_id FROM clinical_events
                                WHERE code IN ('59621000', '1201005', '56218007'))""",
    )
    high_hba1c = one(
        sql,
        """
        SELECT count(DISTINCT person_id) FROM clinical_events
        WHERE code = '999791000000106' AND value >= 48
          AND person_id NOT IN (SELECT person_id FROM clinical_events
                                WHERE code IN ('44054006', '313436004', '46635009'))""",
    )
    irregular = one(
        sql,
        """
        SELECT count(DISTINCT person_id) FROM clinical_events WHERE code = '361137007'
          AND person_id NOT IN (SELECT person_id FROM clinical_events WHERE code = '49436004')""",
    )
    assert raised_bp >= 60 and high_hba1c >= 20 and irregular >= 3
    units = dict(
        sql.execute(
            "SELECT code, any_value(unit) FROM clinical_events WHERE value IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert units == {
        "72313002": "mm[Hg]",
        "271650006": "mm[Hg]",
        "999791000000106": "mmol/mol",
        "78564009": "/min",
    }


def test_medicines_are_dmd_coded_and_polypharmacy_is_common_in_older_people(sql):
    assert (
        one(
            sql,
            "SELECT count(*) FROM medications WHERE code_system <> 'dmd' "
            "OR NOT regexp_matches(code, '^[0-9]{6,18}$')",
        )
        == 0
    )
    share = one(
        sql,
        f"""
        WITH older AS (SELECT person_id FROM patients WHERE date_of_death IS NULL
                         AND date_diff('year', date_of_birth, DATE '{EXTRACT}') >= 70),
             counts AS (SELECT person_id, count(DISTINCT code) AS n FROM medications
                        WHERE issue_date > DATE '{EXTRACT}' - INTERVAL 365 DAY GROUP BY 1)
        SELECT avg(CASE WHEN n >= 5 THEN 1 ELSE 0 END)
        FROM older LEFT JOIN counts USING (person_id)""",
    )
    assert 0.15 < share < 0.7


# Hospital and community activity ----------------------------------------------------------------


def test_spells_do_not_overlap_and_length_of_stay_adds_up(sql):
    assert (
        one(
            sql,
            "SELECT count(*) FROM hospital_spells WHERE length_of_stay <> "
            "date_diff('day', admission_date, discharge_date)",
        )
        == 0
    )
    overlapping = one(
        sql,
        """
        SELECT count(*) FROM (SELECT admission_date, lag(discharge_date) OVER
                              (PARTITION BY person_id ORDER BY admission_date) AS previous
                              FROM hospital_spells) WHERE admission_date <= previous""",
    )
    assert overlapping == 0
    assert (
        one(
            sql,
            "SELECT count(*) FROM hospital_spells WHERE admission_method = 'emergency' "
            "AND hrg_code IS NOT NULL",
        )
        > 0
    )


def test_every_spell_has_one_primary_diagnosis_and_consecutive_positions(sql):
    bad = one(
        sql,
        """
        SELECT count(*) FROM (SELECT spell_id, count(*) AS n, min(position) AS lo,
                                     max(position) AS hi FROM spell_diagnoses GROUP BY 1)
        WHERE lo <> 1 OR hi <> n""",
    )
    assert bad == 0
    assert (
        one(
            sql,
            "SELECT count(*) FROM hospital_spells WHERE spell_id NOT IN "
            "(SELECT spell_id FROM spell_diagnoses)",
        )
        == 0
    )


def test_frail_people_carry_frailty_and_comorbidity_codes_into_hospital(sql):
    # HFRS codes (falls, dementia, senility, incontinence…) and Charlson codes (heart failure,
    # diabetes, CKD, dementia) appear among secondary diagnoses of people with the matching
    # conditions or findings in their GP record.
    codes = {
        row[0]
        for row in sql.execute(
            "SELECT DISTINCT left(icd10_code, 3) FROM spell_diagnoses WHERE position > 1"
        ).fetchall()
    }
    assert {"R29", "R54", "R41", "R26", "R32"} <= codes  # HFRS
    assert {"I50", "E11", "N18", "I25"} <= codes  # Charlson
    mismatched = one(
        sql,
        """
        SELECT count(*) FROM spell_diagnoses d
        WHERE d.icd10_code = 'I509' AND d.position > 1 AND d.person_id NOT IN
              (SELECT person_id FROM clinical_events WHERE code IN ('84114007', '42343007'))""",
    )
    assert mismatched == 0


def test_most_emergency_admissions_arrive_through_ae(sql):
    share = one(
        sql,
        """
        SELECT avg(CASE WHEN a.person_id IS NULL THEN 0 ELSE 1 END)
        FROM hospital_spells s
        LEFT JOIN (SELECT DISTINCT person_id, arrival_date FROM ae_attendances
                                          WHERE disposal = 'admitted') a
          ON a.person_id = s.person_id AND a.arrival_date = s.admission_date
        WHERE s.admission_method = 'emergency'""",
    )
    assert 0.6 < share < 0.9


def test_gp_appointments_show_continuity_and_home_visits_for_the_housebound(sql):
    continuity = one(
        sql,
        """
        WITH seen AS (SELECT person_id, clinician_id, count(*) AS n FROM gp_appointments
                      WHERE clinician_role = 'gp' GROUP BY 1, 2),
             people AS (SELECT person_id, max(n) / sum(n) AS upc FROM seen
                        GROUP BY 1 HAVING sum(n) >= 4)
        SELECT avg(upc) FROM people""",
    )
    assert continuity > 0.45  # usual provider continuity well above chance
    home = dict(
        sql.execute("""
        SELECT p.housebound, avg(CASE WHEN mode = 'home_visit' THEN 1 ELSE 0 END)
        FROM gp_appointments g JOIN patients p USING (person_id) GROUP BY 1""").fetchall()
    )
    assert home[True] > 10 * home[False]
    wrong_practice = one(
        sql,
        """
        SELECT count(*) FROM gp_appointments g WHERE NOT EXISTS (
            SELECT 1 FROM registrations r WHERE r.person_id = g.person_id
              AND r.practice_code = g.practice_code AND r.start_date <= g.appointment_date
              AND (r.end_date IS NULL OR r.end_date >= g.appointment_date))""",
    )
    assert wrong_practice == 0
    assert (
        one(
            sql,
            "SELECT count(*) FROM gp_appointments WHERE NOT starts_with(clinician_id, "
            "practice_code)",
        )
        == 0
    )


def test_care_packages_follow_care_home_residence(sql):
    residents_with_package = one(
        sql,
        """
        SELECT avg(CASE WHEN person_id IN (SELECT person_id FROM care_packages
                                           WHERE package_type IN ('residential', 'nursing'))
                        THEN 1 ELSE 0 END) FROM patients WHERE care_home""",
    )
    assert 0.3 < residents_with_package < 0.75  # the rest pay for themselves
    not_residents = one(
        sql,
        """
        SELECT count(*) FROM care_packages c JOIN patients p USING (person_id)
        WHERE c.package_type IN ('residential', 'nursing') AND NOT p.care_home""",
    )
    assert not_residents == 0


def test_costs_reconcile_exactly_with_the_activity_rows(sql):
    differences = sql.execute(f"""
        WITH activity AS (
            SELECT person_id, appointment_date AS day, 'gp' AS setting, cost FROM gp_appointments
            UNION ALL SELECT person_id, issue_date, 'prescribing', cost FROM medications
            UNION ALL SELECT person_id, arrival_date, 'ae', cost FROM ae_attendances
            UNION ALL SELECT person_id, admission_date, 'inpatient', cost FROM hospital_spells
            UNION ALL SELECT person_id, appointment_date, 'outpatient', cost
                      FROM outpatient_appointments
            UNION ALL SELECT person_id, contact_date, 'community', cost FROM community_contacts),
        by_year AS (SELECT person_id, year(day - INTERVAL 3 MONTH) AS fy, setting, sum(cost) AS cost
                    FROM activity GROUP BY ALL),
        packages AS (
            SELECT c.person_id, y.fy, 'social_care' AS setting,
                   round(c.weekly_cost * (date_diff('day',
                         greatest(c.start_date, make_date(y.fy, 4, 1)),
                         least(coalesce(c.end_date, DATE '{EXTRACT}'), make_date(y.fy + 1, 3, 31)))
                         + 1)
                         / 7, 2) AS cost
            FROM care_packages c, (SELECT unnest(range(2021, 2026)) AS fy) y
            WHERE c.start_date <= make_date(y.fy + 1, 3, 31)
              AND coalesce(c.end_date, DATE '{EXTRACT}') >= make_date(y.fy, 4, 1)),
        expected AS (SELECT * FROM by_year UNION ALL
                     SELECT person_id, fy, setting, sum(cost) FROM packages GROUP BY ALL)
        SELECT count(*), max(abs(coalesce(e.cost, 0) - coalesce(c.cost, 0)))
        FROM (SELECT * FROM expected WHERE cost > 0) e
        FULL JOIN costs c ON c.person_id = e.person_id AND c.financial_year = e.fy
                         AND c.setting = e.setting""").fetchone()
    assert differences[0] > 0
    assert differences[1] < 0.011  # a penny of rounding per package-year at most


# Organisations ------------------------------------------------------------------------------


def test_organisations_form_one_hierarchy_with_fictional_codes(sql):
    rows = sql.execute("SELECT org_code, name, org_type, parent_code FROM organisations").fetchall()
    types = {code: kind for code, _, kind, _ in rows}
    parents = {code: parent for code, _, _, parent in rows}
    expected_parent = {
        "federation": "commissioning_area",
        "neighbourhood": "federation",
        "practice": "neighbourhood",
        "hub": "federation",
    }
    for code, kind in types.items():
        assert code.startswith("SYN") and not re.fullmatch(r"[A-Z][0-9]{5}", code)
        if kind in expected_parent:
            assert types[parents[code]] == expected_parent[kind], code
    assert list(types.values()).count("commissioning_area") == 1
    names = [name for _, name, kind, _ in rows if kind == "practice"]
    assert len(names) == len(set(names))
    hubs = [c for c, k in types.items() if k == "hub"]
    assert len(hubs) == list(types.values()).count("federation")


def test_a_default_sized_area_has_about_32_practices_in_neighbourhoods_of_30_to_50_thousand():
    area = build_area(practice_profiles(), 300_000, Streams(1)("area"))
    assert 28 <= area.practices <= 36 and area.list_sizes.sum() == 300_000
    totals = [
        area.list_sizes[area.practice_neighbourhood == i].sum()
        for i in range(len(area.neighbourhood_codes))
    ]
    assert all(30_000 <= t <= 50_000 for t in totals), totals
    assert len(area.federation_codes) >= 2


# Determinism, failure and arguments ---------------------------------------------------------


def digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def test_the_same_seed_gives_byte_identical_tables(tmp_path: Path):
    first, second, other = (PopulationStore(tmp_path / name) for name in ("a", "b", "c"))
    generate_area(first, patients=1_000, seed=3)
    generate_area(second, patients=1_000, seed=3)
    generate_area(other, patients=1_000, seed=4)
    assert digest(first.root) == digest(second.root)
    assert len(digest(first.root)) == len(CONTRACTS) + 1
    changed = {k for k, v in digest(other.root).items() if digest(first.root)[k] != v}
    assert {"patients.parquet", "clinical_events.parquet", "area.json"} <= changed


def test_a_failed_generation_leaves_the_previous_store_intact(tmp_path: Path, monkeypatch):
    store = PopulationStore(tmp_path / "population")
    generate_area(store, patients=300, seed=1)
    before = digest(store.root)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(area_module, "build_gp_appointments", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_area(store, patients=500, seed=2)
    assert digest(store.root) == before
    assert json.loads((store.root / "area.json").read_text())["patients"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["population"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"patients": 99}, "between 100 and 5,000,000"),
        ({"patients": 5_000_001}, "between 100 and 5,000,000"),
        ({"patients": 1500.0}, "whole number"),
        ({"patients": "300"}, "whole number"),
        ({"patients": True}, "whole number"),
        ({"seed": -1}, "seed must be between"),
        ({"seed": "one"}, "seed must be a whole number"),
        ({"progress": "bar"}, "progress must be a function"),
    ],
)
def test_bad_arguments_raise_one_clear_line_and_touch_nothing(tmp_path: Path, arguments, message):
    store = PopulationStore(tmp_path / "population")
    with pytest.raises(ValueError, match=message) as raised:
        generate_area(store, **{"patients": 300, **arguments})
    assert "\n" not in str(raised.value)
    assert not any(tmp_path.iterdir())


def test_progress_runs_from_zero_to_done(tmp_path: Path):
    calls: list[tuple[str, float]] = []
    generate_area(
        PopulationStore(tmp_path / "p"),
        patients=200,
        seed=5,
        progress=lambda stage, fraction: calls.append((stage, fraction)),
    )
    fractions = [f for _, f in calls]
    assert fractions[0] == 0.0 and calls[-1] == ("Done", 1.0)
    assert fractions == sorted(fractions) and len(calls) >= 10
    assert all(stage for stage, _ in calls)
