"""Funnel-plot limits and over-dispersion, held to ../shared/reference/funnel_plots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from joinedup.analytics import funnel as fp


def _load(shared_dir: Path, name: str) -> dict[str, Any]:
    path = shared_dir / "reference" / "funnel_plots" / name
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture(scope="module")
def poisson_vectors(shared_dir: Path) -> dict[str, Any]:
    return _load(shared_dir, "funnelplotr_poisson_limits_vectors.json")


@pytest.fixture(scope="module")
def od_vectors(shared_dir: Path) -> dict[str, Any]:
    return _load(shared_dir, "funnelplotr_test_data_derived_od.json")


def test_exact_poisson_limits_match_every_reference_case(poisson_vectors: dict[str, Any]) -> None:
    cases = poisson_vectors["cases"]
    assert cases, "no reference cases"
    limits = fp.poisson_ratio_limits(
        [c["expected"] for c in cases], target=poisson_vectors["target"]
    )
    for name, got in [
        ("ll95", limits.lower95),
        ("ul95", limits.upper95),
        ("ll998", limits.lower998),
        ("ul998", limits.upper998),
    ]:
        np.testing.assert_allclose(got, [c[name] for c in cases], rtol=0, atol=5e-7, err_msg=name)


def test_outlier_classification_matches_reference(poisson_vectors: dict[str, Any]) -> None:
    case = poisson_vectors["outlier_classification_case"]
    rr, lim = np.array(case["rr"]), case["limits"]
    checks = {
        "expected_outlier_95_unadjusted": (rr, "LCL95", "UCL95"),
        "expected_outlier_95_adjusted": (rr, "OD95LCL", "OD95UCL"),
        "expected_outlier_99_unadjusted": (rr, "LCL99", "UCL99"),
        "expected_outlier_99_adjusted": (rr, "OD99LCL", "OD99UCL"),
        "expected_outlier_95_unadjusted_multiplier_100": (rr * 100, "LCL95", "UCL95"),
    }
    for key, (values, low, high) in checks.items():
        flags = fp.classify(values, lim[low], lim[high])
        assert (flags != 0).astype(int).tolist() == case[key], key


@pytest.mark.parametrize("method", ["SHMI", "CQC"])
def test_z_scores_phi_and_tau2_match_reference(od_vectors: dict[str, Any], method: str) -> None:
    num, den = od_vectors["input"]["num"], od_vectors["input"]["denom"]
    expected = od_vectors["results"][method]
    result = fp.funnel(num, den, kind="ratio", ratio_method=method.lower())  # type: ignore[arg-type]
    np.testing.assert_allclose(result.z, expected["z_unadjusted"], atol=5e-6)
    assert result.phi == pytest.approx(expected["phi"], abs=5e-6)
    # tau² is printed to 6 decimals for SHMI and 8 for CQC: agree to half the last place.
    places = len(repr(expected["tau2"]).split(".")[1])
    assert result.tau2 == pytest.approx(expected["tau2"], abs=0.5 * 10**-places)


def test_shmi_truncation_keeps_reference_units(od_vectors: dict[str, Any]) -> None:
    num, den = od_vectors["input"]["num"], od_vectors["input"]["denom"]
    z = fp.transform_ratios(num, den, method="shmi").z
    kept = fp.truncation_mask(z, 0.1)
    assert kept.tolist() == od_vectors["results"]["SHMI"]["kept_after_truncation"]


def test_cqc_winsor_bounds_match_reference(od_vectors: dict[str, Any]) -> None:
    num, den = od_vectors["input"]["num"], od_vectors["input"]["denom"]
    z = fp.transform_ratios(num, den, method="cqc").z
    w = fp.winsorise(z, 0.1)
    np.testing.assert_allclose(
        [w.min(), w.max()], od_vectors["results"]["CQC"]["winsor_bounds"], atol=5e-6
    )


def test_shmi_adjusted_998_limits_at_e100_match_reference(od_vectors: dict[str, Any]) -> None:
    shmi = od_vectors["results"]["SHMI"]
    num, den = od_vectors["input"]["num"], od_vectors["input"]["denom"]
    result = fp.funnel(num, den, kind="ratio", ratio_method="shmi", adjustment="additive")
    limits = result.limits_at([100])
    np.testing.assert_allclose(
        [limits.lower998[0], limits.upper998[0]], shmi["OD99.8_limits_at_E=100"], atol=5e-6
    )


def test_exact_binomial_limits_follow_spiegelhalter_interpolation() -> None:
    # Hand-worked Appendix A.1.1 for n = 20, target 0.3, p = 0.975.
    n, target, p = 20, 0.3, 0.975
    r = stats.binom.ppf(p, n, target)
    at, below = stats.binom.cdf(r, n, target), stats.binom.cdf(r - 1, n, target)
    expected_upper = (r - (at - p) / (at - below)) / n
    limits = fp.binomial_proportion_limits([n], target=target)
    assert limits.upper95[0] == pytest.approx(expected_upper)
    assert limits.lower998[0] < limits.lower95[0] < target < limits.upper95[0] < limits.upper998[0]


def test_exact_binomial_limits_approach_normal_for_large_denominators() -> None:
    exact = fp.binomial_proportion_limits([50_000], target=0.2)
    normal = fp.binomial_proportion_limits([50_000], target=0.2, method="normal")
    assert exact.upper95[0] == pytest.approx(normal.upper95[0], abs=2e-4)
    assert exact.lower998[0] == pytest.approx(normal.lower998[0], abs=2e-4)


def test_limits_narrow_as_denominator_grows() -> None:
    limits = fp.binomial_proportion_limits([50, 500, 5000], target=0.1)
    assert np.all(np.diff(limits.upper998) < 0) and np.all(np.diff(limits.lower998) > 0)


def test_proportion_funnel_flags_a_clear_outlier_and_pooled_target() -> None:
    num = [10, 12, 9, 11, 40]
    den = [100, 100, 100, 100, 100]
    result = fp.funnel(num, den, kind="proportion")
    assert result.target == pytest.approx(82 / 500)
    assert result.flag998.tolist() == [0, 0, 0, 0, 1]
    assert result.z[4] > 3
    assert fp.outlier_words(int(result.flag95[4]), int(result.flag998[4])) == "Above 99.8% limit"


def test_overdispersion_widens_limits_and_shrinks_z() -> None:
    rng = np.random.default_rng(7)
    den = rng.integers(2000, 10000, size=200).astype(float)
    rates = np.clip(rng.normal(0.1, 0.03, size=200), 0.01, 0.5)  # real between-unit spread
    num = np.round(den * rates)
    plain = fp.funnel(num, den, kind="proportion")
    assert plain.phi > 2 and plain.tau2 > 0
    for adjustment in ("multiplicative", "additive"):
        adjusted = fp.funnel(num, den, kind="proportion", adjustment=adjustment)  # type: ignore[arg-type]
        assert np.all(adjusted.limits.upper998 > plain.limits.upper998)
        assert np.sum(adjusted.flag998 != 0) < np.sum(plain.flag998 != 0)
        assert np.nanmax(np.abs(adjusted.z)) < np.nanmax(np.abs(plain.z))


def test_no_overdispersion_gives_zero_tau2() -> None:
    od = fp.estimate_overdispersion([0.1, -0.2, 0.3, -0.1], [0.05, 0.05, 0.05, 0.05])
    assert od.phi < 1 and od.tau2 == 0.0


def test_units_with_no_denominator_are_not_flagged() -> None:
    result = fp.funnel([5, 0, 7], [50, 0, 60], kind="proportion")
    assert np.isnan(result.value[1]) and np.isnan(result.z[1])
    assert result.flag95[1] == 0 and result.flag998[1] == 0


def test_limits_at_draws_the_same_limits_as_the_units() -> None:
    result = fp.funnel([30, 50, 80], [25.0, 55.0, 70.0], kind="ratio")
    again = result.limits_at(result.denominator)
    np.testing.assert_allclose(again.upper95, result.limits.upper95)
