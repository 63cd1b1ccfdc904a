"""The specification as configuration: the London SCF default, quarters, broken files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from joinedup.commissioning.specification import (
    Quarter,
    QuarterError,
    SpecificationError,
    load_specification,
)

GOOD_ELEMENT = """
  - id: X1
    domain: d
    title: An element
    description: What it is.
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_is_the_london_scf_seventeen_elements() -> None:
    spec = load_specification()
    assert spec.element_ids == (
        *(f"A{i}" for i in range(1, 8)),
        *(f"P{i}" for i in range(1, 6)),
        *(f"C{i}" for i in range(1, 6)),
    )
    assert spec.element("A5").title == "Same-day access"
    assert spec.element("P5").title == "Patients not currently accessing primary care"
    assert spec.element("C5").title == "Multidisciplinary working"
    assert {e.id: e.measure for e in spec.elements if e.measured} == {
        "A4": "access.extended_hours",
        "A5": "access.same_day",
        "A7": "continuity.high_upc",
        "C1": "coordinated_care.on_register",
        "C2": "coordinated_care.named_professional",
        "C3": "coordinated_care.agreed_plan",
        "C5": "coordinated_care.mdt_cadence",
        "P2": "keeping_well.community_assets",
        "P4": "keeping_well.outcomes_recorded",
    }
    assert [m.percent for m in spec.milestones] == [90, 100]
    assert [len(els) for _, els in spec.by_domain()] == [7, 5, 5]
    assert all(e.description for e in spec.elements)


@pytest.mark.parametrize(
    ("text", "year", "number", "last_day"),
    [
        ("2026-27 Q1", 2026, 1, dt.date(2026, 6, 30)),
        ("2026-27 Q3", 2026, 3, dt.date(2026, 12, 31)),
        ("2026-27 Q4", 2026, 4, dt.date(2027, 3, 31)),
        ("1999-00 Q2", 1999, 2, dt.date(1999, 9, 30)),
    ],
)
def test_quarters_are_nhs_financial_year_quarters(
    text: str, year: int, number: int, last_day: dt.date
) -> None:
    quarter = Quarter.parse(text)
    assert (quarter.year, quarter.number, quarter.last_day, str(quarter)) == (
        year,
        number,
        last_day,
        text,
    )
    assert Quarter.containing(last_day) == quarter


@pytest.mark.parametrize("text", ["2026-28 Q1", "2026/27 Q1", "2026-27 Q5", "Q3", ""])
def test_badly_written_quarters_are_refused(text: str) -> None:
    with pytest.raises(QuarterError):
        Quarter.parse(text)


def test_quarters_run_in_order_across_a_year_end() -> None:
    quarters = Quarter.parse("2026-27 Q3").until(Quarter.parse("2027-28 Q1"))
    assert [str(q) for q in quarters] == ["2026-27 Q3", "2026-27 Q4", "2027-28 Q1"]
    assert Quarter.containing(dt.date(2027, 1, 5)) == Quarter(2026, 4)


def test_a_small_yaml_specification_loads_with_default_milestones(tmp_path: Path) -> None:
    spec = load_specification(
        write(tmp_path, "id: s\ntitle: S\ndomains: {d: Domain}\nelements:" + GOOD_ELEMENT)
    )
    assert spec.element_ids == ("X1",)
    assert [(m.percent, str(m.by)) for m in spec.milestones] == [
        (90, "2027-28 Q4"),
        (100, "2028-29 Q4"),
    ]


def test_every_problem_of_a_broken_specification_is_named(tmp_path: Path) -> None:
    text = """
id: s
title: S
domains: {d: Domain}
milestones: [{percent: 100, by: "2026-27 Q1"}, {percent: 90, by: "2027-28 Q1"}]
rag: {amber_within_points: 500}
elements:
  - {id: X1, domain: d, title: One, description: The first}
  - {id: X1, domain: nowhere, title: "", description: Two, measure: guesswork}
"""
    with pytest.raises(SpecificationError) as raised:
        load_specification(write(tmp_path, text))
    message = str(raised.value)
    for expected in (
        "element X1: id given twice",
        "domain 'nowhere'",
        "element X1: title missing",
        "measure 'guesswork'",
        "a higher percentage cannot fall due before a lower one",
        "amber_within_points",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: s\ntitle: [unclosed", "is not valid YAML"),
        ("- just a list", "expected a mapping"),
        ("id: s\ntitle: S\ndomains: {d: D}\nelements: []", "elements: give a list"),
        ("id: s\ntitle: S\ndomains: {d: D}\nquarters: {first: soon}\nelements:" + GOOD_ELEMENT,
         "quarters"),
    ],
)  # fmt: skip
def test_unusable_files_are_refused_clearly(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SpecificationError, match=expected):
        load_specification(write(tmp_path, text))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecificationError, match="does not exist"):
        load_specification(tmp_path / "nowhere.yaml")


def test_a_csv_specification_gives_the_elements(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,domain,title,description,measure\n"
        "A1,accessible,Choice,Patients choose,\n"
        "C2,coordinated,Named professional,Each has one,coordinated_care.named_professional\n",
        "local.csv",
    )
    spec = load_specification(path)
    assert spec.element_ids == ("A1", "C2")
    assert spec.element("C2").measured and not spec.element("A1").measured
    assert set(spec.domains) == {"accessible", "coordinated"}


def test_a_csv_specification_without_its_columns_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "code,name\nA1,Choice\n", "local.csv")
    with pytest.raises(SpecificationError, match="missing: id, domain, title, description"):
        load_specification(path)
