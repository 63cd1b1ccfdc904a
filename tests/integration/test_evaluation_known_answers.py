"""Known answers: generated areas with a planted programme (-20% and no effect), and a
calibration of the intervals under no effect.

Sizing (the suite must stay fast on two cores): two 60,000-person areas from one seed, one
with -0.2 planted and one with 0 (every table but the planted-programme metadata is then the
same as without the option, checked here against a third generation). The 20 null replicates
of the calibration re-randomise which practices count as "treated" on the no-effect area (a
distinct half of its practices each time: with 6 practices, all 20 ways of choosing 3; the
cohort and outcomes read once), rather than generating 20 areas. They share one area's data,
and each half's mirror image is among them, so they are not independent draws.
"""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from joinedup.analytics.evaluation import did, its, synthetic_control
from joinedup.analytics.evaluation.outcomes import build_panel, reassigned
from joinedup.analytics.evaluation.programme import find
from joinedup.cli import app
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area

pytestmark = pytest.mark.slow

PATIENTS, SEED = 60_000, 1
METHODS = {"did": did, "its": its, "synthetic-control": synthetic_control}


@pytest.fixture(scope="module")
def areas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PopulationStore]:
    stores = {}
    for name, effect in (("effect", -0.2), ("null", 0.0), ("plain", None)):
        store = PopulationStore(tmp_path_factory.mktemp(name) / "population")
        generate_area(store, patients=PATIENTS, seed=SEED, plant_programme=effect)
        stores[name] = store
    return stores


def test_planting_no_effect_changes_nothing_but_the_metadata(areas) -> None:
    null, plain = areas["null"], areas["plain"]
    for path in sorted(plain.root.glob("*.parquet")):
        assert pq.read_table(path).equals(pq.read_table(null.root / path.name)), path.name
    assert "programmes" not in plain.metadata()
    (programme,) = null.metadata()["programmes"]
    assert programme["name"] == "planted" and programme["effect"] == 0.0
    assert programme["start"] == "2024-10-01"
    assert programme["cohort"] == "65+ with moderate or severe frailty"


def test_the_planted_programme_only_removes_its_cohorts_emergency_spells(areas) -> None:
    effect, null = areas["effect"], areas["null"]
    for name in ("patients", "registrations", "clinical_events", "medications"):
        assert pq.read_table(effect.path(name)).equals(pq.read_table(null.path(name))), name
    before = pq.read_table(null.path("hospital_spells")).to_pandas()
    after = pq.read_table(effect.path("hospital_spells")).to_pandas()
    key = ["person_id", "admission_date", "admission_method"]
    removed = before.merge(after[key], on=key, how="left", indicator=True)
    removed = removed[removed["_merge"] == "left_only"]
    assert set(removed["admission_method"]) == {"emergency"}
    assert (removed["admission_date"] >= np.datetime64("2024-10-01")).all()
    # A fifth of the cohort's emergency spells after the start go: binomial, 4 s.d. either way.
    programme = find("planted", effect.metadata())
    panel = build_panel(effect, programme, "emergency_admissions")
    cohort = set(panel.cohort.loc[panel.treated, "person_id"])
    assert set(removed["person_id"]) <= set(before["person_id"])
    eligible = before[
        before["person_id"].isin(cohort)
        & (before["admission_method"] == "emergency")
        & (before["admission_date"] >= np.datetime64("2024-10-01"))
    ]
    n, k = len(eligible), int(removed["person_id"].isin(cohort).sum())
    assert abs(k - 0.2 * n) < 4 * np.sqrt(n * 0.2 * 0.8), (k, n)
    # The evaluator's cohort rule matches the generator's closely: who lost spells is in it.
    assert removed["person_id"].isin(cohort).mean() > 0.95


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("area, planted", [("effect", -0.2), ("null", 0.0)])
def test_each_method_recovers_the_planted_effect(areas, method: str, area: str, planted) -> None:
    store = areas[area]
    panel = build_panel(store, find("planted", store.metadata()), "emergency_admissions")
    result = METHODS[method].evaluate(panel)
    assert result.covers(planted), (result.estimate, result.ci_low, result.ci_high)
    assert result.planted_effect == planted


def test_about_five_percent_of_null_intervals_exclude_no_change(areas) -> None:
    store = areas["null"]
    programme = find("planted", store.metadata())
    panel = build_panel(store, programme, "emergency_admissions")
    practices = sorted(panel.cohort["practice_code"].unique())
    halves = list(combinations(practices, len(practices) // 2))
    assert len(halves) >= 20  # 6 practices: exactly the 20 ways to pick 3
    order = np.random.default_rng(2026).permutation(len(halves))[:20]
    excluded = dict.fromkeys(METHODS, 0)
    for chosen in (halves[i] for i in order):
        placebo = reassigned(panel, replace(programme, neighbourhoods=(), practices=chosen))
        for name, method in METHODS.items():
            excluded[name] += not method.evaluate(placebo).covers_zero
    # 20 replicates at 5%: 1 expected; 4 or more has probability 1.6% if the intervals are right.
    assert all(count <= 3 for count in excluded.values()), excluded


def test_the_command_prints_the_estimate_and_writes_json(areas, tmp_path: Path) -> None:
    home = areas["effect"].root.parent
    out = tmp_path / "did.json"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "programme",
            "planted",
            "--method",
            "did",
            "--home",
            str(home),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Planted effect -20.0%: inside the interval" in result.output
    assert "Regression to the mean" in result.output
    data = json.loads(out.read_text())
    assert data["method"] == "did" and data["ci_low"] <= -0.2 <= data["ci_high"]
    assert {"estimate", "ci_low", "ci_high", "checks"} <= set(data)
    rtm = data["tables"]["regression_to_the_mean"][0]
    assert rtm["selected_change"] < -0.3 < rtm["everyone_change"]  # the top 5% fall on their own
