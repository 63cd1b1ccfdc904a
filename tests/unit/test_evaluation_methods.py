"""Evaluation methods on a panel simulated here, independently of the generator: Poisson
counts with a known multiplicative effect after the start in the treated practices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from joinedup.analytics.evaluation import did, its, synthetic_control
from joinedup.analytics.evaluation.outcomes import PRE_MONTHS, Panel
from joinedup.analytics.evaluation.programme import (
    Programme,
    ProgrammeError,
    find,
    from_mapping,
)

START = dt.date(2024, 10, 1)
MONTHS = [dt.date(2022 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(PRE_MONTHS + 18)]


def simulated_panel(effect: float, seed: int, people: int = 6_000) -> Panel:
    rng = np.random.default_rng(seed)
    practice = rng.integers(0, 24, people)
    treated = practice < 12
    age = rng.integers(65, 100, people)
    female = rng.random(people) < 0.55
    frail = rng.integers(9, 20, people)
    imd = rng.integers(1, 11, people)
    base = 0.06 * np.exp(0.02 * (age - 65) + 0.05 * (frail - 9) + 0.4 * rng.standard_normal(people))
    month = np.arange(len(MONTHS))
    season = 1 + 0.15 * np.cos(2 * np.pi * (month + 9) / 12)  # winter peak
    rate = base[:, None] * season[None, :] * (1 + 0.004 * month)[None, :]
    rate = rate * np.where(treated[:, None] & (month[None, :] >= PRE_MONTHS), 1 + effect, 1.0)
    values = rng.poisson(rate).astype(float)
    prior = values[:, PRE_MONTHS - 12 : PRE_MONTHS].sum(axis=1)
    codes = np.array([f"P{p:02d}" for p in practice])
    cohort = pd.DataFrame(
        {
            "person_id": np.arange(1, people + 1),
            "practice_code": codes,
            "neighbourhood_code": np.where(treated, "N1", "N2"),
            "treated": treated,
            "age": age,
            "female": female.astype(float),
            "imd_decile": imd,
            "efi_deficits": frail,
            "prior_admissions": prior,
        }
    )
    programme = Programme(
        "simulated", START, "65+ with moderate or severe frailty", neighbourhoods=("N1",)
    )
    return Panel(programme, "emergency_admissions", cohort, MONTHS, np.ones_like(values), values)


@pytest.mark.parametrize("method", [did, its, synthetic_control])
@pytest.mark.parametrize("effect", [-0.2, 0.0])
def test_each_method_recovers_a_simulated_effect(method, effect: float) -> None:
    result = method.evaluate(simulated_panel(effect, seed=3))
    assert result.covers(effect), (result.estimate, result.ci_low, result.ci_high)
    assert result.ci_low < result.estimate < result.ci_high
    assert result.ci_high - result.ci_low < 0.6  # an interval that says something


def test_did_is_precise_enough_to_tell_a_fifth_fewer_from_none() -> None:
    result = did.evaluate(simulated_panel(-0.2, seed=4))
    assert not result.covers_zero
    assert abs(result.estimate + 0.2) < 0.08


def test_matching_balances_what_it_matches_on() -> None:
    panel = simulated_panel(0.0, seed=5)
    # Make the treated older and more often admitted, so matching has work to do.
    panel.cohort.loc[panel.treated, "age"] += 5
    weights = did.cem_weights(panel.cohort)
    rows = {row["characteristic"]: row for row in did.balance_table(panel.cohort, weights)}
    age = rows["age (years)"]
    assert abs(age["smd_before"]) > 0.3
    assert abs(age["smd_after"]) < abs(age["smd_before"])
    assert weights[panel.treated].max() == 1.0


def test_synthetic_control_weights_reproduce_a_convex_combination() -> None:
    rng = np.random.default_rng(1)
    donors = rng.random((30, 5))
    truth = np.array([0.5, 0.0, 0.3, 0.2, 0.0])
    weights = synthetic_control.fit_weights(donors @ truth, donors)
    assert weights.sum() == pytest.approx(1.0)
    assert np.allclose(weights, truth, atol=1e-3)


def test_a_programme_file_must_say_what_it_means() -> None:
    good = _GOOD
    assert from_mapping(good, "x.yaml").units == ("SYNP001",)
    for bad, message in [
        ({**good, "cohort": "everyone"}, "unknown cohort rule"),
        ({**good, "start": "soon"}, "start must be a date"),
        ({**good, "neighbourhoods": ["SYNN01"]}, "either neighbourhoods or practices"),
        ({k: v for k, v in good.items() if k != "name"}, "needs a name"),
    ]:
        with pytest.raises(ProgrammeError, match=message):
            from_mapping(bad, "x.yaml")


def test_an_area_without_a_planted_programme_says_how_to_plant_one() -> None:
    with pytest.raises(ProgrammeError, match="--plant-programme"):
        find("planted", {"programmes": []})
    with pytest.raises(ProgrammeError, match="unknown programme 'nope'"):
        find("nope", {})
    assert find("frailty-north", {}).neighbourhoods == ("SYNN01",)
    # Only the generator's record of a planted programme carries a known answer.
    assert from_mapping({**_GOOD, "effect": -0.2}, "x.yaml").planted_effect is None
    planted = find("planted", {"programmes": [{**_GOOD, "name": "planted", "effect": -0.2}]})
    assert planted.planted_effect == -0.2


_GOOD = {
    "name": "x",
    "start": "2024-10-01",
    "cohort": "65+ with moderate or severe frailty",
    "practices": ["SYNP001"],
}


def test_the_command_refuses_bad_input_in_one_line(small_area, tmp_path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    home = str(small_area.home)
    early = tmp_path / "early.yaml"
    early.write_text(
        "name: early\nneighbourhoods: [SYNN01]\nstart: 2022-04-01\n"
        "cohort: 65+ with moderate or severe frailty\n"
    )
    for args, message in [
        (["planted"], "no planted programme"),
        (["frailty-north", "--outcome", "walks"], "unknown outcome 'walks'"),
        (["frailty-north", "--method", "guess"], "unknown method 'guess'"),
        (["nope"], "unknown programme 'nope'"),
        (["--programme-file", str(tmp_path / "missing.yaml")], "cannot read programme file"),
        (["--programme-file", str(early)], "before the store's history"),
    ]:
        result = CliRunner().invoke(app, ["evaluate", "programme", *args, "--home", home])
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
