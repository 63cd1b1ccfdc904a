"""Segmentation rules on every engine: readable person rows → the segment each rule gives.

Each row is a person-summary row built from a healthy default plus the few values that matter;
the expected segment is written beside it. Both schemes (four-group frailty, Bridges to
Health) run on DuckDB and Spark and must give exactly these segments.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from joinedup.analytics.engine import put_table
from joinedup.analytics.pareto import cost_concentration, segment_summary
from joinedup.analytics.person_summary import COLUMNS
from joinedup.analytics.segmentation import builtin_scheme

from .conftest import run

_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "string": pa.string()}

HEALTHY: dict[str, Any] = {
    name: {"int": 0, "float": 0.0, "bool": False, "string": ""}[kind]
    for name, kind in COLUMNS.items()
}
HEALTHY.update(
    practice_code="P1",
    neighbourhood_code="N1",
    age=40,
    sex="F",
    imd_decile=5,
    efi_category="fit",
    hfrs_category="low",
    cost_top_percent=50.0,
)

# (person_id, the values that differ from a healthy 40-year-old, four-group, Bridges to Health)
CASES: list[tuple[int, dict[str, Any], str, str]] = [
    (1, {}, "largely_healthy", "healthy"),
    # intensive support: each way in
    (2, {"age": 80, "efi_category": "severe"}, "intensive_support", "long_decline_frailty"),
    (3, {"age": 50, "efi_category": "severe"}, "largely_healthy", "healthy"),  # eFI is for 65+
    (4, {"age": 90, "care_home": True}, "intensive_support", "long_decline_frailty"),
    (5, {"age": 70, "hfrs_category": "high"}, "intensive_support", "healthy"),
    (6, {"emergency_admissions_12m": 2}, "intensive_support", "acutely_ill"),
    (7, {"cost_top_percent": 0.5}, "intensive_support", "healthy"),
    (8, {"cost_top_percent": 1.0}, "largely_healthy", "healthy"),  # top 1% is < 1
    # regular support
    (9, {"age": 75, "efi_category": "moderate"}, "regular_support", "healthy"),
    (10, {"age": 30, "housebound": True}, "regular_support", "stable_serious_disability"),
    (11, {"age": 66, "hfrs_category": "intermediate"}, "regular_support", "healthy"),
    (
        12,
        {"age": 70, "ltc_count": 2, "hypertension": True, "emergency_admissions_12m": 1},
        "regular_support",
        "chronic_normal_function",
    ),
    # emerging frailty
    (13, {"age": 65, "efi_category": "mild"}, "emerging_frailty", "healthy"),
    (14, {"age": 64, "efi_category": "mild"}, "largely_healthy", "healthy"),
    (
        15,
        {"age": 72, "ltc_count": 2, "diabetes": True, "copd": True},
        "emerging_frailty",
        "limited_reserve_organ_failure",
    ),
    (16, {"age": 68, "polypharmacy_10": True}, "emerging_frailty", "healthy"),
    (17, {"age": 60, "ltc_count": 3, "asthma": True}, "largely_healthy", "chronic_normal_function"),
    # Bridges to Health segments not reached above
    (
        18,
        {"palliative_care_contacts_12m": 1, "cancer": True, "ltc_count": 1},
        "largely_healthy",
        "short_decline_near_death",
    ),
    (19, {"age": 85, "dementia": True, "ltc_count": 1}, "largely_healthy", "long_decline_frailty"),
    (
        20,
        {"heart_failure": True, "ltc_count": 1},
        "largely_healthy",
        "limited_reserve_organ_failure",
    ),
    (
        21,
        {"ckd": True, "ltc_count": 1, "emergency_admissions_12m": 1},
        "largely_healthy",
        "limited_reserve_organ_failure",
    ),
    (22, {"ckd": True, "ltc_count": 1}, "largely_healthy", "chronic_normal_function"),
    (
        23,
        {"learning_disability": True, "ltc_count": 1},
        "largely_healthy",
        "stable_serious_disability",
    ),
    (24, {"ae_attendances_12m": 1}, "largely_healthy", "acutely_ill"),
    (25, {"maternity_admissions_12m": 1, "age": 29}, "largely_healthy", "maternal_infant"),
    (26, {"age": 0}, "largely_healthy", "maternal_infant"),
    # priority: end of life wins over frailty, frailty over organ failure
    (
        27,
        {"age": 88, "care_home": True, "palliative_care_contacts_12m": 3},
        "intensive_support",
        "short_decline_near_death",
    ),
    (
        28,
        {"age": 80, "dementia": True, "heart_failure": True, "ltc_count": 2},
        "emerging_frailty",
        "long_decline_frailty",
    ),
]


def people_table() -> pa.Table:
    rows = [{**HEALTHY, "person_id": pid, **changes} for pid, changes, _, _ in CASES]
    schema = pa.schema([pa.field(n, _ARROW[k]) for n, k in COLUMNS.items()])
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.mark.parametrize(
    ("scheme", "position"), [("frailty_four_group", 2), ("bridges_to_health", 3)]
)
def test_each_rule_gives_its_segment(con, scheme: str, position: int) -> None:
    people = put_table(con, "seg_people", people_table())
    rules = builtin_scheme(scheme)
    result = run(con, rules.assign(people).select("person_id", rules.id))
    expected = {case[0]: case[position] for case in CASES}
    assert dict(zip(*result.to_pydict().values(), strict=True)) == expected


def test_every_segment_of_each_scheme_is_exercised() -> None:
    for scheme, position in (("frailty_four_group", 2), ("bridges_to_health", 3)):
        used = {case[position] for case in CASES}
        assert used == {s.id for s in builtin_scheme(scheme).segments}


def test_segment_totals_and_pareto(con) -> None:
    costs = [100.0, 0.0, 50.25, 10.0, 10.0]
    table = pa.table(
        {
            "person_id": [1, 2, 3, 4, 5],
            "practice_code": ["P1", "P1", "P1", "P2", "P2"],
            "neighbourhood_code": ["N1", "N1", "N1", None, None],
            "cost_12m": costs,
            "frailty_four_group": ["intensive_support", *["largely_healthy"] * 4],
        }
    )
    people = put_table(con, "pareto_people", table)
    scheme = builtin_scheme("frailty_four_group")
    summary = run(con, segment_summary(people, [scheme])).to_pylist()
    assert [(r["segment"], r["people"], r["total_cost"]) for r in summary] == [
        ("intensive_support", 1, 100.0),
        ("largely_healthy", 4, 70.25),
    ]
    assert summary[0]["cost_share"] == pytest.approx(100 / 170.25)

    pareto = run(con, cost_concentration(people, [10, 50])).to_pylist()
    got = {(r["level"], r["group_code"], r["top_percent"]): r for r in pareto}
    # Area: 5 people; top 10% is ⌈0.5⌉ = 1 person (100.00), top 50% is ⌈2.5⌉ = 3 people.
    assert got[("area", "AREA", 10)]["top_cost"] == 100.0
    assert got[("area", "AREA", 50)]["top_people"] == 3
    assert got[("area", "AREA", 50)]["top_cost"] == 160.25
    assert got[("area", "AREA", 50)]["share"] == pytest.approx(160.25 / 170.25)
    # P2 has two people costing the same: the top person is either, the sum is 10.00.
    assert got[("practice", "P2", 10)]["top_cost"] == 10.0
    assert got[("neighbourhood", "NO_NEIGHBOURHOOD", 50)]["people"] == 2
    assert got[("neighbourhood", "N1", 50)]["top_cost"] == 150.25
