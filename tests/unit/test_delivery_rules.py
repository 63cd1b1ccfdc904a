"""The tracker's rules on hand-made trajectories: RAG, late plans, population weighting,
validation, and measured actuals from a fake measures provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from joinedup.access.compliance import PcnWeek
from joinedup.access.same_day import PracticeSameDay
from joinedup.analytics.continuity import PracticeContinuity
from joinedup.care.measures import CoordinatedCareMeasures
from joinedup.commissioning.delivery import (
    Area,
    SubmissionError,
    SubmissionRecord,
    Tracker,
    check_submission,
    measure,
    milestone_flags,
    rag_status,
    weighted_mean,
)
from joinedup.commissioning.specification import Milestone, Quarter, load_specification
from joinedup.directory.keeping_well import PracticeKeepingWell

Q = Quarter.parse
MILESTONES = (Milestone(90, Q("2027-28 Q2")), Milestone(100, Q("2028-29 Q2")))
SPEC = load_specification()
NORTH = Area("NBH01", "North", 30_000, org_code="NBH01")
SOUTH = Area("NBH02", "South", 10_000, org_code="NBH02")
CCG = Area("07L", "A CCG", 50_000)  # named by a specification: not measured
AS_OF = dt.date(2026, 11, 23)  # in 2026-27 Q3


@pytest.mark.parametrize(
    ("planned", "actual", "quarter", "status"),
    [
        (None, None, "2026-27 Q3", "not_reported"),
        (60, None, "2026-27 Q3", "not_reported"),
        (60, 60, "2026-27 Q3", "green"),
        (60, 75, "2026-27 Q3", "green"),
        (60, 50.1, "2026-27 Q3", "amber"),  # 9.9 points below
        (60, 50, "2026-27 Q3", "red"),  # 10 points below
        (None, 40, "2026-27 Q3", "no_plan"),
        (None, 95, "2027-28 Q3", "green"),  # no plan, meets the milestone due
        (85, 89, "2027-28 Q2", "red"),  # above plan, but the 90% milestone is missed
        (100, 99, "2028-29 Q2", "red"),
        (90, 92, "2027-28 Q2", "green"),
    ],
)
def test_rag_status(planned: float | None, actual: float | None, quarter: str, status: str) -> None:
    assert rag_status(planned, actual, Q(quarter), MILESTONES, 10).status == status


def test_rag_reason_says_why() -> None:
    rag = rag_status(85, 89, Q("2027-28 Q3"), MILESTONES, 10)
    assert rag.reason == "89% misses the 90% milestone due 2027-28 Q2"


def test_a_suppressed_figure_is_shown_as_suppressed_and_counts_as_reported() -> None:
    """Issue 13: C3 in one area was a suppressed count shown as "Not reported"."""
    rag = rag_status(40, None, Q("2026-27 Q3"), MILESTONES, 10, suppressed=True)
    assert (rag.status, rag.label) == ("suppressed", "Suppressed")
    assert rag_status(40, None, Q("2026-27 Q3"), MILESTONES, 10).status == "not_reported"


def test_a_plan_reaching_a_milestone_after_it_falls_due_is_flagged() -> None:
    plan = {Q("2027-28 Q1"): 80.0, Q("2027-28 Q3"): 90.0, Q("2028-29 Q1"): 100.0}
    flags = milestone_flags(plan, MILESTONES)
    assert [(f.milestone.percent, str(f.reached), f.late) for f in flags] == [
        (90, "2027-28 Q3", True),
        (100, "2028-29 Q1", False),
    ]
    assert flags[0].text == "the plan reaches 90% in 2027-28 Q3, later than 2027-28 Q2"


def test_a_plan_that_never_reaches_a_milestone_is_flagged_and_no_plan_is_not() -> None:
    flags = milestone_flags({Q("2027-28 Q1"): 95.0, Q("2028-29 Q4"): 99.0}, MILESTONES)
    assert [(f.reached, f.late) for f in flags] == [(Q("2027-28 Q1"), False), (None, True)]
    assert milestone_flags({Q("2027-28 Q1"): None}, MILESTONES) == []


def test_the_aggregate_is_population_weighted_over_the_areas_reporting() -> None:
    result = weighted_mean([(50.0, 30_000), (90.0, 10_000), (None, 60_000)])
    assert result.percent == 60.0  # (50×30,000 + 90×10,000) / 40,000
    assert result.areas_reporting == 2
    assert result.population_share == pytest.approx(0.4)
    assert weighted_mean([(None, 10)]).percent is None


def fields(**overrides: Any) -> dict[str, Any]:
    return {
        "area_code": "07L",
        "element_id": "a1",
        "quarter": "2026-27 Q3",
        "planned_percent": "40",
        "actual_percent": "35.56%",
        "notes": " fine ",
    } | overrides


def test_a_good_submission_is_read_from_text() -> None:
    submission = check_submission(SPEC, [CCG], fields())
    assert (submission.element_id, submission.quarter, submission.planned_percent) == (
        "A1",
        Q("2026-27 Q3"),
        40.0,
    )
    assert (submission.actual_percent, submission.notes) == (35.6, "fine")


def test_every_problem_of_a_submission_is_named() -> None:
    with pytest.raises(SubmissionError) as raised:
        check_submission(
            SPEC,
            [CCG],
            fields(
                area_code="X",
                element_id="Z9",
                quarter="2026 Q3",
                planned_percent="101",
                actual_percent="lots",
            ),
        )
    assert raised.value.reasons == [
        "area 'X' is not a delivery area",
        "element 'Z9' is not in the specification",
        "quarter '2026 Q3' is not written like 2026-27 Q3",
        "planned % 101 is not between 0 and 100",
        "actual % 'lots' is not a number",
    ]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"planned_percent": "", "actual_percent": ""}, "give a planned %, an actual % or both"),
        ({"quarter": "2030-31 Q1"}, "outside the specification's quarters"),
        ({"planned_percent": "nan"}, "not between 0 and 100"),
        ({"notes": "x" * 2001}, "notes are longer"),
    ],
)
def test_submissions_outside_the_rules_are_refused(overrides: dict[str, str], reason: str) -> None:
    with pytest.raises(SubmissionError, match=reason):
        check_submission(SPEC, [CCG], fields(**overrides))


def test_a_typed_actual_is_refused_where_joinedup_measures_it() -> None:
    with pytest.raises(SubmissionError, match="C2's actual % is measured by joinedup for North"):
        check_submission(SPEC, [NORTH], fields(area_code="NBH01", element_id="C2"))
    # the plan alone is fine, and an area joinedup does not measure may type it
    assert check_submission(
        SPEC, [NORTH], fields(area_code="NBH01", element_id="C2", actual_percent="")
    )
    assert check_submission(SPEC, [CCG], fields(element_id="C2")).actual_percent == 35.6


@dataclass
class FakeMeasures:
    """A measures provider with fixed answers, counting the dates it is asked about."""

    care: Sequence[CoordinatedCareMeasures] | None
    practices: Sequence[PracticeContinuity] | None = None
    asked: list[dt.date] | None = None
    weeks: Sequence[PcnWeek] | None = None
    keeping: Sequence[PracticeKeepingWell] | None = None
    same: Sequence[PracticeSameDay] | None = None

    def coordinated_care(self, as_of: dt.date) -> Sequence[CoordinatedCareMeasures] | None:
        if self.asked is not None:
            self.asked.append(as_of)
        return self.care

    def continuity(self, as_of: dt.date) -> Sequence[PracticeContinuity] | None:
        return self.practices

    def practice_neighbourhoods(self) -> Mapping[str, str]:
        return {"P1": "NBH01", "P2": "NBH01", "P3": "NBH02"}

    def extended_access(self, as_of: dt.date) -> Sequence[PcnWeek] | None:
        return self.weeks

    def keeping_well(self, as_of: dt.date) -> Sequence[PracticeKeepingWell] | None:
        return self.keeping

    def same_day(self, as_of: dt.date) -> Sequence[PracticeSameDay] | None:
        return self.same


def care(hood: str, cohort: int, on_register: int, named: int, agreed: int, meetings: int) -> Any:
    return CoordinatedCareMeasures(
        neighbourhood_code=hood,
        top_risk_cohort=cohort,
        cohort_on_register=on_register,
        cohort_with_named_professional=named,
        cohort_with_agreed_plan=agreed,
        plan_reviews_due=0,
        plan_reviews_on_time=0,
        mdt_meetings_held_90_days=meetings,
        actions_due=0,
        actions_closed_on_time=0,
    )


PROVIDER = FakeMeasures(
    care=[care("NBH01", 200, 150, 120, 4, 3), care("NBH02", 50, 10, 0, 0, 2)],
    practices=[
        PracticeContinuity("P1", patients=900, upc=0.62, coc=0.4, slicc=0.5, patients_high_upc=540),
        PracticeContinuity("P2", patients=600, upc=0.41, coc=0.3, slicc=0.4, patients_high_upc=150),
        PracticeContinuity("P3", patients=5, upc=0.9, coc=0.8, slicc=0.9, patients_high_upc=5),
    ],
)


def test_coordinated_care_elements_are_measured_with_their_rule() -> None:
    c1 = measure(SPEC.element("C1"), NORTH, PROVIDER, AS_OF)
    assert c1 is not None
    assert (c1.percent, c1.numerator, c1.denominator) == (75.0, 150, 200)
    assert c1.text == (
        "150 / 200 people in the top 5% emergency-admission risk cohort on the coordinated care "
        "register (care store register and latest risk run, as of 23 November 2026)"
    )
    c2 = measure(SPEC.element("C2"), NORTH, PROVIDER, AS_OF)
    assert c2 is not None and c2.percent == 60.0


def test_small_numbers_are_suppressed_and_the_share_withheld_with_them() -> None:
    c3 = measure(SPEC.element("C3"), NORTH, PROVIDER, AS_OF)
    assert c3 is not None
    assert (c3.percent, c3.numerator, c3.denominator) == (None, None, 200)
    assert c3.text.startswith("withheld / 200 ")


def test_mdt_cadence_covers_a_neighbourhood_whole_or_not_at_all() -> None:
    north = measure(SPEC.element("C5"), NORTH, PROVIDER, AS_OF)
    south = measure(SPEC.element("C5"), SOUTH, PROVIDER, AS_OF)
    assert north is not None and south is not None
    assert (north.percent, north.numerator, north.denominator) == (100.0, 30_000, 30_000)
    assert (south.percent, south.numerator) == (0.0, 0)
    assert "at least 3 times in the 90 days" in north.rule


def test_continuity_counts_the_people_with_high_continuity_not_whole_practices() -> None:
    """Issue 13: A7 read 100% everywhere when it counted whole practices whose mean UPC was at
    least 0.5. It counts people: of the patients with 3 or more GP consultations at the area's
    practices, those whose own UPC is 0.75 or more."""
    a7 = measure(SPEC.element("A7"), NORTH, PROVIDER, AS_OF)
    assert a7 is not None
    assert (a7.numerator, a7.denominator, a7.percent) == (690, 1500, 46.0)
    assert "3 or more GP consultations" in a7.rule and "UPC, 0.75 or more" in a7.rule
    assert a7.text.startswith("690 / 1,500 patients with 3 or more GP consultations")


def test_keeping_well_sums_the_neighbourhoods_practices_for_p2_and_p4() -> None:
    provider = FakeMeasures(
        care=None,
        keeping=[
            PracticeKeepingWell("P1", navigations=60, to_directory=45, discharged=30,
                                discharged_with_outcomes=20),
            PracticeKeepingWell("P2", navigations=40, to_directory=15, discharged=10,
                                discharged_with_outcomes=10),
            PracticeKeepingWell("P3", navigations=500, to_directory=500, discharged=3,
                                discharged_with_outcomes=0),
        ],
    )  # fmt: skip
    p2 = measure(SPEC.element("P2"), NORTH, provider, AS_OF)
    assert p2 is not None and (p2.numerator, p2.denominator, p2.percent) == (60, 100, 60.0)
    assert "went to a community service in the directory" in p2.rule
    p4 = measure(SPEC.element("P4"), NORTH, provider, AS_OF)
    assert p4 is not None and (p4.numerator, p4.denominator, p4.percent) == (30, 40, 75.0)
    south = measure(SPEC.element("P4"), SOUTH, provider, AS_OF)
    assert south is not None and (south.numerator, south.denominator) == (0, None)
    assert measure(SPEC.element("P2"), NORTH, FakeMeasures(care=None), AS_OF) is None


def test_same_day_access_sums_the_neighbourhoods_practices_for_a5() -> None:
    provider = FakeMeasures(
        care=None,
        same=[
            PracticeSameDay("P1", booked_same_day=430, with_booking_date=1_000),
            PracticeSameDay("P2", booked_same_day=170, with_booking_date=500),
            PracticeSameDay("P3", booked_same_day=9_000, with_booking_date=9_000),
        ],
    )
    a5 = measure(SPEC.element("A5"), NORTH, provider, AS_OF)
    assert a5 is not None and (a5.numerator, a5.denominator, a5.percent) == (600, 1_500, 40.0)
    assert "booked the day they took place" in a5.rule and "90 days" in a5.rule
    assert measure(SPEC.element("A5"), NORTH, FakeMeasures(care=None), AS_OF) is None
    assert measure(SPEC.element("A5"), CCG, provider, AS_OF) is None


def test_typed_elements_unmeasured_areas_and_missing_data_are_not_measured() -> None:
    assert measure(SPEC.element("A1"), NORTH, PROVIDER, AS_OF) is None
    assert measure(SPEC.element("C1"), CCG, PROVIDER, AS_OF) is None
    assert measure(SPEC.element("C1"), NORTH, FakeMeasures(care=None), AS_OF) is None


def record(
    area: str,
    element: str,
    quarter: str,
    planned: float | None,
    actual: float | None,
    version: int = 1,
) -> SubmissionRecord:
    return SubmissionRecord(area, element, Q(quarter), version, planned, actual, "", "form",
                            dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "test")  # fmt: skip


def test_the_tracker_measures_only_the_current_quarter_and_keeps_typed_history() -> None:
    asked: list[dt.date] = []
    provider = FakeMeasures(care=PROVIDER.care, practices=PROVIDER.practices, asked=asked)
    records = [
        record("NBH01", "C1", "2026-27 Q2", 50, 40),  # a measured snapshot of a closed quarter
        record("NBH01", "C1", "2026-27 Q3", 70, None),
    ]
    tracker = Tracker(SPEC, [NORTH, SOUTH], records, provider, AS_OF)
    trajectory = tracker.trajectory(NORTH, SPEC.element("C1"))
    by_quarter = {str(c.quarter): c for c in trajectory.cells}
    assert (by_quarter["2026-27 Q2"].actual, by_quarter["2026-27 Q2"].measured) == (40, False)
    assert (by_quarter["2026-27 Q3"].actual, by_quarter["2026-27 Q3"].measured) == (75.0, True)
    assert by_quarter["2026-27 Q3"].rag.status == "green"  # 75 measured ≥ 70 planned
    assert by_quarter["2026-27 Q4"].actual is None
    assert set(asked) == {AS_OF}


def test_the_tracker_aggregates_and_lists_late_plans() -> None:
    records = [
        record("NBH01", "A1", "2026-27 Q3", 60, 50),
        record("NBH02", "A1", "2026-27 Q3", 60, 70),
        record("NBH01", "A1", "2027-28 Q4", 95, None),  # reaches 90% two quarters late
        record("NBH02", "A1", "2027-28 Q1", 90, None),
    ]
    tracker = Tracker(SPEC, [NORTH, SOUTH], records, None, AS_OF)
    aggregate = tracker.aggregate(SPEC.element("A1"), Q("2026-27 Q3"))
    assert (aggregate.actual.percent, aggregate.planned.percent) == (55.0, 60.0)
    assert aggregate.rag.status == "amber"
    late = [(a.code, e.id, f.milestone.percent) for a, e, f in tracker.late_plans()]
    assert late == [("NBH01", "A1", 90), ("NBH01", "A1", 100), ("NBH02", "A1", 100)]


def test_a_suppressed_area_counts_as_reported_in_the_aggregate() -> None:
    """Issue 13: C3 in one area was withheld as a small count and the board's "N of M
    reported" left it out. North's agreed plans (4 of 200) are withheld; South's (0 of 50)
    are published: both reported, the mean over South's published figure only."""
    tracker = Tracker(SPEC, [NORTH, SOUTH], [], PROVIDER, AS_OF)
    assert tracker.cell(NORTH, SPEC.element("C3"), Q("2026-27 Q3")).rag.status == "suppressed"
    both = tracker.aggregate(SPEC.element("C3"), Q("2026-27 Q3"))
    assert (both.actual.areas_reporting, both.actual.areas_suppressed) == (2, 1)
    assert both.actual.percent == 0.0
    alone = Tracker(SPEC, [NORTH], [], PROVIDER, AS_OF).aggregate(
        SPEC.element("C3"), Q("2026-27 Q3")
    )
    assert (alone.actual.areas_reporting, alone.actual.percent) == (1, None)
    assert (alone.rag.status, alone.rag.label) == ("suppressed", "Suppressed")
    # A figure never reported is still not reported.
    typed = tracker.aggregate(SPEC.element("A1"), Q("2026-27 Q3"))
    assert (typed.actual.areas_reporting, typed.rag.status) == (0, "not_reported")


def test_extended_hours_count_a_neighbourhood_whose_hubs_meet_both_tests() -> None:
    """A4: 60 minutes per 1,000 patients and 8am-8pm on all seven days, or none of it."""
    monday = dt.date(2026, 11, 16)
    weeks = [
        # NBH01: 1,000 patients, 84 hours covered, 60 minutes: met.
        PcnWeek("NBH01", "North", monday, 60, 1_000, 84.0, 15.5),
        # NBH02: plenty of minutes, but the hub closes on Sundays (72 hours): not met.
        PcnWeek("NBH02", "South", monday, 5_000, 1_000, 72.0, 15.5),
    ]
    provider = FakeMeasures(care=None, weeks=weeks)
    north = measure(SPEC.element("A4"), NORTH, provider, AS_OF)
    south = measure(SPEC.element("A4"), SOUTH, provider, AS_OF)
    assert north is not None and south is not None
    assert (north.percent, north.numerator, north.denominator) == (100.0, 30_000, 30_000)
    assert (south.percent, south.numerator) == (0.0, 0)
    assert "at least 60 minutes per 1,000 patients" in north.rule
    short = [PcnWeek("NBH01", "North", monday, 59, 1_000, 84.0, 15.5)]
    assert measure(SPEC.element("A4"), NORTH, FakeMeasures(care=None, weeks=short), AS_OF) == (
        measure(SPEC.element("A4"), SOUTH, provider, AS_OF)
    ).__class__(0.0, 0, 30_000, north.rule, north.source, AS_OF)
    assert measure(SPEC.element("A4"), NORTH, FakeMeasures(care=None), AS_OF) is None
