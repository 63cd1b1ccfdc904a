"""The risk share: how a year's gain (underspend) or loss (overspend) against the capitated
budget is split between the provider and the commissioner, band by band, within caps.

A pure function of the figures and the terms, so the what-if page can recompute the statement
with other terms without reading anything again. Amounts are in pounds, rounded to pence per
line so that the lines of the statement add up exactly as printed.

Bands are read as the contract writes them: the variance, as a share of the budget, is cut at
each band's upper edge (``up_to``); the slice inside a band is shared at that band's
``provider_share``; what lies beyond the last band stays wholly with the commissioner. A
variance exactly on an edge falls wholly in the band below it. The cap then limits the
provider's total share to a share of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.commissioning.contracts.definition import Band, RiskShare


@dataclass(frozen=True)
class BandLine:
    label: str  # e.g. "0% to 2% of budget"
    amount: float  # the slice of the variance in this band, £ (never negative)
    provider_share: float
    provider: float  # £
    commissioner: float  # £


@dataclass(frozen=True)
class Settlement:
    budget: float
    spend: float
    variance: float  # budget − spend: positive is a gain (underspend), negative a loss
    kind: str  # "gain", "loss" or "none"
    bands: tuple[BandLine, ...]
    provider_before_cap: float  # £, the provider's share of the gain or loss before the cap
    cap: float | None  # £, the most the provider may gain or lose
    provider: float  # £ after the cap: positive the provider gains, negative it loses
    commissioner: float  # £: positive the commissioner keeps (gain), negative it bears (loss)

    @property
    def settled_value(self) -> float:
        """What the year's care is settled at before outcome payments: the spend, plus the
        provider's share of a gain, less its share of a loss."""
        return _pence(self.spend + self.provider)


def _pence(value: float) -> float:
    return round(value + 0.0, 2)


def settle(budget: float, spend: float, terms: RiskShare) -> Settlement:
    budget, spend = _pence(budget), _pence(spend)
    variance = _pence(budget - spend)
    if variance == 0 or budget <= 0:
        return Settlement(budget, spend, variance, "none", (), 0.0, None, 0.0, 0.0)
    kind = "gain" if variance > 0 else "loss"
    bands = terms.gain if kind == "gain" else terms.loss
    cap_share = terms.gain_cap if kind == "gain" else terms.loss_cap
    lines = _band_lines(abs(variance), budget, bands)
    before_cap = _pence(sum(line.provider for line in lines))
    cap = None if cap_share is None else _pence(cap_share * budget)
    provider = before_cap if cap is None else min(before_cap, cap)
    sign = 1 if kind == "gain" else -1
    return Settlement(
        budget=budget,
        spend=spend,
        variance=variance,
        kind=kind,
        bands=lines,
        provider_before_cap=before_cap,
        cap=cap,
        provider=sign * provider,
        commissioner=sign * _pence(abs(variance) - provider),
    )


def _band_lines(variance: float, budget: float, bands: tuple[Band, ...]) -> tuple[BandLine, ...]:
    """The variance cut at each band's edge, in whole pence so the lines add up exactly."""
    left = round(variance * 100)
    lines = []
    lower_share, lower = 0.0, 0
    for band in bands:
        edge = round(band.up_to * budget * 100)
        amount = max(0, min(left, edge) - min(left, lower))
        provider = round(amount * band.provider_share)
        lines.append(
            BandLine(
                f"{lower_share:.1%} to {band.up_to:.1%} of budget",
                amount / 100,
                band.provider_share,
                provider / 100,
                (amount - provider) / 100,
            )
        )
        lower_share, lower = band.up_to, edge
    beyond = max(0, left - lower)
    lines.append(
        BandLine(f"over {lower_share:.1%} of budget", beyond / 100, 0.0, 0.0, beyond / 100)
    )
    return tuple(lines)
