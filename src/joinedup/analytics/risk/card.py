"""The model card: what the emergency-admission risk model was trained on and how well it does.

Data (a dataclass, saved as JSON) and a Markdown rendering. Figures are measured on the
evaluation year of the temporal split (see model.py), never on the training year.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from joinedup.analytics.risk.features import FEATURES, WINDOW_DAYS
from joinedup.analytics.risk.model import logistic_recalibration
from joinedup.population.overview import AGE_BANDS

BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 7
TOP_FRACTIONS = (0.02, 0.05)

KNOWN_LIMITS = (
    "A risk score alone does not reduce emergency admissions: it only helps when the people it "
    "finds are reviewed and their care changes (register, named professional, care plan, MDT).",
    "Trained and evaluated on synthetic data: the figures show the method works, not how it "
    "will do on a real population. Recalibrate on local data before use, and re-check the card.",
    "No ethnicity feature: the model does not use ethnicity, and the card cannot yet show "
    "performance by ethnic group.",
    "Care-home and housebound status are taken as recorded at the extract date (the store keeps "
    "no history of them), so they may be slightly ahead of the index date.",
    "Only admissions in the data count: people who leave the area stay in the population, and "
    "an admission after they leave is missed; people who die without an emergency admission "
    "count as not admitted (death is a competing outcome, not a success).",
    "Predicts any emergency admission in the next 12 months, not avoidable admissions; many "
    "admissions of the highest-risk people are not preventable by primary care.",
    "Performance by group is shown for age band, sex and deprivation quintile only; small "
    "groups have wide uncertainty.",
)


@dataclass
class Performance:
    """How one scorer ranks and (for probabilities) calibrates on the evaluation year."""

    auroc: float
    auroc_ci: tuple[float, float]
    top: dict[str, dict[str, float]]  # "2%" → {threshold, flagged, sensitivity, ppv}
    brier: float | None = None
    calibration_intercept: float | None = None
    calibration_slope: float | None = None
    calibration_table: list[dict[str, float]] = field(default_factory=list)
    mean_predicted: float | None = None


@dataclass
class GroupRow:
    """Performance of the model for one group of people (equity)."""

    group: str
    label: str
    n: int
    observed_rate: float
    predicted_rate: float
    auroc: float | None
    flagged_top5: int
    ppv_top5: float | None


@dataclass
class ModelCard:
    model_id: str
    created: str
    area: str
    extract_date: str
    outcome: str
    population: str
    training_window: dict[str, str]
    evaluation_window: dict[str, str]
    training_size: int
    training_outcome_rate: float
    evaluation_size: int
    evaluation_outcome_rate: float
    evaluation_deaths: int
    evaluation_leavers: int
    model: Performance
    baseline: Performance
    rule: Performance
    equity: dict[str, list[GroupRow]]
    features: list[dict[str, str]]
    parameters: dict[str, Any]
    recalibration: dict[str, Any] | None = None
    known_limits: list[str] = field(default_factory=lambda: list(KNOWN_LIMITS))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        values = dict(data)
        for key in ("model", "baseline", "rule"):
            perf = dict(values[key])
            perf["auroc_ci"] = tuple(perf["auroc_ci"])
            values[key] = Performance(**perf)
        values["equity"] = {
            k: [GroupRow(**row) for row in rows] for k, rows in values["equity"].items()
        }
        return cls(**values)

    def to_markdown(self) -> str:
        return render_markdown(self)


# ---------------------------------------------------------------- measures


class _Ranked:
    """Scores sorted once, so the AUROC of any reweighting (a bootstrap resample) is O(n)."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        self.order = np.argsort(score, kind="stable")
        ordered = score[self.order]
        self.tie_group = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
        self.y = y[self.order].astype(float)

    def auroc(self, weights: np.ndarray | None = None) -> float:
        """AUROC with each person counted `weights` times (ties count a half)."""
        w = np.ones(len(self.y)) if weights is None else weights[self.order].astype(float)
        pos, neg = w * self.y, w * (1.0 - self.y)
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos == 0 or total_neg == 0:
            return float("nan")
        neg_in_group = np.bincount(self.tie_group, weights=neg)
        below = np.cumsum(neg_in_group) - neg_in_group
        wins = below[self.tie_group] + 0.5 * neg_in_group[self.tie_group]
        return float((pos * wins).sum() / (total_pos * total_neg))


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count a half)."""
    return _Ranked(y, score).auroc()


def auroc_ci(
    y: np.ndarray, score: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float]:
    """95% percentile bootstrap interval of the AUROC (fixed seed)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    ranked = _Ranked(y, score)
    n = len(y)
    values = []
    for _ in range(resamples):
        value = ranked.auroc(np.bincount(rng.integers(0, n, n), minlength=n))
        if not math.isnan(value):
            values.append(value)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def top_flags(score: np.ndarray, fraction: float) -> np.ndarray:
    """The top `fraction` of people by score (ties broken by order), as a boolean mask."""
    k = max(1, math.ceil(fraction * len(score)))
    order = np.argsort(-score, kind="stable")
    flags = np.zeros(len(score), dtype=bool)
    flags[order[:k]] = True
    return flags


def top_performance(y: np.ndarray, score: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for fraction in TOP_FRACTIONS:
        flags = top_flags(score, fraction)
        hits = int(y[flags].sum())
        out[f"{fraction:.0%}"] = {
            "flagged": int(flags.sum()),
            "threshold": float(score[flags].min()),
            "sensitivity": hits / max(1, int(y.sum())),
            "ppv": hits / int(flags.sum()),
        }
    return out


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Deciles of predicted risk: mean predicted and observed rate in each (for the plot)."""
    order = np.argsort(p, kind="stable")
    rows = []
    for i, chunk in enumerate(np.array_split(order, bins), start=1):
        rows.append(
            {
                "bin": i,
                "n": len(chunk),
                "mean_predicted": float(p[chunk].mean()),
                "observed": float(y[chunk].mean()),
            }
        )
    return rows


def performance(y: np.ndarray, score: np.ndarray, *, probability: bool) -> Performance:
    perf = Performance(
        auroc=auroc(y, score), auroc_ci=auroc_ci(y, score), top=top_performance(y, score)
    )
    if probability:
        intercept, slope = logistic_recalibration(score, y)
        perf.brier = float(np.mean((score - y) ** 2))
        perf.calibration_intercept = intercept
        perf.calibration_slope = slope
        perf.calibration_table = calibration_table(y, score)
        perf.mean_predicted = float(score.mean())
    return perf


def _groups(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[tuple[str, str]]]]:
    age = frame["age"].to_numpy()
    band = np.zeros(len(age), dtype=int)
    for i, (_, _, lowest) in enumerate(AGE_BANDS):
        band[age >= lowest] = i
    quintile = (frame["imd_decile"].to_numpy() + 1) // 2
    male = frame["male"].to_numpy()
    return {
        "age_band": (band, [(str(i), label) for i, (_, label, _) in enumerate(AGE_BANDS)]),
        "sex": (male, [("0", "Female"), ("1", "Male")]),
        "imd_quintile": (
            quintile,
            [
                (str(q), f"{q}" + {1: " (most deprived)", 5: " (least deprived)"}.get(q, ""))
                for q in range(1, 6)
            ],
        ),
    }


def equity(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, list[GroupRow]]:
    """AUROC, PPV at the top 5% (of everyone) and observed vs predicted rates by group."""
    flags = top_flags(p, 0.05)
    out: dict[str, list[GroupRow]] = {}
    for name, (values, labels) in _groups(frame).items():
        rows = []
        for key, label in labels:
            mask = values == int(key)
            n = int(mask.sum())
            if n == 0:
                continue
            value = auroc(y[mask], p[mask])
            flagged = int((flags & mask).sum())
            rows.append(
                GroupRow(
                    group=key,
                    label=label,
                    n=n,
                    observed_rate=float(y[mask].mean()),
                    predicted_rate=float(p[mask].mean()),
                    auroc=None if math.isnan(value) else value,
                    flagged_top5=flagged,
                    ppv_top5=float(y[flags & mask].mean()) if flagged else None,
                )
            )
        out[name] = rows
    return out


def feature_list() -> list[dict[str, str]]:
    return [{"column": f.column, "label": f.label, "unit": f.unit} for f in FEATURES]


OUTCOME = f"Any emergency admission in the {WINDOW_DAYS} days after the index date."
POPULATION = (
    "Everyone registered with one of the area's practices and alive at the end of the index "
    "date (all ages)."
)


# ---------------------------------------------------------------- Markdown


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_markdown(card: ModelCard) -> str:
    lines = [
        f"# Model card: emergency-admission risk ({card.model_id})",
        "",
        f"Area **{card.area}**, extract date {card.extract_date}; created {card.created}.",
        "",
        f"**Outcome.** {card.outcome}",
        "",
        f"**Population.** {card.population}",
        "",
        "| | index date | outcome window | people | outcome rate |",
        "|---|---|---|---|---|",
        f"| training | {card.training_window['index_date']} | {card.training_window['outcome']} "
        f"| {card.training_size:,} | {_pct(card.training_outcome_rate)} |",
        f"| evaluation | {card.evaluation_window['index_date']} | "
        f"{card.evaluation_window['outcome']} | {card.evaluation_size:,} | "
        f"{_pct(card.evaluation_outcome_rate)} |",
        "",
        f"In the evaluation year {card.evaluation_deaths:,} people died and "
        f"{card.evaluation_leavers:,} left the area's practices; they stay in the population "
        "(see known limits).",
        "",
        "## Performance on the evaluation year",
        "",
        "| scorer | AUROC (95% CI) | Brier | calibration intercept | calibration slope "
        "| sensitivity top 2% | PPV top 2% | sensitivity top 5% | PPV top 5% |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "model": "LightGBM model",
        "baseline": "logistic regression baseline",
        "rule": "prior-admissions rule",
    }
    for key, name in names.items():
        perf: Performance = getattr(card, key)
        t2, t5 = perf.top["2%"], perf.top["5%"]
        lines.append(
            f"| {name} | {perf.auroc:.3f} ({perf.auroc_ci[0]:.3f}–{perf.auroc_ci[1]:.3f}) | "
            f"{_num(perf.brier, 4)} | {_num(perf.calibration_intercept)} | "
            f"{_num(perf.calibration_slope)} | {_pct(t2['sensitivity'])} | {_pct(t2['ppv'])} | "
            f"{_pct(t5['sensitivity'])} | {_pct(t5['ppv'])} |"
        )
    lines += [
        "",
        "Calibration intercept and slope: logistic regression of the outcome on logit(predicted "
        "risk); a well-calibrated model has intercept 0 and slope 1.",
        "",
        "### Calibration (deciles of predicted risk)",
        "",
        "| decile | people | mean predicted | observed |",
        "|---|---|---|---|",
    ]
    for row in card.model.calibration_table:
        lines.append(
            f"| {int(row['bin'])} | {int(row['n']):,} | {_pct(row['mean_predicted'])} | "
            f"{_pct(row['observed'])} |"
        )
    lines += [
        "",
        "## Equity",
        "",
        "Flagged: people of the group in the top 5% of the whole evaluation population by "
        "predicted risk; PPV: the share of them admitted.",
        "",
    ]
    titles = {"age_band": "Age band", "sex": "Sex", "imd_quintile": "Deprivation quintile"}
    for key, rows in card.equity.items():
        lines += [
            f"### {titles.get(key, key)}",
            "",
            "| group | people | observed rate | predicted rate | AUROC | flagged (top 5%) "
            "| PPV top 5% |",
            "|---|---|---|---|---|---|---|",
        ]
        for group in rows:
            lines.append(
                f"| {group.label} | {group.n:,} | {_pct(group.observed_rate)} | "
                f"{_pct(group.predicted_rate)} | {_num(group.auroc)} | {group.flagged_top5:,} | "
                f"{_pct(group.ppv_top5)} |"
            )
        lines.append("")
    if card.recalibration:
        lines += [
            "## Recalibration",
            "",
            f"Recalibrated on {card.recalibration['area']} (index date "
            f"{card.recalibration['index_date']}): intercept "
            f"{card.recalibration['intercept']:.3f}, slope {card.recalibration['slope']:.3f}. "
            "The figures above are measured on that same year, so they are apparent "
            "(in-sample for the two calibration numbers).",
            "",
        ]
    lines += ["## Features", "", "| column | meaning | unit |", "|---|---|---|"]
    lines += [f"| `{f['column']}` | {f['label']} | {f['unit']} |" for f in card.features]
    lines += ["", "## Known limits", ""]
    lines += [f"- {limit}" for limit in card.known_limits]
    lines += [
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(card.parameters, indent=2, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)
