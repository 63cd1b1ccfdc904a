"""One practice against its peers (same PCN, deprivation quintile, similar list size), indicator
by indicator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from joinedup.analytics.funnel import outlier_words
from joinedup.commissioning.published.indicators import (
    INDICATORS,
    Indicator,
    IndicatorFunnel,
    indicator_funnel,
)
from joinedup.commissioning.published.store import PublishedData


@dataclass(frozen=True)
class PeerComparison:
    group: str  # e.g. "Same primary care network"
    practices: int
    peer_value: float | None  # pooled value of the peers (the practice left out)
    z: float | None
    position: str


@dataclass(frozen=True)
class PracticeIndicator:
    indicator: Indicator
    numerator: float | None
    denominator: float | None
    value: float | None
    national: float | None
    z: float | None
    position: str
    peers: list[PeerComparison]


def _peer_masks(data: PublishedData, row: pd.Series) -> list[tuple[str, pd.Series]]:
    table = data.table
    others = table.practice_code != row.practice_code
    lower, upper = row.list_size * 0.8, row.list_size * 1.25
    masks = [
        ("Same primary care network", others & (table.pcn_code == row.pcn_code)),
        (
            "Same deprivation quintile",
            others & (table.deprivation_quintile == row.deprivation_quintile),
        ),
        ("Similar list size (within 20%)", others & table.list_size.between(lower, upper)),
    ]
    return masks


def _compare(
    data: PublishedData, indicator: Indicator, built: IndicatorFunnel, row: pd.Series
) -> list[PeerComparison]:
    comparisons = []
    for group, mask in _peer_masks(data, row):
        peers = data.table[mask]
        if indicator.has_funnel:
            peers = peers[peers[indicator.denominator].notna()]
            num, den = row[indicator.numerator], row[indicator.denominator]
            if len(peers) == 0 or pd.isna(den):
                comparisons.append(PeerComparison(group, len(peers), None, None, "No comparison"))
                continue
            target = float(peers[indicator.numerator].sum() / peers[indicator.denominator].sum())
            tau2 = built.result.tau2 if built.result and built.result.adjustment != "none" else 0.0
            # The practice against a funnel centred on its peers' pooled value, with the
            # national between-practice variance (tau²) when the national funnel is adjusted.
            s2 = 1.0 / (4.0 * den)
            z = (np.arcsin(np.sqrt(num / den)) - np.arcsin(np.sqrt(target))) / np.sqrt(s2 + tau2)
        else:
            peers = peers[peers[indicator.value_column].notna()]
            value = row[indicator.value_column]
            if len(peers) < 3 or pd.isna(value):
                comparisons.append(PeerComparison(group, len(peers), None, None, "Too few peers"))
                continue
            values = peers[indicator.value_column].to_numpy(float)
            target = float(np.median(values))
            spread = float(np.median(np.abs(values - target))) * 1.4826
            z = (value - target) / spread if spread > 0 else 0.0
        z = float(z)
        words = outlier_words(
            int(np.sign(z) * (abs(z) > 1.959964)), int(np.sign(z) * (abs(z) > 3.090232))
        )
        comparisons.append(PeerComparison(group, len(peers), target, z, words))
    return comparisons


def practice_profile(data: PublishedData, code: str) -> tuple[pd.Series, list[PracticeIndicator]]:
    """A practice's row and every indicator against England and its peers; KeyError if unknown."""
    position = data.by_code[code]
    row = data.table.iloc[position]
    out = []
    for key, indicator in INDICATORS.items():
        built = indicator_funnel(data, key)
        mine = built.units[built.units.code == code]
        unit = mine.iloc[0] if len(mine) else None
        national = built.result.target if built.result else _median(built.units)
        out.append(
            PracticeIndicator(
                indicator=indicator,
                numerator=_num(row, indicator.numerator),
                denominator=_num(row, indicator.denominator),
                value=float(unit.value) if unit is not None else None,
                national=national,
                z=float(unit.z) if unit is not None and np.isfinite(unit.z) else None,
                position=str(unit.position) if unit is not None else "No published value",
                peers=_compare(data, indicator, built, row),
            )
        )
    return row, out


def _median(units: pd.DataFrame) -> float | None:
    return float(units.value.median()) if len(units) else None


def _num(row: pd.Series, column: str) -> float | None:
    if not column or pd.isna(row[column]):
        return None
    return float(row[column])
