"""The alert-effectiveness ledger on a small history built by hand: every figure below was
worked out on paper from the alerts and outcomes listed here (ADR 0026)."""

from __future__ import annotations

import datetime as dt

import pytest
from statsmodels.stats.proportion import proportion_confint

from joinedup.neighbourhood import alerts, ledger, news2
from joinedup.neighbourhood.ledger import AlertFact, Outcome, PersonGroups, Proportion

RULES = alerts.load_rules()
UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


FACTS = [
    # NEWS2 5–6 (target 60 min): acknowledged at 20 min, acted on at 50, changed management.
    AlertFact("news2-medium", 1, at(1, 10), at(1, 10, 20), at(1, 10, 50), at(1, 11), True),
    # acknowledged late (90 min), never acted on, closed as nothing changed.
    AlertFact("news2-medium", 2, at(2, 8), at(2, 9, 30), None, at(2, 10), False),
    # NEWS2 ≥ 7 (target 0: immediately): acknowledged after 5 minutes is late.
    AlertFact("news2-high", 1, at(3, 12), at(3, 12, 5), at(3, 12, 10), at(3, 13), True),
    # a missed reading nobody acknowledged.
    AlertFact("missed-reading", 3, at(4, 9)),
]
OUTCOMES = [
    Outcome(1, "admission", dt.date(2026, 3, 4)),  # within 48 h of the NEWS2 7, not of the 5
    Outcome(2, "ae", dt.date(2026, 3, 2)),  # the same day as person 2's alert
    Outcome(3, "death", dt.date(2026, 3, 7)),  # three days after the missed reading: outside
]
PEOPLE = {
    1: PersonGroups(dt.date(1940, 5, 1), "F", 2, "White"),  # 85 on 3 March 2026
    2: PersonGroups(dt.date(1960, 1, 1), "M", 9, "Asian"),  # 66
}


@pytest.fixture(scope="module")
def rows() -> dict[str, ledger.RuleLedger]:
    built = ledger.build_ledger(
        FACTS, rules=RULES, patient_days=20.0, outcomes=OUTCOMES, people=PEOPLE
    )
    return {r.rule_id: r for r in built.rules}


def test_response_times_against_each_rules_target(rows: dict[str, ledger.RuleLedger]) -> None:
    medium = rows["news2-medium"]
    assert (medium.fired, medium.per_patient_day, medium.target_minutes) == (2, 0.1, 60)
    assert medium.acknowledged_in_time == Proportion(1, 2)
    assert medium.median_minutes_to_acknowledge == 55  # (20 + 90) / 2
    assert (medium.actioned, medium.actioned_in_time) == (1, Proportion(1, 2))
    assert medium.median_minutes_to_action == 50
    high = rows["news2-high"]
    assert high.acknowledged_in_time == Proportion(0, 1)  # 5 minutes against "immediately"
    missed = rows["missed-reading"]
    assert (missed.acknowledged, missed.acknowledged_in_time) == (0, Proportion(0, 1))
    assert missed.median_minutes_to_acknowledge is None
    everything = rows[ledger.ALL_RULES]
    assert (everything.fired, everything.per_patient_day) == (4, 0.2)
    # each alert against its own rule's target: only the first was acknowledged in time
    assert everything.acknowledged_in_time == Proportion(1, 4)
    assert everything.actioned_in_time == Proportion(1, 4)


def test_management_false_alarms_and_what_followed(rows: dict[str, ledger.RuleLedger]) -> None:
    medium = rows["news2-medium"]
    assert medium.changed_management == Proportion(1, 2)
    # the unchanged alert was followed by A&E the same day: not a false alarm
    assert medium.false_alarms == Proportion(0, 2)
    assert medium.followed_by == {"admission": 0, "ae": 1, "death": 0}
    assert rows["news2-high"].followed_by == {"admission": 1, "ae": 0, "death": 0}
    assert rows["missed-reading"].followed_by == {"admission": 0, "ae": 0, "death": 0}
    assert rows[ledger.ALL_RULES].closed == 3
    assert rows[ledger.ALL_RULES].changed_management == Proportion(2, 3)


def test_ppv_for_admission_overall_and_by_group(rows: dict[str, ledger.RuleLedger]) -> None:
    assert rows["news2-medium"].ppv_admission == Proportion(0, 2)
    assert rows["news2-high"].ppv_admission == Proportion(1, 1)
    everything = rows[ledger.ALL_RULES]
    assert everything.ppv_admission == Proportion(1, 4)
    assert everything.by_group["sex"] == {
        "female": Proportion(1, 2),
        "male": Proportion(0, 1),
        "not known": Proportion(0, 1),
    }
    assert everything.by_group["age_band"]["85 and over"] == Proportion(1, 2)
    assert everything.by_group["age_band"]["65–74"] == Proportion(0, 1)
    assert everything.by_group["deprivation"]["1 (most deprived)"] == Proportion(1, 2)
    assert everything.by_group["deprivation"]["5 (least deprived)"] == Proportion(0, 1)
    assert everything.by_group["ethnicity"]["White"] == Proportion(1, 2)


@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 4), (8, 10), (10, 10), (37, 212)])
def test_wilson_interval_matches_an_independent_implementation(x: int, n: int) -> None:
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert ledger.wilson(x, n) == pytest.approx((low, high), abs=1e-9)


def test_wilson_published_values() -> None:
    # Newcombe (1998), Table I: 81/263 → 0.2553 to 0.3662; 15/148 → 0.0624 to 0.1605
    assert ledger.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert ledger.wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert ledger.wilson(0, 0) is None


def test_published_ledger_withholds_small_numbers() -> None:
    many = [AlertFact("news2-medium", 1, at(1, 10) + dt.timedelta(hours=h)) for h in range(12)]
    built = ledger.build_ledger(
        [*many, *FACTS],
        rules=RULES,
        patient_days=20.0,
        outcomes=OUTCOMES,
        people=PEOPLE,
    )
    shown = {r.rule_id: r for r in ledger.publish(built).rules}
    assert shown["news2-medium"].fired == 15  # 14 rounded to the nearest 5
    assert shown["news2-medium"].per_patient_day == 0.75  # from the published count
    assert shown["news2-high"].fired is None  # 1 is withheld
    assert shown["news2-high"].ppv_admission.interval is None
    assert shown["news2-medium"].median_minutes_to_acknowledge is None  # 2 acknowledged
    assert shown["news2-medium"].ppv_admission == Proportion(0, 15)


def scored(day: int, observations: news2.Observations) -> alerts.ScoredSet:
    return alerts.ScoredSet(at(day, 8), news2.score(observations))


ONE = news2.Observations(18, 97, False, 125, 72, "A", 38.5)  # temperature 38.5 → NEWS2 1
FIVE = news2.Observations(22, 94, False, 125, 95, "A", 38.5)  # 2 + 1 + 1 + 1 → NEWS2 5


def test_rules_compared_on_the_same_history() -> None:
    """Person 1 deteriorates from a steady 1 to 5 and is admitted the next day; person 2 sits
    at a steady 5 (their usual) and is never admitted. NEWS2 ≥ 5 alarms five times to warn of
    the one admission; the personal baseline alarms once, on the deterioration."""
    assert news2.score(ONE).total == 1 and news2.score(FIVE).total == 5
    stays = [
        ledger.Stay(
            1, at(1, 0), None, tuple(scored(d, ONE if d < 4 else FIVE) for d in (1, 2, 3, 4))
        ),
        ledger.Stay(2, at(1, 0), None, tuple(scored(d, FIVE) for d in (1, 2, 3, 4))),
    ]
    compared = ledger.compare_rules(
        stays,
        ledger.CANDIDATES[:2],
        rules=RULES,
        start=at(1, 0),
        end=at(8, 0),
        patient_days=14.0,
        outcomes=[Outcome(1, "admission", dt.date(2026, 3, 5))],
    )
    fixed, personal = compared
    assert (fixed.alarms, fixed.ppv_admission, fixed.admissions_warned) == (
        5,
        Proportion(1, 5),
        Proportion(1, 1),
    )
    assert fixed.per_patient_day == pytest.approx(5 / 14)
    assert (personal.alarms, personal.ppv_admission, personal.admissions_warned) == (
        1,
        Proportion(1, 1),
        Proportion(1, 1),
    )


def test_an_admission_with_no_alarm_before_it_is_missed() -> None:
    stays = [ledger.Stay(1, at(1, 0), None, tuple(scored(d, ONE) for d in (1, 2, 3)))]
    (fixed,) = ledger.compare_rules(
        stays,
        ledger.CANDIDATES[:1],
        rules=RULES,
        start=at(1, 0),
        end=at(8, 0),
        patient_days=7.0,
        outcomes=[
            Outcome(1, "admission", dt.date(2026, 3, 5)),
            # the ward's discharge to hospital of the same admission counts once
            Outcome(1, "admission", at(5, 14)),
        ],
    )
    assert (fixed.alarms, fixed.admissions_warned) == (0, Proportion(0, 1))
