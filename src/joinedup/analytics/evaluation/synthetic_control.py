"""Synthetic control for the programme's practices taken together.

Units are practices (each cohort member counted at their practice on the start date); the
treated series is the pooled monthly rate of the programme's practices, and the synthetic
control is a weighted average of the other practices' rates, weights non-negative and summing
to one, fitted to the months before the start by constrained least squares (Abadie, Diamond &
Hainmueller, JASA 2010; scipy's non-negative least squares with the sum-to-one constraint as a
heavily weighted extra row). The estimate is the relative change after the start: treated
events over the synthetic control's, less one.

The interval is conformal (Chernozhukov, Wüthrich & Zhu, JASA 2021): a relative effect θ is
in the 95% interval when, after dividing the treated post-start months by 1 + θ and refitting
the weights on all months, the post-start misfit is not in the top 5% of the same statistic
over every cyclic shift of the months. It assumes the synthetic control's monthly errors,
scaled as Pearson residuals, are exchangeable over time. Alongside it, the placebo-in-space
test (each comparison practice in turn treated as if it had the programme) gives a rank
p-value from post/pre misfit ratios.
Checks: the pre-start fit (RMSPE against the treated rate), whether the treated series lies
within the range of the comparison practices, and how many practices carry the weights.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from joinedup.analytics.evaluation.outcomes import Panel
from joinedup.analytics.evaluation.result import Check, Evaluation

SUM_TO_ONE = 1_000.0  # weight of the constraint row, relative to the scaled rates
GRID = np.round(np.arange(-0.8, 1.0001, 0.01), 2)
FIT_LIMIT = 0.15  # pre-start RMSPE at most this share of the treated's mean rate


def unit_series(panel: Panel) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The treated group's pooled monthly rate and each comparison practice's (months × units)."""
    cohort = panel.cohort
    treated = panel.treated
    rate_t = panel.values[treated].sum(axis=0) / panel.exposure[treated].sum(axis=0)
    donors = sorted(cohort.loc[~treated, "practice_code"].unique())
    columns = []
    for code in donors:
        rows = (cohort["practice_code"] == code).to_numpy()
        months = panel.exposure[rows].sum(axis=0)
        columns.append(panel.values[rows].sum(axis=0) / np.maximum(months, 1e-9))
    return rate_t, np.stack(columns, axis=1), donors


def fit_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to one that best reproduce `target` from `donors`."""
    scale = max(float(np.abs(target).mean()), 1e-12)
    a = np.vstack([donors / scale, np.full((1, donors.shape[1]), SUM_TO_ONE)])
    b = np.concatenate([target / scale, [SUM_TO_ONE]])
    weights, _ = nnls(a, b)
    return weights / weights.sum()


def _conformal_p(
    rate_t: np.ndarray, donors: np.ndarray, exposure: np.ndarray, start: int, theta: float
) -> float:
    null = rate_t.copy()
    null[start:] = rate_t[start:] / (1.0 + theta)
    synthetic = donors @ fit_weights(null, donors)
    # Pearson residuals: a month's count noise grows with its rate and shrinks with the
    # person-months behind it, so raw gaps are not exchangeable when rates change over time.
    residual = (null - synthetic) / np.sqrt(np.maximum(synthetic, 1e-12) / exposure)
    months, post = residual.shape[0], residual.shape[0] - start

    def statistic(u: np.ndarray) -> float:
        return float(np.abs(u[-post:]).mean())

    observed = statistic(residual)
    shifted = [statistic(np.roll(residual, k)) for k in range(months)]
    return float(np.mean([s >= observed - 1e-12 for s in shifted]))


def _placebo_rank(rate_t: np.ndarray, donors: np.ndarray, start: int) -> tuple[int, int]:
    """Rank of the treated post/pre RMSPE ratio among the comparison practices' (1 = largest)."""

    def ratio(target: np.ndarray, pool: np.ndarray) -> float:
        gap = target - pool @ fit_weights(target[:start], pool[:start])
        return float(
            np.sqrt((gap[start:] ** 2).mean()) / max(np.sqrt((gap[:start] ** 2).mean()), 1e-12)
        )

    treated = ratio(rate_t, donors)
    placebos = [
        ratio(donors[:, j], np.delete(donors, j, axis=1))
        for j in range(donors.shape[1])
        if donors.shape[1] > 1
    ]
    return 1 + sum(p >= treated for p in placebos), 1 + len(placebos)


def evaluate(panel: Panel) -> Evaluation:
    rate_t, donors, codes = unit_series(panel)
    start = panel.first_post
    weights = fit_weights(rate_t[:start], donors[:start])
    synthetic = donors @ weights
    treated = panel.treated
    exposure_post = panel.exposure[treated][:, start:].sum(axis=0)
    expected = float((synthetic[start:] * exposure_post).sum())
    observed = float(panel.values[treated][:, start:].sum())
    estimate = observed / expected - 1.0
    months_t = panel.exposure[treated].sum(axis=0)
    accepted = [t for t in GRID if _conformal_p(rate_t, donors, months_t, start, float(t)) > 0.05]
    low, high = (min(accepted), max(accepted)) if accepted else (float("nan"), float("nan"))
    rmspe = float(np.sqrt(((rate_t[:start] - synthetic[:start]) ** 2).mean()))
    relative_rmspe = rmspe / float(rate_t[:start].mean())
    pre_means = donors[:start].mean(axis=0)
    inside = pre_means.min() <= rate_t[:start].mean() <= pre_means.max()
    effective = float(1.0 / (weights**2).sum())
    rank, units = _placebo_rank(rate_t, donors, start)
    checks = [
        Check(
            "pre-start fit",
            relative_rmspe <= FIT_LIMIT,
            f"RMSPE before the start {rmspe * 1000:.2f} per 1,000 person-months, "
            f"{relative_rmspe:.1%} of the treated rate (limit {FIT_LIMIT:.0%})",
        ),
        Check(
            "treated within the comparison practices' range",
            bool(inside),
            f"treated mean rate before the start {rate_t[:start].mean() * 1000:.1f} per 1,000 "
            f"person-months; comparison practices {pre_means.min() * 1000:.1f} to "
            f"{pre_means.max() * 1000:.1f}",
        ),
        Check(
            "weights spread",
            effective >= 2.0,
            f"the weights are worth {effective:.1f} practices "
            f"(of {len(codes)}; fails below 2, when one practice is the whole control)",
        ),
        Check(
            "interval found",
            bool(accepted) and GRID[0] < low and high < GRID[-1],
            "the conformal interval lies inside the effects tried "
            f"({GRID[0]:+.0%} to {GRID[-1]:+.0%})",
        ),
    ]
    return Evaluation(
        programme=panel.programme.name,
        method="synthetic-control",
        outcome=panel.outcome,
        estimate=float(estimate),
        ci_low=float(low),
        ci_high=float(high),
        interval_meaning=(
            "every relative effect a conformal permutation test over time does not reject at "
            "5% (Chernozhukov, Wüthrich & Zhu 2021): the treated months after the start are "
            "divided by 1 + effect, the weights refitted on all months, and the post-start "
            "misfit (Pearson residuals) compared with its value under every cyclic shift of "
            "the months"
        ),
        compared=(
            f"the pooled monthly rate of {panel.label} of the programme's cohort in "
            f"{int(panel.cohort.loc[treated, 'practice_code'].nunique())} practices against a "
            f"weighted average of {len(codes)} other practices' cohorts, weights fitted on the "
            f"{start} months before the start"
        ),
        checks=checks,
        tables={
            "weights": [
                {"practice": code, "weight": round(float(w), 4)}
                for code, w in zip(codes, weights, strict=True)
                if w > 0.0005
            ],
            "series": [
                {
                    "month": month.isoformat(),
                    "treated_rate": round(float(t), 6),
                    "synthetic_rate": round(float(s), 6),
                }
                for month, t, s in zip(panel.months, rate_t, synthetic, strict=True)
            ],
        },
        notes=[
            f"placebo in space: the treated group's post/pre misfit ratio ranks {rank} of "
            f"{units} (p = {rank / units:.2f}; with {units} units the smallest possible p is "
            f"{1 / units:.2f})"
        ],
        planted_effect=panel.programme.planted_effect,
    )
