"""NEWS2 held to the RCP chart as transcribed in ../shared/reference/news2/news2_chart.json.

The chart is the oracle: every band edge of every parameter is read from the JSON here, and a
plain re-reading of the chart (`chart_*` below, written from the JSON alone) is the property the
scorer must agree with on random sets.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.neighbourhood.news2 import (
    ImplausibleObservations,
    Observations,
    Scale2Decision,
    score,
)
from tests.conftest import SHARED

CHART_PATH = SHARED / "reference/news2/news2_chart.json"
# chart row → our parameter
BANDED = {
    "respiration_rate": "resp_rate",
    "systolic_bp": "systolic_bp",
    "pulse": "pulse",
    "temperature_c": "temperature",
}
NORMAL = Observations(
    resp_rate=16,
    spo2=97,
    on_oxygen=False,
    systolic_bp=120,
    pulse=70,
    consciousness="A",
    temperature=37.0,
)
DECISION = Scale2Decision("Dr A Example", dt.datetime(2026, 11, 2, 9, 30))


def _chart() -> dict[str, Any]:
    # Read at import to parametrise the tests; test_the_chart_is_there fails if it is absent.
    return json.loads(CHART_PATH.read_text()) if CHART_PATH.exists() else {}


CHART = _chart()


def with_(**changes: Any) -> Observations:
    return Observations(**{**NORMAL.__dict__, **changes})


def edges(row: str) -> list[tuple[float, int]]:
    """(value, chart score) at every printed edge of a chart row."""
    return [
        (band[key], band["score"])
        for band in CHART.get(row, [])
        for key in ("min", "max")
        if key in band
    ]


# --- a plain re-reading of the chart -----------------------------------------------------------


def chart_band(row: str, value: float, on: str | None = None) -> int:
    matches = [
        band["score"]
        for band in CHART[row]
        if band.get("on", on) == on
        and band.get("min", float("-inf")) <= value <= band.get("max", float("inf"))
    ]
    assert len(matches) == 1, (row, value, on, matches)
    return matches[0]


def chart_scores(obs: Observations, scale2: bool) -> dict[str, int]:
    on = "oxygen" if obs.on_oxygen else "air"
    return {
        "resp_rate": chart_band("respiration_rate", obs.resp_rate),
        "spo2": chart_band("spo2_scale2" if scale2 else "spo2_scale1", obs.spo2, on),
        "on_oxygen": CHART["air_or_oxygen"][on],
        "systolic_bp": chart_band("systolic_bp", obs.systolic_bp),
        "pulse": chart_band("pulse", obs.pulse),
        "consciousness": CHART["consciousness"][obs.consciousness],
        "temperature": chart_band("temperature_c", obs.temperature),
    }


def chart_risk(total: int, red: bool) -> str:
    """The chart's clinical_risk rules: an aggregate band above 0–4 wins over a red score."""
    for rule in CHART["clinical_risk"]:
        text = rule["rule"]
        if (m := re.fullmatch(r"aggregate (\d+)-(\d+)", text)) and int(m[1]) <= total <= int(m[2]):
            aggregate = rule["risk"]
            break
        if (m := re.fullmatch(r"aggregate (\d+)", text)) and total == int(m[1]):
            aggregate = rule["risk"]
            break
        if (m := re.fullmatch(r"aggregate (\d+) or more", text)) and total >= int(m[1]):
            aggregate = rule["risk"]
            break
    red_rule = next(r["risk"] for r in CHART["clinical_risk"] if r["rule"].startswith("red"))
    return red_rule if red and aggregate == "low" else aggregate


# --- every band edge -----------------------------------------------------------------------------


def test_the_chart_is_there(shared_dir: Path):
    assert (shared_dir / "reference/news2/news2_chart.json").is_file()
    assert CHART, "the NEWS2 chart could not be read"


@pytest.mark.parametrize(
    ("row", "value", "expected"),
    [(row, value, points) for row in BANDED for value, points in edges(row)],
)
def test_every_band_edge_scores_as_the_chart(row: str, value: float, expected: int):
    parameter = BANDED[row]
    result = score(with_(**{parameter: value}))
    assert result.sub_scores[parameter] == expected


@pytest.mark.parametrize(("value", "expected"), edges("spo2_scale1"))
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale1_edges_on_air_and_oxygen(value: float, expected: int, on_oxygen: bool):
    result = score(with_(spo2=value, on_oxygen=on_oxygen))
    assert result.sub_scores["spo2"] == expected
    assert (
        result.sub_scores["on_oxygen"] == CHART["air_or_oxygen"]["oxygen" if on_oxygen else "air"]
    )


@pytest.mark.parametrize(
    ("value", "on", "expected"),
    [
        (band[key], on, band["score"])
        for band in CHART.get("spo2_scale2", [])
        for key in ("min", "max")
        if key in band
        for on in (["air", "oxygen"] if "on" not in band else [band["on"]])
    ],
)
def test_spo2_scale2_edges_need_the_recorded_decision(value: float, on: str, expected: int):
    result = score(with_(spo2=value, on_oxygen=on == "oxygen"), scale2=DECISION)
    assert result.sub_scores["spo2"] == expected
    assert result.scale == 2 and "Dr A Example" in result.scale_note


@pytest.mark.parametrize(("level", "expected"), sorted(CHART.get("consciousness", {}).items()))
def test_each_acvpu_level(level: str, expected: int):
    assert score(with_(consciousness=level)).sub_scores["consciousness"] == expected


# --- published worked cases (NEXT_DOMAINS.md §1.3) and the risk bands -------------------------


def test_worked_cases():
    assert (score(NORMAL).total, score(NORMAL).risk) == (0, "low")
    assert score(NORMAL).response is not None and "12 hours" in score(NORMAL).response
    rr25 = score(with_(resp_rate=25))
    assert (rr25.total, rr25.red_score, rr25.risk) == (3, True, "low-medium")
    confused = score(with_(consciousness="C"))
    assert (confused.total, confused.red_score, confused.risk) == (3, True, "low-medium")
    assert score(with_(spo2=90), scale2=DECISION).total == 0
    wrongly_scale1 = score(with_(spo2=90))
    assert (wrongly_scale1.total, wrongly_scale1.red_score) == (3, True)
    hypercapnic_on_o2 = score(with_(spo2=97, on_oxygen=True), scale2=DECISION)
    assert (hypercapnic_on_o2.total, hypercapnic_on_o2.risk) == (5, "medium")
    unwell = score(
        Observations(24, 93, True, 98, 115, "A", 38.6),
    )
    assert (unwell.total, unwell.risk) == (11, "high")


def test_the_maximum_is_twenty():
    worst = score(Observations(8, 83, True, 90, 40, "U", 35.0), scale2=DECISION)
    assert worst.total == 20 and worst.risk == "high"


@pytest.mark.parametrize(
    ("changes", "total", "risk", "red"),
    [
        ({"resp_rate": 21}, 2, "low", False),  # 2 is not a red score
        ({"resp_rate": 21, "pulse": 111}, 4, "low", False),
        ({"temperature": 35.0, "pulse": 91}, 4, "low-medium", True),  # red with total < 5
        ({"resp_rate": 21, "pulse": 111, "temperature": 38.1}, 5, "medium", False),
        ({"systolic_bp": 220, "resp_rate": 21, "temperature": 38.1}, 6, "medium", True),
        ({"resp_rate": 25, "pulse": 111, "temperature": 39.1}, 7, "high", True),
    ],
)
def test_risk_band_boundaries(changes: dict[str, Any], total: int, risk: str, red: bool):
    result = score(with_(**changes))
    assert (result.total, result.red_score) == (total, red)
    assert result.risk == risk == chart_risk(total, red)


def test_the_responses_follow_the_band():
    assert "hourly" in score(with_(resp_rate=25)).response  # red score: hourly, urgent ward
    assert "urgent" in score(with_(resp_rate=21, pulse=111, temperature=38.1)).response
    assert "Emergency" in score(with_(resp_rate=25, pulse=111, temperature=39.1)).response


# --- Scale 2 only by a recorded decision -------------------------------------------------------


def test_without_a_decision_scale1_is_used_and_said():
    result = score(with_(spo2=88))
    assert result.scale == 1 and result.sub_scores["spo2"] == 3
    assert "no recorded Scale 2 decision" in result.scale_note


def test_oxygen_scores_two_on_both_scales():
    assert score(with_(on_oxygen=True)).sub_scores["on_oxygen"] == 2
    assert score(with_(spo2=90, on_oxygen=True), scale2=DECISION).sub_scores["on_oxygen"] == 2


def test_scale2_at_93_or_more_needs_air_or_oxygen():
    result = score(with_(spo2=95, on_oxygen=None), scale2=DECISION)
    assert "spo2" not in result.sub_scores and result.missing == ("on_oxygen",)
    assert result.total is None


@pytest.mark.parametrize(
    ("who", "low", "high"), [("", 88, 92), ("Dr B", 92, 88), ("Dr B", 0, 92), ("Dr B", 88, 101)]
)
def test_a_decision_must_name_who_and_a_real_range(who: str, low: int, high: int):
    with pytest.raises(ValueError):
        Scale2Decision(who, None, low, high)


# --- incomplete sets and impossible values -----------------------------------------------------


def test_an_incomplete_set_is_never_a_full_news2():
    result = score(with_(resp_rate=None, consciousness=None, pulse=131))
    assert not result.complete
    assert result.missing == ("resp_rate", "consciousness")
    assert result.partial_sum == 3 and result.red_score  # the measured pulse still scores 3
    assert (result.total, result.risk, result.response) == (None, None, None)
    assert "respiration rate, consciousness (ACVPU) missing" in result.describe()
    assert "not a NEWS2" in result.describe()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"spo2": 101}, "SpO2 101"),
        ({"pulse": 0}, "pulse 0"),
        ({"pulse": 400}, "pulse 400"),
        ({"temperature": 50}, "temperature 50"),
        ({"resp_rate": 0}, "respiration rate 0"),
        ({"systolic_bp": 500}, "systolic blood pressure 500"),
        ({"temperature": float("nan")}, "temperature nan"),
        ({"consciousness": "X"}, "not an ACVPU level"),
    ],
)
def test_impossible_values_are_refused_with_their_reason(changes: dict[str, Any], fragment: str):
    with pytest.raises(ImplausibleObservations) as refused:
        score(with_(**changes))
    assert fragment in str(refused.value)


def test_every_impossible_value_is_named():
    with pytest.raises(ImplausibleObservations) as refused:
        score(with_(spo2=101, pulse=0))
    assert len(refused.value.problems) == 2


def test_measurements_are_read_at_the_charts_precision():
    assert score(with_(temperature=35.05)).sub_scores["temperature"] == 1  # read as 35.1
    assert score(with_(temperature=35.04)).sub_scores["temperature"] == 3  # read as 35.0
    assert score(with_(temperature=38.05)).sub_scores["temperature"] == 1  # read as 38.1
    assert score(with_(pulse=90.5)).sub_scores["pulse"] == 1  # read as 91
    assert score(with_(pulse=90.4)).sub_scores["pulse"] == 0


# --- the property: agree with the plain re-reading of the chart --------------------------------

sets = st.builds(
    Observations,
    resp_rate=st.integers(1, 80),
    spo2=st.integers(50, 100),
    on_oxygen=st.booleans(),
    systolic_bp=st.integers(40, 300),
    pulse=st.integers(20, 300),
    consciousness=st.sampled_from("ACVPU"),
    temperature=st.integers(250, 450).map(lambda tenths: tenths / 10),
)


@settings(max_examples=400, deadline=None)
@given(sets, st.booleans())
def test_agrees_with_the_chart_on_any_complete_set(obs: Observations, on_scale2: bool):
    result = score(obs, scale2=DECISION if on_scale2 else None)
    expected = chart_scores(obs, on_scale2)
    assert result.sub_scores == expected
    total = sum(expected.values())
    red = 3 in expected.values()
    assert (result.total, result.red_score) == (total, red)
    assert result.risk == chart_risk(total, red)
