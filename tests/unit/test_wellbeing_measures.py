"""ONS4, WEMWBS and SWEMWBS scoring. The SWEMWBS conversion is checked against the published
table's values written out here by hand (Warwick Medical School; Stewart-Brown et al. 2009),
not read back from the package's CSV."""

from __future__ import annotations

import pytest

from joinedup.directory.social_prescribing import measures

# Raw score → metric score, every row of the published SWEMWBS conversion table.
PUBLISHED = {
    7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32,
    15: 15.84, 16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98,
    23: 20.73, 24: 21.54, 25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03,
    31: 28.13, 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00,
}  # fmt: skip


def test_the_swemwbs_table_is_the_published_one() -> None:
    assert measures.swemwbs_conversion() == PUBLISHED
    metric = [measures.swemwbs_metric(raw) for raw in range(7, 36)]
    assert metric == sorted(metric) and len(set(metric)) == len(metric)


@pytest.mark.parametrize("raw", [6, 36])
def test_a_raw_score_outside_7_to_35_has_no_metric_score(raw: int) -> None:
    with pytest.raises(measures.MeasureError, match="7 to 35"):
        measures.swemwbs_metric(raw)


def test_swemwbs_sums_the_items_then_converts() -> None:
    scored = measures.score("swemwbs", [3, 3, 4, 3, 3, 3, 3])
    assert (scored.raw_score, scored.score) == (22, 19.98)


def test_wemwbs_is_the_sum_of_14_items_and_ons4_keeps_its_items() -> None:
    assert measures.score("wemwbs", [1] * 14).score == 14
    assert measures.score("wemwbs", [5] * 14).score == 70
    ons4 = measures.score("ons4", [7, 8, 6, 2])
    assert ons4.score is None and measures.ons4_item(ons4.items, "anxious") == 2


def test_every_problem_with_the_answers_is_reported() -> None:
    with pytest.raises(measures.MeasureError) as refused:
        measures.score("ons4", [11, None, -1])
    assert refused.value.problems == [
        "ONS4 personal wellbeing has 4 questions, not 3",
        "question 1 is answered 0 to 10, not 11",
        "question 2 is not answered",
        "question 3 is answered 0 to 10, not -1",
    ]
    with pytest.raises(measures.MeasureError, match="not a measure"):
        measures.score("pam", [1])
