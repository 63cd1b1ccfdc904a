"""Virtual-ward alert rules on hand-written histories: thresholds, red scores, rises (exactly 24 h,
exactly 2 points), missed readings (the grace edge), the personal baseline, and the YAML check."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import yaml

from joinedup.neighbourhood.alerts import (
    RULES_FILE,
    AlertRulesError,
    RuleSet,
    Schedule,
    ScoredSet,
    evaluate,
    load_rules,
    parse_rules,
)
from joinedup.neighbourhood.news2 import Observations, score

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NORMAL = dict(
    resp_rate=16,
    spo2=97,
    on_oxygen=False,
    systolic_bp=120,
    pulse=70,
    consciousness="A",
    temperature=37.0,
)
# Sets with a known total, worked by hand from the chart (none has a red score).
TOTALS: dict[int, dict[str, Any]] = {
    0: {},
    1: {"pulse": 91},
    2: {"resp_rate": 21},
    3: {"resp_rate": 21, "pulse": 91},
    4: {"resp_rate": 21, "pulse": 111},
    5: {"resp_rate": 21, "pulse": 111, "temperature": 38.1},
    6: {"resp_rate": 21, "pulse": 111, "temperature": 39.1},
    7: {"resp_rate": 21, "pulse": 111, "temperature": 39.1, "spo2": 95},
}
RULES = load_rules()


def at(hours: float, total: int | None = None, **changes: Any) -> ScoredSet:
    values = {**NORMAL, **(TOTALS[total] if total is not None else {}), **changes}
    result = score(Observations(**values))
    assert total is None or result.total in (total, None)  # None: a parameter left out
    return ScoredSet(T0 + hours * HOUR, result)


def fired(history, schedules=(), *, now=None, **options) -> list[tuple[str, dt.datetime]]:
    now = now or T0 + 200 * HOUR
    return [
        (a.rule_id, a.fired_at) for a in evaluate(RULES, history, schedules, now=now, **options)
    ]


# --- thresholds and red scores --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "expected"),
    [(4, []), (5, ["news2-medium"]), (6, ["news2-medium"]), (7, ["news2-high"])],
)
def test_news2_thresholds(total: int, expected: list[str]):
    assert [rule for rule, _ in fired([at(0, total)])] == expected


def test_due_by_and_escalation_come_from_the_rule():
    [medium] = evaluate(RULES, [at(0, 5)], now=T0 + HOUR)
    assert medium.due_by == T0 + HOUR and medium.escalate_to == ("nurse", "gp")
    assert "NEWS2 5 (medium clinical risk)" in medium.reason
    [high] = evaluate(RULES, [at(0, 7)], now=T0)
    assert high.due_by == high.fired_at == T0  # immediately


def test_a_red_score_with_a_low_total_fires_and_a_higher_band_supersedes_it():
    [red] = evaluate(RULES, [at(0, resp_rate=25)], now=T0)  # 3 alone: total 3
    assert red.rule_id == "news2-red-score" and red.due_by == T0 + HOUR
    assert "3 for respiration rate" in red.reason
    # 25/min (3) + pulse 111 (2) = 5 with a red score: medium only, one alert for one concern
    assert fired([at(0, resp_rate=25, pulse=111)]) == [("news2-medium", T0)]


def test_an_incomplete_set_can_fire_a_red_score_but_nothing_on_a_total():
    missing_rr = at(0, resp_rate=None, consciousness="C", pulse=111, temperature=39.1)
    assert missing_rr.result.total is None and missing_rr.result.partial_sum == 7
    assert fired([missing_rr]) == [("news2-red-score", T0)]


# --- rises ----------------------------------------------------------------------------------------


def test_a_rise_of_exactly_2_within_exactly_24_hours_fires():
    assert fired([at(0, 0), at(24, 2)]) == [("news2-rise", T0 + 24 * HOUR)]


def test_a_rise_after_more_than_24_hours_or_of_1_does_not():
    just_over = T0 + 24 * HOUR + dt.timedelta(seconds=1)
    later = ScoredSet(just_over, at(0, 2).result)
    assert fired([at(0, 0), later]) == []
    assert fired([at(0, 1), at(10, 2)]) == []


def test_a_rise_is_measured_from_the_lowest_complete_total_in_the_window():
    history = [at(0, 3), at(5, 1), at(10, 2), at(12, 3)]
    assert fired(history) == [("news2-rise", T0 + 12 * HOUR)]  # 3 is 2 above the 1 at 5 h
    incomplete_low = at(5, 0, resp_rate=None)
    assert fired([at(0, 3), incomplete_low, at(12, 4)]) == []  # the incomplete 0 is no total


def test_a_rise_into_the_medium_band_is_one_medium_alert():
    assert fired([at(0, 2), at(6, 5)]) == [("news2-medium", T0 + 6 * HOUR)]


# --- missed readings ------------------------------------------------------------------------------

SCHEDULE = Schedule(
    what=frozenset({"spo2", "pulse", "temperature"}),
    every=4 * HOUR,
    grace=HOUR,
    start=T0,
)


def test_a_missed_reading_fires_just_after_due_plus_grace():
    history = [at(4, 0)]  # on time; the next is due at 8 h, late after 9 h
    assert fired(history, [SCHEDULE], now=T0 + 9 * HOUR) == []  # the grace edge itself
    after = T0 + 9 * HOUR + dt.timedelta(seconds=1)
    [missed] = evaluate(RULES, history, [SCHEDULE], now=after)
    assert (missed.rule_id, missed.fired_at) == ("missed-reading", T0 + 9 * HOUR)
    assert missed.due_by == T0 + 11 * HOUR and missed.set_time is None
    assert "due 02 Nov 16:00" in missed.reason


def test_a_reading_at_exactly_due_plus_grace_is_on_time():
    assert fired([at(4, 0), at(9, 0)], [SCHEDULE], now=T0 + 10 * HOUR) == []


def test_each_missed_reading_is_its_own_event_and_the_schedule_restarts_on_a_reading():
    history = [at(14, 0)]  # due at 4, 8 and 12 h: each late an hour later, before 14 h
    assert fired(history, [SCHEDULE], now=T0 + 18 * HOUR) == [
        ("missed-reading", T0 + 5 * HOUR),
        ("missed-reading", T0 + 9 * HOUR),
        ("missed-reading", T0 + 13 * HOUR),
    ]  # and after 14 h the next is due at 18 h, late only after 19 h


def test_a_set_lacking_a_scheduled_parameter_does_not_count():
    no_temperature = at(4, 0, temperature=None)
    assert fired([no_temperature], [SCHEDULE], now=T0 + 5.5 * HOUR) == [
        ("missed-reading", T0 + 5 * HOUR)
    ]


def test_schedules_must_make_sense():
    with pytest.raises(ValueError):
        Schedule(frozenset({"weight"}), HOUR, HOUR, T0)
    with pytest.raises(ValueError):
        Schedule(frozenset({"pulse"}), dt.timedelta(0), HOUR, T0)


# --- the personal baseline, compared on the same history ------------------------------------------


def test_the_personal_baseline_rule_compared_with_the_fixed_rules():
    history = [at(0, 1), at(24, 1), at(47, 2), at(72, 4)]  # median 1 before, then 4
    assert fired(history) == []  # 4 is low risk, and no set in the 24 h before it to rise from
    baseline = fired(history, only=["baseline-rise"])
    assert baseline == [("baseline-rise", T0 + 72 * HOUR)]
    assert fired([*history[:3], at(72, 3)], only=["baseline-rise"]) == []  # 2 above: under 3
    assert fired(history[2:], only=["baseline-rise"]) == []  # fewer than 3 sets of baseline


def test_since_keeps_only_new_alerts():
    history = [at(0, 5), at(2, 7)]
    assert fired(history, since=T0) == [("news2-high", T0 + 2 * HOUR)]


def test_on_sets_judges_only_those_sets_against_all_before_them():
    history = [at(0, 1), at(5, 3), at(10, 5), at(20, 7), at(30, 2), at(40, 4)]
    rules = ["news2-high", "news2-medium", "news2-rise", "baseline-rise"]
    every = fired(history, only=rules)
    assert {when for _, when in every} >= {T0 + 10 * HOUR, T0 + 20 * HOUR, T0 + 40 * HOUR}
    for chosen in ({T0 + 10 * HOUR}, {T0 + 20 * HOUR, T0 + 40 * HOUR}, set()):
        assert fired(history, only=rules, on_sets=chosen) == [
            (rule, when) for rule, when in every if when in chosen
        ]


def test_the_lookback_is_the_longest_window_of_the_enabled_rules():
    assert RULES.lookback() == dt.timedelta(hours=24)  # the rise; the baseline is disabled
    enabled = RuleSet(
        version=1,
        rules=tuple(r.model_copy(update={"enabled": True}) for r in RULES.rules),
    )
    assert enabled.lookback() == dt.timedelta(days=7)


# --- the rules file -------------------------------------------------------------------------------


def _shipped() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text())


def test_the_shipped_rules_hold_what_the_issue_asks():
    ids = {r.id: r for r in RULES.rules}
    assert ids["news2-medium"].respond_within_minutes == 60
    assert ids["news2-red-score"].respond_within_minutes == 60
    assert ids["news2-high"].respond_within_minutes == 0
    assert (ids["news2-rise"].points, ids["news2-rise"].within_hours) == (2, 24)
    assert not ids["baseline-rise"].enabled


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["rules"][0].update(colour="red"), "rules.0.news2_total.colour"),
        (lambda d: d["rules"][1].update(escalate_to=["matron"]), "'matron', which is not a role"),
        (lambda d: d["rules"][1].update(id="news2-high"), "'news2-high' is used more than once"),
        (lambda d: d["rules"][2].update(superseded_by=["nope"]), "'nope', which is not a rule"),
        (lambda d: d["rules"][1].update(min_total=6, max_total=5), "above max_total"),
        (lambda d: d["rules"][3].pop("points"), "rules.3.rise.points"),
        (lambda d: d["rules"][3].update(kind="sometimes"), "rules.3"),
        (lambda d: d["rules"][0].update(respond_within_minutes=-5), "respond_within_minutes"),
        (lambda d: d.update(version=2), "version"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_problem(change, fragment: str):
    data = copy.deepcopy(_shipped())
    change(data)
    with pytest.raises(AlertRulesError, match="alert rules") as refused:
        parse_rules(data)
    assert fragment in str(refused.value)


def test_an_unreadable_rules_file_is_one_clear_error(tmp_path):
    broken = tmp_path / "rules.yaml"
    broken.write_text("rules: [unclosed\n")
    with pytest.raises(AlertRulesError, match=r"rules\.yaml cannot be read"):
        load_rules(broken)
