"""Comparative interrupted time series with seasonality.

The series is the monthly log rate ratio between the programme's cohort and the comparison
cohort (the same rule in the other units, matched and weighted to the treated's mix as in
did.py, so both series age and die alike): a comparison series takes out what both share
(ageing and deaths in a cohort fixed at the start, seasons, area-wide change). Segmented
regression (Wagner et al., J Clin Pharm Ther 2002; Bernal, Cummins & Gasparrini, Int J
Epidemiol 2017): log ratio ~ time + level change + slope change + a Fourier pair for the
yearly season, by ordinary least squares (statsmodels). The estimate is the relative change at
the end of follow-up, exp(level + slope × months) − 1. Its 95% interval resamples people (each
keeping all their months) and refits: a cohort's rate moves in year-long steps (each person's
chance shocks last a year), which Newey-West (HAC) errors on 42 months cannot see, so the
Newey-West interval is shown beside it for comparison, not used. Checks: residual
autocorrelation (Ljung-Box), a placebo interruption 12 months before the real start fitted
on pre-start months only, and no trend in the ratio before the start (both with Newey-West
errors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from joinedup.analytics.evaluation.did import cem_weights
from joinedup.analytics.evaluation.outcomes import Panel
from joinedup.analytics.evaluation.result import Check, Evaluation


def _stats():  # type: ignore[no-untyped-def]
    """scipy.stats, imported when the time series first needs it: it takes seconds to import,
    a cost every process serving the web app would otherwise pay at start-up."""
    from scipy import stats

    return stats


HAC_LAGS = 3
BOOTSTRAP = 500
BOOTSTRAP_SEED = 20_240_401  # fixed: the same data always give the same interval
FOURIER_PAIRS = 1  # the yearly cycle; more pairs chase noise in a ratio whose seasons mostly cancel
PLACEBO_MONTHS = 12


def monthly_series(panel: Panel) -> pd.DataFrame:
    """Monthly events and person-months of the matched treated and comparison cohorts (the
    comparison weighted to the treated's mix, as in did.py), and their log rate ratio."""
    treated, weights = panel.treated, cem_weights(panel.cohort)
    rows = {}
    for name, group in (("treated", treated), ("comparison", ~treated)):
        w = weights[group][:, None]
        rows[f"{name}_events"] = (panel.values[group] * w).sum(axis=0)
        rows[f"{name}_months"] = (panel.exposure[group] * w).sum(axis=0)
    frame = pd.DataFrame(rows)
    frame["month"] = [m.isoformat() for m in panel.months]
    frame["log_ratio"] = _log_ratio(
        frame["treated_events"].to_numpy(),
        frame["treated_months"].to_numpy(),
        frame["comparison_events"].to_numpy(),
        frame["comparison_months"].to_numpy(),
    )
    return frame


def _log_ratio(
    events_t: np.ndarray, months_t: np.ndarray, events_c: np.ndarray, months_c: np.ndarray
) -> np.ndarray:
    # Half an event added to each side keeps the log finite in an empty month.
    return np.log((events_t + 0.5) / months_t) - np.log((events_c + 0.5) / months_c)


def _bootstrap_effects(panel: Panel, design: pd.DataFrame, contrast: np.ndarray) -> np.ndarray:
    """The end-of-follow-up effect re-estimated on BOOTSTRAP resamples of people (Poisson
    weights, each person keeping all their months), so the interval carries what ties one
    month to the next within a person: chance shocks that last a year, deaths, moves."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    treated, weights = panel.treated, cem_weights(panel.cohort)
    resampled = rng.poisson(1.0, (BOOTSTRAP, weights.shape[0])) * weights[None, :]
    sums = {}
    for name, group in (("t", treated), ("c", ~treated)):
        w = resampled[:, group]
        sums[name] = (w @ panel.values[group], w @ panel.exposure[group])
    y = _log_ratio(*sums["t"], *sums["c"])  # BOOTSTRAP × months
    coefficients, *_ = np.linalg.lstsq(design.to_numpy(), y.T, rcond=None)
    return np.asarray(contrast @ coefficients)


def _design(months: list[int], start: int, calendar_month: np.ndarray) -> pd.DataFrame:
    t = np.asarray(months, dtype=float)
    after = (t >= start).astype(float)
    design = pd.DataFrame({"time": t, "level": after, "slope": after * (t - start)})
    for k in range(1, FOURIER_PAIRS + 1):
        design[f"sin{k}"] = np.sin(2 * np.pi * k * calendar_month / 12)
        design[f"cos{k}"] = np.cos(2 * np.pi * k * calendar_month / 12)
    design.insert(0, "const", 1.0)
    return design


def _fit(y: np.ndarray, design: pd.DataFrame):  # type: ignore[no-untyped-def]
    # Imported here: statsmodels takes seconds to import, a cost every web process would pay.
    import statsmodels.api as sm

    # Small-sample correction and t quantiles: 42 months is a short series for HAC errors.
    return sm.OLS(y, design).fit(
        cov_type="HAC", cov_kwds={"maxlags": HAC_LAGS, "use_correction": True}, use_t=True
    )


def evaluate(panel: Panel) -> Evaluation:
    series = monthly_series(panel)
    n, start = len(panel.months), panel.first_post
    calendar_month = np.array([m.month for m in panel.months], dtype=float)
    design = _design(list(range(n)), start, calendar_month)
    fit = _fit(series["log_ratio"].to_numpy(), design)
    follow_up = n - 1 - start
    contrast = np.zeros(design.shape[1])
    contrast[list(design.columns).index("level")] = 1.0
    contrast[list(design.columns).index("slope")] = follow_up
    effect = float(contrast @ fit.params)
    se = float(np.sqrt(contrast @ fit.cov_params().to_numpy() @ contrast))
    z = _stats().t.ppf(0.975, fit.df_resid)
    hac_low, hac_high = np.expm1(effect - z * se), np.expm1(effect + z * se)
    low, high = np.expm1(np.percentile(_bootstrap_effects(panel, design, contrast), [2.5, 97.5]))

    from statsmodels.stats.diagnostic import acorr_ljungbox  # imported here, as in `_fit`

    residuals = np.asarray(fit.resid)
    ljung = float(acorr_ljungbox(residuals, lags=[6])["lb_pvalue"].iloc[0])
    placebo = _placebo(series, start, calendar_month)
    pre = _fit(
        series["log_ratio"].to_numpy()[:start],
        _design(list(range(start)), start, calendar_month[:start]).drop(columns=["level", "slope"]),
    )
    trend_low, trend_high = pre.conf_int().loc["time"]
    checks = [
        Check(
            "placebo interruption",
            placebo[1] <= 0.0 <= placebo[2],
            f"a made-up start {PLACEBO_MONTHS} months before the real one, fitted on months "
            f"before the real start, finds {placebo[0]:+.1%} "
            f"(95% interval {placebo[1]:+.1%} to {placebo[2]:+.1%}; passes if it covers 0)",
        ),
        Check(
            "no pre-start trend in the ratio",
            trend_low <= 0.0 <= trend_high,
            f"trend in the log ratio before the start {pre.params['time']:+.4f} a month "
            f"(95% interval {trend_low:+.4f} to {trend_high:+.4f}; passes if it covers 0)",
        ),
        Check(
            "residual autocorrelation",
            ljung >= 0.05,
            f"Ljung-Box p = {ljung:.3f} at 6 lags (fails below 0.05); the interval, from "
            "resampling people, allows for months tied together however long",
        ),
    ]
    return Evaluation(
        programme=panel.programme.name,
        method="its",
        outcome=panel.outcome,
        estimate=float(np.expm1(effect)),
        ci_low=float(low),
        ci_high=float(high),
        interval_meaning=(
            "95% interval of exp(level + slope × months) − 1 at the last month of follow-up: "
            f"the central 95% of {BOOTSTRAP} re-estimates on resamples of people (each keeping "
            "all their months), which, unlike Newey-West errors, carries shocks that last a year"
        ),
        compared=(
            f"the monthly rate of {panel.label} in the programme's cohort divided by the "
            f"comparison cohort's, {n - start} months after the start against the trend and "
            f"seasons of the {start} months before"
        ),
        checks=checks,
        tables={
            "series": series.round(4).to_dict("records"),
            "coefficients": [
                {"term": k, "estimate": round(float(v), 5), "se": round(float(s), 5)}
                for k, v, s in zip(fit.params.index, fit.params, fit.bse, strict=True)
            ],
        },
        notes=[
            f"Newey-West ({HAC_LAGS} lags) interval for comparison: {hac_low:+.1%} to "
            f"{hac_high:+.1%}; narrower than the resampled one when months are tied together "
            "for longer than its lags reach",
            f"level change {fit.params['level']:+.3f}, slope change "
            f"{fit.params['slope']:+.4f} a month (log ratio)",
        ],
        planted_effect=panel.programme.planted_effect,
    )


def _placebo(
    series: pd.DataFrame, start: int, calendar_month: np.ndarray
) -> tuple[float, float, float]:
    """A level change at a made-up start, using only months before the real start."""
    fake = start - PLACEBO_MONTHS
    # Without the season terms: in two years of data a step a year in is hard to tell from a
    # yearly cycle plus a trend, and the fit would trade one for the other.
    design = _design(list(range(start)), fake, calendar_month[:start])[["const", "time", "level"]]
    fit = _fit(series["log_ratio"].to_numpy()[:start], design)
    low, high = fit.conf_int().loc["level"]
    return float(np.expm1(fit.params["level"])), float(np.expm1(low)), float(np.expm1(high))
