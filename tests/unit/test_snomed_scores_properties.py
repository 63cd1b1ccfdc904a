"""Property tests: the Ibis pipelines on DuckDB equal the plain-Python oracles exactly.

Random people with events (codes drawn from the codelists plus noise, dates around the index
date and on every window edge, eGFR values) and medication issues (names from the CMS
medication groups plus noise).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.analytics.engine import connect, put_table
from joinedup.analytics.oracles import cms as cms_oracle
from joinedup.analytics.oracles import conditions as ltc_oracle
from joinedup.analytics.oracles import efi as efi_oracle
from joinedup.analytics.scores import cms, conditions, efi
from joinedup.terminology.codelists import list_codelists, load_codelist

INDEX = dt.date(2024, 6, 30)
EDGES = [INDEX + dt.timedelta(days=d) for d in (1, 0, -1, -364, -365, -366, -1825, -1826, -1827)]


def _pool() -> list[tuple[str, str]]:
    """A few codes of every codelist, in each of its code systems, plus codes in none."""
    pool: set[tuple[str, str]] = set()
    for info in list_codelists():
        codelist = load_codelist(info.id)
        for system, codes in codelist.codes.items():
            pool.update((system, code) for code in sorted(codes)[:2])
    pool.update({("snomed", "NOISE1"), ("ctv3", "NOISE"), ("read2", "XXXX.")})
    return sorted(pool)


CODES = _pool()
INGREDIENTS = sorted({r for r in cms.medication_groups().column("ingredient").to_pylist()})
MEDICINE_NAMES = [f"{name.capitalize()} 10mg tablets" for name in INGREDIENTS[::3]] + [
    "Paracetamol 500mg tablets",
    "Amlodipine 5mg tablets",
    "Dihydrocodeine 30mg tablets",
]

dates = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=-2400, max_value=60).map(lambda d: INDEX + dt.timedelta(days=d)),
)
event = st.tuples(
    st.integers(min_value=1, max_value=6),
    st.sampled_from(CODES),
    dates,
    st.one_of(
        st.none(),
        st.floats(min_value=-5, max_value=300, allow_nan=False).map(lambda v: round(v, 1)),
    ),
)
issue = st.tuples(
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=0, max_value=len(MEDICINE_NAMES) - 1),
    dates,
)


@pytest.fixture(scope="module")
def duck():
    con = connect("duckdb")
    codelists = {
        "efi": put_table(con, "prop_efi_codelists", efi.efi_codelists()),
        "cms": put_table(con, "prop_cms_codelists", cms.cms_codelists()),
        "ltc": put_table(con, "prop_ltc_codelists", conditions.ltc_codelists()),
    }
    yield con, codelists
    con.disconnect()


def _tables(events: list[tuple], issues: list[tuple]) -> tuple[pa.Table, pa.Table]:
    event_table = pa.table(
        {
            "person_id": pa.array([e[0] for e in events], pa.int64()),
            "code_system": [e[1][0] for e in events],
            "code": [e[1][1] for e in events],
            "event_date": pa.array([e[2] for e in events], pa.date32()),
            "value": pa.array([e[3] for e in events], pa.float64()),
        }
    )
    medication_table = pa.table(
        {
            "person_id": pa.array([i[0] for i in issues], pa.int64()),
            "issue_id": pa.array(range(1, len(issues) + 1), pa.int64()),
            "code": [f"dmd{i[1]}" for i in issues],
            "name": [MEDICINE_NAMES[i[1]] for i in issues],
            "issue_date": pa.array([i[2] for i in issues], pa.date32()),
        }
    )
    return event_table, medication_table


common = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@common
@given(events=st.lists(event, min_size=1, max_size=40), issues=st.lists(issue, max_size=30))
def test_efi_pipeline_equals_oracle(duck, events, issues):
    con, codelists = duck
    event_table, medication_table = _tables(events, issues)
    e = put_table(con, "prop_events", event_table)
    m = put_table(con, "prop_meds", medication_table)
    got = con.to_pyarrow(efi.efi_scores(e, m, index_date=INDEX, codelists=codelists["efi"]))
    expected = efi_oracle.efi(event_table.to_pylist(), medication_table.to_pylist(), INDEX)
    assert {r["person_id"]: (r["deficits"], r["efi"], r["category"]) for r in got.to_pylist()} == {
        p: (r["deficits"], r["efi"], r["category"]) for p, r in expected.items()
    }
    found = con.to_pyarrow(
        efi.efi_contributions(e, m, index_date=INDEX, codelists=codelists["efi"])
    ).to_pylist()
    assert {(r["person_id"], r["deficit_no"]) for r in found} == {
        (p, d) for p, r in expected.items() for d in r["present"]
    }


@common
@given(
    events=st.lists(event, min_size=1, max_size=40),
    issues=st.lists(issue, max_size=30),
    with_medications=st.booleans(),
)
def test_cms_pipeline_equals_oracle(duck, events, issues, with_medications):
    con, codelists = duck
    event_table, medication_table = _tables(events, issues)
    e = put_table(con, "prop_events", event_table)
    m = put_table(con, "prop_meds", medication_table) if with_medications else None
    got = con.to_pyarrow(cms.cms_scores(e, m, index_date=INDEX, codelists=codelists["cms"]))
    expected = cms_oracle.cms(
        event_table.to_pylist(), medication_table.to_pylist() if with_medications else None, INDEX
    )
    assert {r["person_id"]: (r["cms"], r["conditions"]) for r in got.to_pylist()} == {
        p: (r["cms"], r["conditions"]) for p, r in expected.items()
    }


@common
@given(events=st.lists(event, min_size=1, max_size=40), issues=st.lists(issue, max_size=30))
def test_ltc_pipeline_equals_oracle(duck, events, issues):
    con, codelists = duck
    event_table, medication_table = _tables(events, issues)
    e = put_table(con, "prop_events", event_table)
    m = put_table(con, "prop_meds", medication_table)
    got = con.to_pyarrow(
        conditions.ltc_counts(e, m, index_date=INDEX, codelists=codelists["ltc"])
    ).to_pylist()
    expected = ltc_oracle.ltc_counts(event_table.to_pylist(), medication_table.to_pylist(), INDEX)
    names = [c.condition for c in conditions.LONG_TERM_CONDITIONS]
    assert {
        r["person_id"]: (
            {n for n in names if r[n]},
            r["ltc_count"],
            r["medicines"],
            r["polypharmacy_5"],
            r["polypharmacy_10"],
        )
        for r in got
    } == {
        p: (
            r["conditions"],
            r["ltc_count"],
            r["medicines"],
            r["polypharmacy_5"],
            r["polypharmacy_10"],
        )
        for p, r in expected.items()
    }
