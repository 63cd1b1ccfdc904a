"""HFRS, Charlson and Elixhauser: readable cases, run on every engine (DuckDB and Spark).

Each test puts one small diagnoses table on the engine - one person per case, so a whole score
is checked in a few queries - and compares the result with the expected rows.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from joinedup.analytics.engine import put_table
from joinedup.analytics.scores import charlson, elixhauser, hfrs
from joinedup.analytics.scores.charlson import charlson_contributions, charlson_scores
from joinedup.analytics.scores.elixhauser import elixhauser_scores
from joinedup.analytics.scores.hfrs import hfrs_contributions, hfrs_scores
from joinedup.population.contracts import HOSPITAL_SPELLS, SPELL_DIAGNOSES
from joinedup.population.validation import conform
from joinedup.terminology.icd10 import normalise_icd10, normalised_icd10
from tests.spec.conftest import run

INDEX = dt.date(2024, 6, 30)
D = dt.date(2024, 1, 15)  # a date well inside every look-back window


def diagnoses(con, rows, *, with_age: bool = False):
    """(person_id, code, date[, age]) rows as a table on `con`."""
    columns = {
        "person_id": pa.array([r[0] for r in rows], pa.int64()),
        "code": pa.array([r[1] for r in rows], pa.string()),
        "date": pa.array([r[2] for r in rows], pa.date32()),
    }
    if with_age:
        columns["age"] = pa.array([r[3] for r in rows], pa.int64())
    return put_table(con, "diagnoses", pa.table(columns))


def test_icd10_normalisation_is_the_same_on_the_engine_as_in_python(con):
    recorded = ["I50.0", "i500", "I50.0D", "I50X", " f00 ", "F00-", "E11.2", "G63.2*",
                "M84.45", "R54 X", "0000", "hello", "", "C4A.0", "I5"]  # fmt: skip
    table = put_table(con, "codes", pa.table({"code": recorded}))
    expr = table.select("code", normal=normalised_icd10(table.code))
    got = {r["code"]: r["normal"] for r in run(con, expr).to_pylist()}
    assert got == {code: normalise_icd10(code) for code in recorded}
    assert [got[c] for c in ("I50.0", "i500", "I50.0D", "I50X", " f00 ", "0000")] == [
        "I500", "I500", "I500", "I50", "F00", None,
    ]  # fmt: skip


HFRS_CASES = [
    # person, code, date
    (1, "F00", D), (1, "W19", D), (1, "R54", D),  # 7.1 + 3.2 + 2.2
    (2, "F00.1", D), (2, "F001", D),  # one group however it is spelt
    (3, " f00 ", D),
    (4, "A00", D), (4, "G81", D), (4, "G30", D),  # A00 is not an HFRS group
    (5, "Z74", D),
    (6, "B96", D), (6, "F03", D),  # exactly 5.0: intermediate
    (7, "A04", D), (7, "F00", D), (7, "F05", D), (7, "R29", D),  # exactly 15.0 (float: 14.99..)
    (8, "F00", D), (8, "G81", D), (8, "R29", D),  # 15.1: high
    (9, "F00", dt.date(2022, 6, 30)),  # two years to the day before the index date: counts
    (9, "W19", dt.date(2022, 6, 29)),  # one day earlier: does not
    (9, "R54", dt.date(2024, 7, 1)),  # after the index date: does not
    (10, "I50.0D", D), (10, "hello", D),  # no HFRS group, not a code: 0
    (11, "F00", None),  # undated, with an index date: does not count
]  # fmt: skip


def test_hfrs_scores(con):
    result = run(con, hfrs_scores(diagnoses(con, HFRS_CASES), index_date=INDEX)).to_pylist()
    assert [(r["person_id"], r["hfrs_score"], r["hfrs_category"], r["hfrs_groups"])
            for r in result] == [
        (1, 12.5, "intermediate", "F00, R54, W19"),
        (2, 7.1, "intermediate", "F00"),
        (3, 7.1, "intermediate", "F00"),
        (4, 8.4, "intermediate", "G30, G81"),
        (5, 1.1, "low", "Z74"),
        (6, 5.0, "intermediate", "B96, F03"),
        (7, 15.0, "intermediate", "A04, F00, F05, R29"),
        (8, 15.1, "high", "F00, G81, R29"),
        (9, 7.1, "intermediate", "F00"),
        (10, 0.0, "low", ""),
        (11, 0.0, "low", ""),
    ]  # fmt: skip


def test_hfrs_contributions_show_the_codes_behind_each_group(con):
    table = diagnoses(con, [c for c in HFRS_CASES if c[0] in (2, 9)])
    result = run(con, hfrs_contributions(table, index_date=INDEX)).to_pylist()
    assert [(r["person_id"], r["group"], r["weight"], r["codes"]) for r in result] == [
        (2, "F00", 7.1, "F001"),
        (9, "F00", 7.1, "F00"),
    ]
    assert result[0]["description"] == "Dementia in Alzheimers disease"


CHARLSON_CASES = [
    # person, code, date, age
    (1, "I21", D, 72), (1, "I50", D, 72),  # ami + chf
    (2, "E112", D, 55), (2, "C78", D, 55),  # diabwc + metacanc
    (3, "J44", D, 49),  # copd
    (4, "K703", D, 81), (4, "K721", D, 81), (4, "B20", D, 81),  # msld over mld, aids
    (5, "E11.2", D, 60),  # dotted: still diabetes with complications
    (6, "C50", D, 45), (6, "C780", D, 45),  # metastatic over any malignancy
    (7, "E119", D, 90), (7, "e11.2", D, 90),  # complicated over uncomplicated diabetes
    (8, "I50", D, None),  # age unknown: no age-adjusted score
    (9, "I21", dt.date(2024, 7, 1), 70),  # after the index date: nothing counts
]  # fmt: skip


def test_charlson_original_weights_with_age(con):
    table = diagnoses(con, CHARLSON_CASES, with_age=True)
    result = run(con, charlson_scores(table, index_date=INDEX)).to_pylist()
    assert [tuple(r.values()) for r in result] == [
        # person, score, age-adjusted, conditions
        (1, 2, 5, "ami, chf"),
        (2, 8, 9, "diabwc, metacanc"),
        (3, 1, 1, "copd"),
        (4, 9, 13, "aids, msld"),
        (5, 2, 4, "diabwc"),
        (6, 6, 6, "metacanc"),
        (7, 2, 6, "diabwc"),
        (8, 1, None, "chf"),
        (9, 0, 3, ""),
    ]


def test_charlson_quan_2011_weights(con):
    table = diagnoses(con, CHARLSON_CASES, with_age=True)
    expr = charlson_scores(table, index_date=INDEX, weights="quan2011")
    result = run(con, expr.select("person_id", "charlson_score")).to_pylist()
    # AIDS/HIV weighs 4 under Quan 2011 (see charlson.py): person 4 is msld 4 + aids 4.
    assert [tuple(r.values()) for r in result] == [
        (1, 2), (2, 7), (3, 1), (4, 8), (5, 1), (6, 6), (7, 1), (8, 2), (9, 0),
    ]  # fmt: skip


def test_charlson_contributions_keep_only_the_severe_form(con):
    table = diagnoses(con, [c for c in CHARLSON_CASES if c[0] in (4, 7)], with_age=True)
    expr = charlson_contributions(table, index_date=INDEX, weights="quan2011")
    result = run(con, expr.select("person_id", "group", "weight", "codes")).to_pylist()
    assert [tuple(r.values()) for r in result] == [
        (4, "aids", 4, "B20"),
        (4, "msld", 4, "K721"),
        (7, "diabwc", 1, "E112"),
    ]


ELIXHAUSER_CASES = [
    (1, "I10", D), (1, "I110", D),  # chf 7 + complicated hypertension 0 (uncomplicated dropped)
    (2, "F11", D),  # drug abuse -7
    (3, "I50", D), (3, "F11", D), (3, "E66", D),  # 7 - 7 - 4
    (4, "C50", D), (4, "C78", D),  # metastatic 12, solid tumour dropped
    (5, "E109", D), (5, "E112", D),  # complicated diabetes 0, uncomplicated dropped
    (6, "K70.0", D),  # one code, two groups: alcohol 0 + liver disease 11
    (7, "Z00", D),  # no group
]  # fmt: skip


def test_elixhauser_van_walraven(con):
    table = diagnoses(con, ELIXHAUSER_CASES)
    result = run(con, elixhauser_scores(table, index_date=INDEX)).to_pylist()
    assert [tuple(r.values()) for r in result] == [
        (1, 7, "chf, hypc"),
        (2, -7, "drug"),
        (3, -4, "chf, drug, obes"),
        (4, 12, "metacanc"),
        (5, 0, "diabc"),
        (6, 11, "alcohol, ld"),
        (7, 0, ""),
    ]


def test_scores_from_the_population_store_tables(con):
    # The store's own tables (contract-conformed); read_store's Parquet path is the seam's test.
    admissions = [dt.date(2024, 3, 1), dt.date(2021, 3, 1), dt.date(2023, 1, 10)]
    spells = conform(HOSPITAL_SPELLS, pa.table({
        "spell_id": [1, 2, 3],
        "person_id": [10, 10, 20],
        "provider_code": ["RXX"] * 3,
        "admission_date": admissions,
        "discharge_date": admissions,
        "admission_method": ["emergency"] * 3,
        "length_of_stay": [0, 0, 0],
        "hrg_code": [None, None, None],
        "cost": [0.0, 0.0, 0.0],
    }))  # fmt: skip
    spell_diagnoses = conform(SPELL_DIAGNOSES, pa.table({
        "spell_id": [1, 1, 2, 3, 3],
        "person_id": [10, 10, 10, 20, 20],
        "position": [1, 2, 1, 1, 2],
        "icd10_code": ["F001", "I500", "W19", "E112", "C780"],
    }))  # fmt: skip
    tables = {
        "hospital_spells": put_table(con, "hospital_spells", spells),
        "spell_diagnoses": put_table(con, "spell_diagnoses", spell_diagnoses),
    }
    # Person 10's W19 (2021) is outside HFRS's two years but inside Charlson's all-history.
    assert run(con, hfrs.from_store(tables, INDEX)).to_pylist() == [
        {"person_id": 10, "hfrs_score": 7.1, "hfrs_category": "intermediate", "hfrs_groups": "F00"},
        {"person_id": 20, "hfrs_score": 0.0, "hfrs_category": "low", "hfrs_groups": ""},
    ]
    assert run(con, charlson.from_store(tables, INDEX, weights="quan2011")).to_pylist() == [
        {"person_id": 10, "charlson_score": 4, "charlson_age_adjusted": None,
         "charlson_groups": "chf, dementia"},
        {"person_id": 20, "charlson_score": 7, "charlson_age_adjusted": None,
         "charlson_groups": "diabwc, metacanc"},
    ]  # fmt: skip
    assert run(con, elixhauser.from_store(tables, INDEX)).to_pylist() == [
        {"person_id": 10, "elixhauser_score": 7, "elixhauser_groups": "chf"},
        {"person_id": 20, "elixhauser_score": 12, "elixhauser_groups": "diabc, metacanc"},
    ]
