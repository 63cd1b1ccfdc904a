"""Difference-in-differences against matched controls.

People in the programme's cohort in its units are compared with people meeting the same cohort
rule in the other units, matched by coarsened exact matching (Iacus, King & Porro, Political
Analysis 2012) on the pre-period: age band, sex, eFI category, emergency admissions in the
12 months before the start and deprivation quintile. Unmatched strata are dropped; comparison
people are weighted so each stratum counts as it does among the treated.

The model is a Poisson regression (statsmodels GLM) of each person's count before and after the
start, offset by their months at risk: count ~ treated + after + treated×after. exp(β) − 1 of
the interaction is the relative change, with a 95% interval from cluster-robust errors. Checks:
balance (standardised mean differences before and after matching, |SMD| < 0.1), parallel pre-
trends (event study in six-month periods: a Wald test that the treated–comparison gap does not
move before the start), and enough clusters for cluster-robust errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from joinedup.analytics.evaluation.outcomes import Panel
from joinedup.analytics.evaluation.result import Check, Evaluation

SMD_LIMIT = 0.1
MIN_CLUSTERS = 20  # below this, cluster-robust errors are too optimistic (Cameron & Miller 2015)
PERIOD_MONTHS = 6
BALANCE = {
    "age": "age (years)",
    "female": "female",
    "efi_deficits": "eFI deficits",
    "prior_admissions": "emergency admissions, 12 months before",
    "imd_decile": "IMD decile",
}


def strata(cohort: pd.DataFrame) -> pd.Series:
    """Each person's matching stratum as one number (array arithmetic, no loop over people):
    age band (under 75, 75–84, 85+), sex, severe frailty (13+ eFI deficits), prior emergency
    admissions (0, 1, 2+) and IMD quintile (unknown as the middle)."""
    age_band = np.digitize(cohort["age"].to_numpy(), [75, 85])
    female = cohort["female"].to_numpy().astype(np.int64)
    severe = (cohort["efi_deficits"].to_numpy() >= 13).astype(np.int64)
    prior = np.minimum(cohort["prior_admissions"].to_numpy(), 2).astype(np.int64)
    quintile = (cohort["imd_decile"].fillna(5).astype(int).to_numpy() + 1) // 2
    code = (((age_band * 2 + female) * 2 + severe) * 3 + prior) * 10 + quintile
    return pd.Series(code, index=cohort.index)


def cem_weights(cohort: pd.DataFrame, stratum: pd.Series | None = None) -> np.ndarray:
    """Coarsened exact matching weights: 0 for unmatched strata; 1 for matched treated;
    matched controls reweighted to the treated's stratum mix. `stratum` (one label per row)
    defaults to the programme cohort's `strata`; other designs pass their own coarsening."""
    stratum = strata(cohort) if stratum is None else stratum
    treated = cohort["treated"].to_numpy()
    n_t = stratum[treated].value_counts()
    n_c = stratum[~treated].value_counts()
    both = n_t.index.intersection(n_c.index)
    matched = stratum.isin(both).to_numpy()
    m_t, m_c = int((matched & treated).sum()), int((matched & ~treated).sum())
    ratio = (n_t.reindex(both) / n_c.reindex(both)).to_dict()
    weights = np.where(treated, 1.0, stratum.map(ratio).fillna(0.0).to_numpy() * m_c / max(m_t, 1))
    return np.where(matched, weights, 0.0)


def balance_table(
    cohort: pd.DataFrame, weights: np.ndarray, characteristics: Mapping[str, str] = BALANCE
) -> list[dict[str, Any]]:
    """Each characteristic's mean among the treated and the comparison people before and after
    matching, with the standardised mean differences."""
    treated = cohort["treated"].to_numpy()
    rows = []
    for column, label in characteristics.items():
        x = cohort[column].astype(float).fillna(cohort[column].astype(float).mean()).to_numpy()
        rows.append(
            {
                "characteristic": label,
                "treated_mean": round(float(x[treated].mean()), 3),
                "treated_mean_after": round(  # the matched treated (unmatched strata dropped)
                    float(np.average(x[treated], weights=weights[treated])), 3
                )
                if weights[treated].sum() > 0
                else None,
                "comparison_mean_before": round(float(x[~treated].mean()), 3),
                "comparison_mean_after": round(
                    float(np.average(x[~treated], weights=weights[~treated])), 3
                ),
                "smd_before": round(_smd(x, treated, np.ones_like(x)), 3),
                "smd_after": round(_smd(x, treated, weights), 3),
            }
        )
    return rows


def _smd(x: np.ndarray, treated: np.ndarray, w: np.ndarray) -> float:
    keep = w > 0
    t, c = treated & keep, ~treated & keep
    mean_t, mean_c = np.average(x[t], weights=w[t]), np.average(x[c], weights=w[c])
    var_t = np.average((x[t] - mean_t) ** 2, weights=w[t])
    var_c = np.average((x[c] - mean_c) ** 2, weights=w[c])
    pooled = np.sqrt((var_t + var_c) / 2)
    return float((mean_t - mean_c) / pooled) if pooled > 0 else 0.0


def _long(panel: Panel, weights: np.ndarray, period: np.ndarray) -> pd.DataFrame:
    """Person × period rows of the matched people: count, months at risk, weight, cluster."""
    keep = weights > 0
    periods = int(period.max()) + 1
    count = np.stack([panel.values[:, period == p].sum(axis=1) for p in range(periods)], axis=1)
    at_risk = np.stack([panel.exposure[:, period == p].sum(axis=1) for p in range(periods)], axis=1)
    cohort = panel.cohort[keep]
    n = int(keep.sum())
    frame = pd.DataFrame(
        {
            "person": np.repeat(cohort["person_id"].to_numpy(), periods),
            "practice": np.repeat(cohort["practice_code"].to_numpy(), periods),
            "treated": np.repeat(cohort["treated"].to_numpy().astype(float), periods),
            "weight": np.repeat(weights[keep], periods),
            "period": np.tile(np.arange(periods), n),
            "count": count[keep].ravel(),
            "at_risk": at_risk[keep].ravel(),
        }
    )
    return frame[frame["at_risk"] > 0].reset_index(drop=True)


def fit_poisson(frame: pd.DataFrame, design: pd.DataFrame, cluster: str):  # type: ignore[no-untyped-def]
    """Poisson GLM of `count` on `design`, offset by log(`at_risk`), weighted by `weight`, with
    errors robust by the clusters of column `cluster`."""
    # Imported here, not at the top: statsmodels takes seconds to import, and every process
    # that serves the web app would pay for it at start-up (see `test_app_start_up.py`).
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import SpecificationWarning

    model = sm.GLM(
        frame["count"],
        sm.add_constant(design, has_constant="add"),
        family=sm.families.Poisson(),
        offset=np.log(frame["at_risk"]),
        var_weights=frame["weight"],
    )
    groups = pd.factorize(frame[cluster])[0]
    with warnings.catch_warnings():
        # statsmodels warns that var_weights with a robust covariance is "not fully supported";
        # the cluster sandwich is built from the weighted score and Hessian, which is the
        # weighted-estimating-equation variance matching needs.
        warnings.simplefilter("ignore", SpecificationWarning)
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def evaluate(panel: Panel) -> Evaluation:
    cohort = panel.cohort
    weights = cem_weights(cohort)
    treated = cohort["treated"].to_numpy()
    matched_t, matched_c = int((weights[treated] > 0).sum()), int((weights[~treated] > 0).sum())
    balance = balance_table(cohort, weights)
    practices = cohort.loc[weights > 0, "practice_code"].nunique()
    cluster = "practice" if practices >= MIN_CLUSTERS else "person"

    months = np.arange(len(panel.months))
    after = (months >= panel.first_post).astype(int)
    frame = _long(panel, weights, after)
    design = pd.DataFrame({"treated": frame["treated"], "after": frame["period"].astype(float)})
    design["treated_after"] = design["treated"] * design["after"]
    fit = fit_poisson(frame, design, cluster)
    beta, (low, high) = fit.params["treated_after"], fit.conf_int().loc["treated_after"]

    pre_p, event_rows = _event_study(panel, weights, cluster)
    worst_smd = max(abs(row["smd_after"]) for row in balance)
    checks = [
        Check(
            "balance after matching",
            worst_smd < SMD_LIMIT,
            f"largest standardised mean difference after matching {worst_smd:.3f} "
            f"(limit {SMD_LIMIT}); before matching "
            f"{max(abs(row['smd_before']) for row in balance):.3f}",
        ),
        Check(
            "parallel pre-trends",
            pre_p >= 0.05,
            f"event study: the gap between groups in the {PERIOD_MONTHS}-month periods before "
            f"the start does not move (Wald test p = {pre_p:.3f}; fails below 0.05)",
        ),
        Check(
            "enough clusters",
            cluster == "practice",
            f"{practices} practices; cluster-robust errors by practice need at least "
            f"{MIN_CLUSTERS}"
            + (
                ""
                if cluster == "practice"
                else ", so errors are robust by person (they ignore any practice-wide shocks)"
            ),
        ),
        Check(
            "matched sample",
            matched_t >= 0.9 * int(treated.sum()),
            f"{matched_t:,} of {int(treated.sum()):,} treated and {matched_c:,} of "
            f"{int((~treated).sum()):,} comparison people matched",
        ),
    ]
    return Evaluation(
        programme=panel.programme.name,
        method="did",
        outcome=panel.outcome,
        estimate=float(np.expm1(beta)),
        ci_low=float(np.expm1(low)),
        ci_high=float(np.expm1(high)),
        interval_meaning=(
            "95% confidence interval of exp(β) − 1 for the treated × after term of a Poisson "
            f"regression with errors robust by {cluster}"
        ),
        compared=(
            f"{panel.label} per person-month of {matched_t:,} people in the programme's "
            f"{panel.programme.unit_kind}s against {matched_c:,} matched people meeting the same "
            f"cohort rule elsewhere, {len(panel.months) - panel.first_post} months after the "
            f"start against {panel.first_post} months before"
        ),
        checks=checks,
        tables={"balance": balance, "event_study": event_rows},
        planted_effect=panel.programme.planted_effect,
    )


def _event_study(
    panel: Panel, weights: np.ndarray, cluster: str
) -> tuple[float, list[dict[str, object]]]:
    """Treated–comparison gap per six-month period relative to the last one before the start;
    returns the Wald-test p-value that the earlier pre-period gaps are all zero."""
    months = np.arange(len(panel.months))
    period = (months - panel.first_post) // PERIOD_MONTHS  # -4…-1 before, 0… after
    period = period - period.min()
    reference = int(period[panel.first_post - 1])
    frame = _long(panel, weights, period)
    design = pd.DataFrame({"treated": frame["treated"]})
    names = []
    for p in sorted(set(frame["period"]) - {reference}):
        design[f"period_{p}"] = (frame["period"] == p).astype(float)
        design[f"gap_{p}"] = design[f"period_{p}"] * frame["treated"]
        names.append(p)
    fit = fit_poisson(frame, design, cluster)
    pre = [f"gap_{p}" for p in names if p < reference]
    test = fit.wald_test(" = 0, ".join(pre) + " = 0", scalar=True)
    intervals = fit.conf_int()
    rows: list[dict[str, object]] = []
    for p in [*names, reference]:
        key = f"gap_{p}"
        estimate = float(fit.params[key]) if key in fit.params else 0.0
        low, high = intervals.loc[key] if key in intervals.index else (0.0, 0.0)
        rows.append(
            {
                "months_from_start": (p - reference - 1) * PERIOD_MONTHS,
                "relative_gap": round(float(np.expm1(estimate)), 4),
                "ci_low": round(float(np.expm1(low)), 4),
                "ci_high": round(float(np.expm1(high)), 4),
            }
        )
    rows.sort(key=lambda row: row["months_from_start"])  # type: ignore[arg-type,return-value]
    return float(test.pvalue), rows
