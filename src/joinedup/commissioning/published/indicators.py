"""The indicators of published practice data and their funnel plots by level, with robust
z-scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from joinedup.analytics.funnel import Adjustment, FunnelResult, funnel, outlier_words
from joinedup.commissioning.published.store import PublishedData


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    kind: str  # "proportion" (count out of people: funnel plot) or "amount" (money per patient)
    source: str
    numerator: str = ""
    denominator: str = ""
    value_column: str = ""
    unit: str = "%"

    @property
    def has_funnel(self) -> bool:
        return self.kind == "proportion"


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator(
            "smoking",
            "Smoking prevalence (QOF, people aged 15 and over)",
            "proportion",
            "OHID Fingertips 91547",
            "smoking_numerator",
            "smoking_denominator",
        ),
        Indicator(
            "dementia",
            "Dementia prevalence (QOF, all ages)",
            "proportion",
            "OHID Fingertips 247",
            "dementia_numerator",
            "dementia_denominator",
        ),
        Indicator(
            "learning_disability",
            "Learning disability prevalence (QOF, all ages)",
            "proportion",
            "OHID Fingertips 200",
            "learning_disability_numerator",
            "learning_disability_denominator",
        ),
        Indicator(
            "payments",
            "NHS payments per weighted patient, 2022/23",
            "amount",
            "NHS England, NHS Payments to General Practice 2022/23",
            value_column="payments_per_weighted_patient",
            unit="£",
        ),
    ]
}


LEVELS = {"practice": "Practice", "pcn": "Primary care network", "icb": "Integrated care board"}


ADJUSTMENTS: tuple[Adjustment, ...] = ("none", "multiplicative", "additive")


@dataclass(frozen=True)
class IndicatorFunnel:
    """One indicator across units (practices, PCNs or ICBs), with their funnel statistics."""

    indicator: Indicator
    level: str
    units: pd.DataFrame  # code, name, numerator, denominator, value, z, flags, limits
    result: FunnelResult | None  # None for an amount (no funnel)

    @property
    def count(self) -> int:
        return len(self.units)


def _units(data: PublishedData, indicator: Indicator, level: str) -> pd.DataFrame:
    table = data.table
    if indicator.has_funnel:
        have = table[table[indicator.denominator].notna()]
        frame = pd.DataFrame(
            {
                "code": have.practice_code,
                "name": have.practice_name,
                "numerator": have[indicator.numerator],
                "denominator": have[indicator.denominator],
                "imd_score": have.imd_score,
                "pcn_code": have.pcn_code,
                "icb_code": have.icb_code,
            }
        )
        if level != "practice":
            key = "pcn" if level == "pcn" else "icb"
            frame = (
                have.groupby(f"{key}_code", dropna=True)
                .agg(
                    name=(f"{key}_name", "first"),
                    numerator=(indicator.numerator, "sum"),
                    denominator=(indicator.denominator, "sum"),
                    practices=("practice_code", "count"),
                )
                .reset_index()
                .rename(columns={f"{key}_code": "code"})
            )
        return frame.reset_index(drop=True)
    have = table[table[indicator.value_column].notna()]
    if level == "practice":
        return pd.DataFrame(
            {
                "code": have.practice_code,
                "name": have.practice_name,
                "value": have[indicator.value_column],
                "denominator": have.weighted_list_size,
                "imd_score": have.imd_score,
            }
        ).reset_index(drop=True)
    key = "pcn" if level == "pcn" else "icb"
    # A group's payments per weighted patient is its total payments over its weighted list.
    totals = have.assign(total=have[indicator.value_column] * have.weighted_list_size)
    grouped = (
        totals.groupby(f"{key}_code")
        .agg(
            name=(f"{key}_name", "first"),
            total=("total", "sum"),
            denominator=("weighted_list_size", "sum"),
            practices=("practice_code", "count"),
        )
        .reset_index()
        .rename(columns={f"{key}_code": "code"})
    )
    grouped["value"] = grouped.total / grouped.denominator
    return grouped.drop(columns="total")


def robust_z(values: np.ndarray) -> np.ndarray:
    """(value - median) / (1.4826 * median absolute deviation): for amounts with no funnel."""
    median = float(np.nanmedian(values))
    mad = float(np.nanmedian(np.abs(values - median))) * 1.4826
    return (values - median) / mad if mad > 0 else np.zeros_like(values)


def indicator_funnel(
    data: PublishedData, key: str, *, level: str = "practice", adjustment: Adjustment = "additive"
) -> IndicatorFunnel:
    """An indicator's units and funnel statistics (cached per process for this table)."""
    if key not in INDICATORS or level not in LEVELS or adjustment not in ADJUSTMENTS:
        raise KeyError(key)
    cache_key = (key, level, adjustment)
    if cache_key in data.funnels:
        found: IndicatorFunnel = data.funnels[cache_key]
        return found
    indicator = INDICATORS[key]
    units = _units(data, indicator, level)
    result: FunnelResult | None = None
    if indicator.has_funnel and len(units):
        result = funnel(
            units.numerator.to_numpy(float),
            units.denominator.to_numpy(float),
            kind="proportion",
            adjustment=adjustment,
        )
        units = units.assign(
            value=result.value,
            z=result.z,
            flag95=result.flag95,
            flag998=result.flag998,
            lower95=result.limits.lower95,
            upper95=result.limits.upper95,
            lower998=result.limits.lower998,
            upper998=result.limits.upper998,
        )
    elif len(units):
        z = robust_z(units.value.to_numpy(float))
        units = units.assign(
            z=z,
            flag95=np.sign(z) * (np.abs(z) > 1.959964),
            flag998=np.sign(z) * (np.abs(z) > 3.090232),
        )
    if len(units):
        units["position"] = [
            outlier_words(int(a), int(b)) for a, b in zip(units.flag95, units.flag998, strict=True)
        ]
    built = IndicatorFunnel(indicator=indicator, level=level, units=units, result=result)
    data.funnels[cache_key] = built
    return built
