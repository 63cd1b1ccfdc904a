"""Property tests: the Ibis pipelines on DuckDB give exactly what the plain-Python oracles give.

Random diagnoses - codes drawn from the published mapping tables (with extra characters, in
random formats) mixed with noise codes and non-codes, dates scattered around the index date,
some undated - are scored both ways and must agree person by person: score, category and the
groups behind the score.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.analytics.engine import connect, put_table
from joinedup.analytics.oracles import clean_icd10
from joinedup.analytics.oracles.charlson import charlson
from joinedup.analytics.oracles.elixhauser import elixhauser
from joinedup.analytics.oracles.hfrs import hfrs
from joinedup.analytics.scores import icd10
from joinedup.analytics.scores.charlson import WEIGHT_SETS as CHARLSON_WEIGHTS
from joinedup.analytics.scores.charlson import charlson_scores
from joinedup.analytics.scores.elixhauser import WEIGHT_SETS as ELIXHAUSER_WEIGHTS
from joinedup.analytics.scores.elixhauser import elixhauser_scores
from joinedup.analytics.scores.hfrs import hfrs_scores, hfrs_weights
from joinedup.terminology.icd10 import normalise_icd10, normalised_icd10

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SEPARATOR = icd10.SEPARATOR

PREFIXES = sorted(
    set(hfrs_weights())
    | {p for _, p in icd10.prefix_mapping("charlson", "charlson_icd10_quan.csv")}
    | {p for _, p in icd10.prefix_mapping("elixhauser", "elixhauser_icd10_quan.csv")}
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(scope="module")
def con():
    backend = connect("duckdb")
    yield backend
    backend.disconnect()


@st.composite
def mapped_code(draw: st.DrawFn) -> str:
    """A code in some group: a published prefix and maybe more digits."""
    prefix = draw(st.sampled_from(PREFIXES))
    return prefix + draw(st.text("0123456789", max_size=2))


@st.composite
def noise_code(draw: st.DrawFn) -> str:
    """A well-formed ICD-10 code that may be in no group."""
    letter = draw(st.sampled_from(LETTERS))
    return letter + draw(st.text("0123456789", min_size=2, max_size=4))


@st.composite
def formatted(draw: st.DrawFn, code: str) -> str:
    """`code` as it might be recorded: a dot, lower case, spaces, dashes, HES suffixes."""
    if len(code) > 3 and draw(st.booleans()):
        code = code[:3] + "." + code[3:]
    elif len(code) == 3 and draw(st.booleans()):
        code += draw(st.sampled_from(["X", ".X", "-", ".-"]))
    if draw(st.booleans()):
        code += draw(st.sampled_from(["D", "A", "*", " ", "X"]))
    if draw(st.booleans()):
        code = code.lower()
    if draw(st.booleans()):
        code = " " + code + " "
    return code


# Sets of codes where the rules bite, given to one person on one date: the severe and mild
# forms of each hierarchy pair (Charlson and Elixhauser), codes in two groups, HFRS sums of
# exactly 5.0 and 15.0 (category edges; 15.0 is 14.999999999999998 as a float sum).
TOGETHER = [
    ("E112", "E119"), ("K721", "K703"), ("C78", "C50"),  # Charlson
    ("I110", "I10"), ("E11.2", "E109"), ("C780", "C97"),  # Elixhauser
    ("I426", "K700"),  # heart failure and alcohol abuse; alcohol and liver disease
    ("B96", "F03"), ("A04", "F00", "F05", "R29"), ("F00.1", "F001"),  # HFRS
]  # fmt: skip

codes = st.one_of(
    mapped_code().flatmap(formatted),
    noise_code().flatmap(formatted),
    st.text(alphabet="AZ09.- xı²ß٣", max_size=6),  # not codes, or odd characters around them
)
LEAP_DAY = dt.date(2024, 2, 29)  # its look-backs start on 28 February
index_dates = st.one_of(
    st.none(), st.just(LEAP_DAY), st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31))
)


def edges(index_date: dt.date | None) -> list[dt.date]:
    """Dates on and either side of the window's ends for 1, 2 and 5 years' look-back."""
    if index_date is None:
        return [LEAP_DAY]
    day = dt.timedelta(days=1)
    found = [index_date, index_date + day]
    for years in (1, 2, 5):
        try:
            start = index_date.replace(year=index_date.year - years)
        except ValueError:
            start = index_date.replace(year=index_date.year - years, day=28)
        found += [start, start - day, start + day]
    return found


@st.composite
def cases(draw: st.DrawFn, max_rows: int = 20):
    """(rows, index_date): a few people's (person_id, code, date) rows around an index date."""
    index_date = draw(index_dates)
    dates = st.one_of(
        st.none(),
        st.sampled_from(edges(index_date)),
        st.dates(dt.date(2017, 1, 1), dt.date(2026, 12, 31)),
    )
    single = st.tuples(st.integers(1, 4), codes, dates).map(lambda row: [row])
    together = st.tuples(st.integers(1, 4), st.sampled_from(TOGETHER), dates).map(
        lambda t: [(t[0], code, t[2]) for code in t[1]]
    )
    groups = draw(st.lists(st.one_of(single, together), min_size=1, max_size=max_rows))
    return [row for group in groups for row in group], index_date


def table(con, rows, ages=None):
    columns = {
        "person_id": pa.array([r[0] for r in rows], pa.int64()),
        "code": pa.array([r[1] for r in rows], pa.string()),
        "date": pa.array([r[2] for r in rows], pa.date32()),
    }
    if ages is not None:
        columns["age"] = pa.array([ages.get(r[0]) for r in rows], pa.int64())
    return put_table(con, "diagnoses", pa.table(columns))


def by_person(con, expr) -> dict[int, dict]:
    return {r["person_id"]: r for r in con.to_pyarrow(expr).to_pylist()}


@given(st.text(max_size=12))
def test_normalisation_python_equals_the_oracles_own(code):
    assert normalise_icd10(code) == clean_icd10(code)


@EXAMPLES
@given(st.lists(st.one_of(codes, st.text(max_size=8)), min_size=1, max_size=30))
def test_normalisation_on_duckdb_equals_python(con, recorded):
    t = put_table(con, "codes", pa.table({"code": pa.array(recorded, pa.string())}))
    got = con.to_pyarrow(t.select(normal=normalised_icd10(t.code))).column(0).to_pylist()
    assert got == [normalise_icd10(c) for c in recorded]


@EXAMPLES
@given(cases())
def test_hfrs_pipeline_equals_oracle(con, case):
    rows, index_date = case
    got = by_person(con, hfrs_scores(table(con, rows), index_date=index_date))
    expected = hfrs(rows, index_date)
    assert set(got) == set(expected)
    for person_id, want in expected.items():
        row = got[person_id]
        # repr of the float is the exact one-decimal sum: no float drift.
        assert Decimal(repr(row["hfrs_score"])) == want.score
        assert row["hfrs_category"] == want.category
        assert row["hfrs_groups"] == SEPARATOR.join(want.groups)


@EXAMPLES
@given(
    cases(),
    st.sampled_from(CHARLSON_WEIGHTS),
    st.sampled_from([None, 1, 5]),
    st.one_of(st.none(), st.dictionaries(st.integers(1, 4), st.integers(0, 110))),
)
def test_charlson_pipeline_equals_oracle(con, case, weights, lookback, ages):
    rows, index_date = case
    expr = charlson_scores(
        table(con, rows, ages), index_date=index_date, weights=weights, lookback_years=lookback
    )
    got = by_person(con, expr)
    expected = charlson(rows, index_date, weights, lookback, ages)
    assert set(got) == set(expected)
    for person_id, want in expected.items():
        row = got[person_id]
        assert (row["charlson_score"], row["charlson_age_adjusted"], row["charlson_groups"]) == (
            want.score, want.age_adjusted, SEPARATOR.join(want.groups),
        )  # fmt: skip


@EXAMPLES
@given(cases(), st.sampled_from(ELIXHAUSER_WEIGHTS), st.sampled_from([None, 2]))
def test_elixhauser_pipeline_equals_oracle(con, case, weights, lookback):
    rows, index_date = case
    expr = elixhauser_scores(
        table(con, rows), index_date=index_date, weights=weights, lookback_years=lookback
    )
    got = by_person(con, expr)
    expected = elixhauser(rows, index_date, weights, lookback)
    assert set(got) == set(expected)
    for person_id, want in expected.items():
        assert (got[person_id]["elixhauser_score"], got[person_id]["elixhauser_groups"]) == (
            want.score, SEPARATOR.join(want.groups),
        )  # fmt: skip


# Six pipeline runs an example (three scores, with and without what the checks found): fewer
# examples than the properties above keep it to a few seconds; the cases are the same.
@settings(EXAMPLES, max_examples=15)
@given(cases(), st.dictionaries(st.integers(1, 4), st.integers(0, 110)))
def test_people_and_codes_given_score_as_when_found(con, case, ages):
    """The ICD-10 pipelines given the people already grouped and the distinct codes (`people=`,
    `lexicon=`, as `joinedup score` gives them; ADR 0039) score them as when they find both in
    the rows, score a person given with no rows (5, aged 85) zero, and match a code given that
    no row has (I21) to no one."""
    rows, index_date = case
    found = {r[0] for r in rows}
    people = pa.table(
        {
            "person_id": pa.array([*sorted(found), 5], pa.int64()),
            "age": pa.array([*(ages.get(p) for p in sorted(found)), 85], pa.int64()),
        }
    )
    given_people = put_table(con, "people", people)
    codes = sorted({r[1] for r in rows} | {"I21"})
    lexicon = put_table(con, "lexicon", pa.table({"code": pa.array(codes, pa.string())}))
    diagnoses = table(con, rows, ages)
    pipelines = {
        "charlson": (charlson_scores, {"charlson_score": 0, "charlson_age_adjusted": 4}),
        "elixhauser": (elixhauser_scores, {"elixhauser_score": 0}),
        "hfrs": (hfrs_scores, {"hfrs_score": 0.0, "hfrs_category": "low"}),
    }
    for name, (pipeline, nothing) in pipelines.items():
        keep = given_people if name == "charlson" else given_people.select("person_id")
        alone = by_person(con, pipeline(diagnoses, index_date=index_date))
        grouped = by_person(
            con, pipeline(diagnoses, index_date=index_date, people=keep, lexicon=lexicon)
        )
        assert set(grouped) == found | {5}
        assert {p: grouped[p] for p in found} == alone
        assert grouped[5] == {"person_id": 5, **nothing, f"{name}_groups": ""}
