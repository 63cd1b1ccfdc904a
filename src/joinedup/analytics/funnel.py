"""Funnel plots: control limits, z-scores and outlier flags for comparing institutions.

Sources (the methods implemented here, and where each formula comes from):

- Spiegelhalter DJ. Funnel plots for comparing institutional performance. Statistics in Medicine
  2005;24:1185-1202. Exact binomial limits for a proportion with the interpolation of his
  Appendix A.1.1 (so a limit moves smoothly with the denominator); the normal approximation
  ``target ± z * sqrt(target(1-target)/n)``; the multiplicative over-dispersion factor
  ``phi = mean(winsorised z²)`` (section 3.5) and the additive random-effects variance
  ``tau² = (I*phi - (I-1)) / (Σw - Σw²/Σw)`` with ``w = 1/s²`` (DerSimonian-Laird form).
- Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, et al. Statistical methods for healthcare
  regulation: rating, screening and surveillance. J R Stat Soc A 2012;175:1-47. Variance
  stabilising transforms for z-scores (arcsine-square-root for proportions, square root for
  standardised ratios, as the Care Quality Commission uses) and 10% winsorisation.
- NHS R Community, FunnelPlotR 0.6.0 (MIT; github.com/nhs-r-community/FunnelPlotR,
  R/calculate_limits.R, R/od_adjustment.R). Exact Poisson limits for an indirectly standardised
  ratio, ``chi2.ppf(a/2, 2E)/(2E)`` and ``chi2.ppf(1-a/2, 2(E+1))/(2E)``; the NHS Digital SHMI
  variant (log ratio, 10% truncation instead of winsorisation). Our tests hold this module to the
  vectors in ``shared/reference/funnel_plots/`` that come from that package.

Everything is vectorised over units with numpy. The 95% limits use z = 1.959964 and the 99.8%
limits z = 3.090232 (two-sided tail areas 0.025 and 0.001), as both sources do.

A unit lies *within* a pair of limits when ``lower <= value <= upper`` (inclusive, as
FunnelPlotR's outlier test is); otherwise it is above or below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _stats():  # type: ignore[no-untyped-def]
    """scipy.stats, imported when the funnel first need it: it takes seconds to import, a cost
    every process serving the web app would otherwise pay at start-up."""
    from scipy import stats

    return stats


Z95 = 1.959964
Z998 = 3.090232
TAIL95 = 0.025
TAIL998 = 0.001

Kind = Literal["proportion", "ratio"]
Adjustment = Literal["none", "multiplicative", "additive"]
ProportionMethod = Literal["exact", "normal"]
RatioMethod = Literal["cqc", "shmi"]

FloatArray = NDArray[np.float64]


def _arr(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class FunnelLimits:
    """Lower and upper limits at 95% and 99.8%, one entry per denominator."""

    lower95: FloatArray
    upper95: FloatArray
    lower998: FloatArray
    upper998: FloatArray


# --- unadjusted limits -------------------------------------------------------------------------


def poisson_ratio_limits(expected: ArrayLike, *, target: float = 1.0) -> FunnelLimits:
    """Exact Poisson limits for an observed/expected ratio at each expected count.

    ``lower = chi2.ppf(a/2, 2E) / (2E)``, ``upper = chi2.ppf(1 - a/2, 2(E+1)) / (2E)``, scaled by
    ``target`` (FunnelPlotR ``calculate_limits``; Spiegelhalter 2005 section A.1.2).
    """
    e = _arr(expected)
    with np.errstate(divide="ignore", invalid="ignore"):

        def lower(tail: float) -> FloatArray:
            return target * _stats().chi2.ppf(tail, 2 * e) / (2 * e)

        def upper(tail: float) -> FloatArray:
            return target * _stats().chi2.ppf(1 - tail, 2 * (e + 1)) / (2 * e)

        return FunnelLimits(lower(TAIL95), upper(TAIL95), lower(TAIL998), upper(TAIL998))


def binomial_proportion_limits(
    denominator: ArrayLike, *, target: float, method: ProportionMethod = "exact"
) -> FunnelLimits:
    """Limits for a proportion with ``target`` at each denominator (number of people).

    ``exact``: Spiegelhalter 2005 Appendix A.1.1: ``r_p`` is the smallest r with
    ``F(r) >= p`` under Binomial(n, target); ``alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``;
    the limit is ``(r_p - alpha) / n``. Denominators are rounded to whole people.
    ``normal``: ``target ± z * sqrt(target(1 - target) / n)``, clipped to [0, 1].
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target proportion must be between 0 and 1, not {target}")
    n = _arr(denominator)
    if method == "normal":
        se = np.sqrt(target * (1 - target) / n)
        return FunnelLimits(
            np.clip(target - Z95 * se, 0, 1),
            np.clip(target + Z95 * se, 0, 1),
            np.clip(target - Z998 * se, 0, 1),
            np.clip(target + Z998 * se, 0, 1),
        )
    whole = np.maximum(np.rint(n), 1.0)

    def limit(p: float) -> FloatArray:
        r_p = _stats().binom.ppf(p, whole, target)
        at = _stats().binom.cdf(r_p, whole, target)
        below = _stats().binom.cdf(r_p - 1, whole, target)
        alpha = (at - p) / (at - below)
        return np.clip((r_p - alpha) / whole, 0.0, 1.0)

    return FunnelLimits(limit(TAIL95), limit(1 - TAIL95), limit(TAIL998), limit(1 - TAIL998))


# --- z-scores on a variance-stabilised scale ---------------------------------------------------


@dataclass(frozen=True)
class Transformed:
    """Each unit on the transformed scale: value ``y``, target and standard error ``s``."""

    y: FloatArray
    target: float
    s: FloatArray

    @property
    def z(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.y - self.target) / self.s


def transform_proportions(
    numerator: ArrayLike, denominator: ArrayLike, *, target: float
) -> Transformed:
    """Arcsine-square-root scale: ``y = asin(sqrt(p))``, ``s = 1 / (2 sqrt(n))``."""
    num, den = _arr(numerator), _arr(denominator)
    return Transformed(
        y=np.arcsin(np.sqrt(num / den)),
        target=float(np.arcsin(np.sqrt(target))),
        s=1.0 / (2.0 * np.sqrt(den)),
    )


def transform_ratios(
    observed: ArrayLike, expected: ArrayLike, *, method: RatioMethod = "cqc"
) -> Transformed:
    """Standardised ratio O/E (target 1) on the square-root (CQC) or log (SHMI) scale.

    CQC: ``y = sqrt(O/E)``, target 1, ``s = 1 / (2 sqrt(E))``.
    SHMI: ``y = log(O/E)``, target 0, ``s = 1 / sqrt(E)``.
    """
    o, e = _arr(observed), _arr(expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "shmi":
            return Transformed(y=np.log(o / e), target=0.0, s=1.0 / np.sqrt(e))
        return Transformed(y=np.sqrt(o / e), target=1.0, s=1.0 / (2.0 * np.sqrt(e)))


# --- over-dispersion ---------------------------------------------------------------------------


def winsorise(z: ArrayLike, trim: float = 0.1) -> FloatArray:
    """Pull z-scores below the ``trim`` quantile (and above ``1 - trim``) in to that quantile.

    Quantiles by linear interpolation (numpy default = R type 7, as FunnelPlotR uses).
    """
    values = _arr(z)
    low, high = np.nanquantile(values, [trim, 1 - trim])
    return np.clip(values, low, high)


def truncation_mask(z: ArrayLike, trim: float = 0.1) -> NDArray[np.bool_]:
    """SHMI (NHS Digital) truncation: True for units kept, dropping the extreme ``trim`` groups.

    Units are ranked (ties averaged) into ``1/trim`` groups ``floor(rank * k / (n + 1))``; the
    first and last groups are dropped.
    """
    values = _arr(z)
    k = 1.0 / trim
    ranks = _stats().rankdata(values, method="average")
    group = np.floor(ranks * k / (len(values) + 1))
    return (group > 0) & (group < k - 1)


@dataclass(frozen=True)
class Overdispersion:
    """Over-dispersion estimates from the (winsorised or truncated) z-scores of ``n`` units."""

    phi: float
    tau2: float
    n: int


def estimate_overdispersion(
    z: ArrayLike, s: ArrayLike, *, trim: float = 0.1, truncate: bool = False
) -> Overdispersion:
    """``phi = mean(z_w²)`` and ``tau² = max(0, (n phi - (n - 1)) / (Σw - Σw²/Σw))``, ``w = 1/s²``.

    ``z_w`` are winsorised z-scores (Spiegelhalter 2005), or with ``truncate=True`` the z-scores
    kept after SHMI truncation (then ``n`` and the weights count only the units kept). tau² is 0
    when ``n phi < n - 1`` (no evidence of over-dispersion).
    """
    zs, ss = _arr(z), _arr(s)
    finite = np.isfinite(zs) & np.isfinite(ss)
    zs, ss = zs[finite], ss[finite]
    if len(zs) == 0:
        return Overdispersion(phi=1.0, tau2=0.0, n=0)
    if truncate:
        kept = truncation_mask(zs, trim)
        zw, sw = zs[kept], ss[kept]
    else:
        zw, sw = winsorise(zs, trim), ss
    n = len(zw)
    phi = float(np.sum(zw**2) / n)
    weights = 1.0 / sw**2
    if n * phi < n - 1:
        return Overdispersion(phi=phi, tau2=0.0, n=n)
    spread = np.sum(weights) - np.sum(weights**2) / np.sum(weights)
    tau2 = max(0.0, float((n * phi - (n - 1)) / spread)) if spread > 0 else 0.0
    return Overdispersion(phi=phi, tau2=tau2, n=n)


# --- adjusted limits (drawn on the transformed scale, back-transformed) ------------------------


def _back(kind: Kind, ratio_method: RatioMethod, y: FloatArray) -> FloatArray:
    if kind == "proportion":
        return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    if ratio_method == "shmi":
        return np.exp(y)
    return np.maximum(y, 0.0)  # CQC limits are drawn on the ratio scale itself


def adjusted_limits(
    denominator: ArrayLike,
    *,
    kind: Kind,
    target: float,
    adjustment: Adjustment,
    phi: float = 1.0,
    tau2: float = 0.0,
    ratio_method: RatioMethod = "cqc",
) -> FunnelLimits:
    """Over-dispersion adjusted limits at each denominator (people, or expected count).

    Multiplicative: half-width ``z * sqrt(phi) * s``; additive: ``z * sqrt(s² + tau²)``, on the
    transformed scale, then back-transformed. CQC ratios follow FunnelPlotR and draw
    ``1 ± z * sqrt(s² + tau²)`` directly on the ratio scale.
    """
    n = _arr(denominator)
    if kind == "proportion":
        centre, s = float(np.arcsin(np.sqrt(target))), 1.0 / (2.0 * np.sqrt(n))
    elif ratio_method == "shmi":
        centre, s = float(np.log(target)), 1.0 / np.sqrt(n)
    else:
        centre, s = target, 1.0 / (2.0 * np.sqrt(n))
    if adjustment == "multiplicative":
        width = np.sqrt(phi) * s
    elif adjustment == "additive":
        width = np.sqrt(s**2 + tau2)
    else:
        width = s

    def side(z: float) -> FloatArray:
        return _back(kind, ratio_method, centre + z * width)

    return FunnelLimits(side(-Z95), side(Z95), side(-Z998), side(Z998))


# --- putting it together -----------------------------------------------------------------------


def classify(value: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> NDArray[np.int8]:
    """-1 below ``lower``, +1 above ``upper``, 0 within (inclusive), per unit."""
    v, lo, hi = _arr(value), _arr(lower), _arr(upper)
    return np.where(v < lo, -1, np.where(v > hi, 1, 0)).astype(np.int8)


@dataclass(frozen=True)
class FunnelResult:
    """Every unit's value, z-score, limits at its own denominator and position against them.

    ``value`` is the proportion (or the O/E ratio); ``z`` the z-score on the transformed scale,
    divided by ``sqrt(phi)`` (multiplicative) or using ``sqrt(s² + tau²)`` (additive) when
    adjusted; ``flag95``/``flag998`` are -1 below, 0 within, +1 above.
    """

    kind: Kind
    target: float
    adjustment: Adjustment
    phi: float
    tau2: float
    value: FloatArray
    denominator: FloatArray
    z: FloatArray
    limits: FunnelLimits
    flag95: NDArray[np.int8]
    flag998: NDArray[np.int8]
    proportion_method: ProportionMethod = "exact"
    ratio_method: RatioMethod = "cqc"

    def limits_at(self, denominators: ArrayLike) -> FunnelLimits:
        """The same limits at other denominators: for drawing the funnel's curves."""
        return _limits(
            _arr(denominators),
            kind=self.kind,
            target=self.target,
            adjustment=self.adjustment,
            phi=self.phi,
            tau2=self.tau2,
            proportion_method=self.proportion_method,
            ratio_method=self.ratio_method,
        )


def _limits(
    denominator: FloatArray,
    *,
    kind: Kind,
    target: float,
    adjustment: Adjustment,
    phi: float,
    tau2: float,
    proportion_method: ProportionMethod,
    ratio_method: RatioMethod,
) -> FunnelLimits:
    if adjustment != "none":
        return adjusted_limits(
            denominator,
            kind=kind,
            target=target,
            adjustment=adjustment,
            phi=phi,
            tau2=tau2,
            ratio_method=ratio_method,
        )
    if kind == "proportion":
        return binomial_proportion_limits(denominator, target=target, method=proportion_method)
    return poisson_ratio_limits(denominator, target=target)


def funnel(
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    kind: Kind,
    target: float | None = None,
    adjustment: Adjustment = "none",
    proportion_method: ProportionMethod = "exact",
    ratio_method: RatioMethod = "cqc",
    trim: float = 0.1,
) -> FunnelResult:
    """Funnel-plot statistics for units with ``numerator`` events out of ``denominator``.

    ``kind="proportion"``: numerator people with the condition, denominator people; ``target``
    defaults to the pooled proportion Σnum/Σden. ``kind="ratio"``: numerator observed,
    denominator expected count (indirect standardisation), ``target`` 1.
    ``adjustment`` chooses none, multiplicative (phi) or additive (tau²) over-dispersion; phi
    and tau² are estimated either way, so callers can report whether adjustment is warranted.
    Units with a zero or missing denominator get NaN value and z, and flag 0.
    """
    num, den = _arr(numerator), _arr(denominator)
    if num.shape != den.shape:
        raise ValueError("numerator and denominator must have the same length")
    usable = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if kind == "proportion":
        centre = float(num[usable].sum() / den[usable].sum()) if target is None else target
        scaled = transform_proportions(num, np.where(usable, den, np.nan), target=centre)
    else:
        centre = 1.0 if target is None else target
        scaled = transform_ratios(num / centre, np.where(usable, den, np.nan), method=ratio_method)
    raw_z = scaled.z
    shmi = kind == "ratio" and ratio_method == "shmi"
    od = estimate_overdispersion(raw_z[usable], scaled.s[usable], trim=trim, truncate=shmi)
    if shmi:
        # NHS Digital's SHMI z-score is sqrt(E) * log(O/E) (FunnelPlotR transformed_zscore).
        raw_z = np.sqrt(den) * np.log(num / (den * centre))
    if adjustment == "multiplicative":
        z = raw_z / np.sqrt(od.phi)
    elif adjustment == "additive":
        z = (scaled.y - scaled.target) / np.sqrt(scaled.s**2 + od.tau2)
    else:
        z = raw_z
    value = np.where(usable, num / np.where(usable, den, 1.0), np.nan)
    limits = _limits(
        np.where(usable, den, np.nan),
        kind=kind,
        target=centre,
        adjustment=adjustment,
        phi=od.phi,
        tau2=od.tau2,
        proportion_method=proportion_method,
        ratio_method=ratio_method,
    )
    z = np.where(usable, z, np.nan)
    return FunnelResult(
        kind=kind,
        target=centre,
        adjustment=adjustment,
        phi=od.phi,
        tau2=od.tau2,
        value=value,
        denominator=den,
        z=z,
        limits=limits,
        flag95=np.where(usable, classify(value, limits.lower95, limits.upper95), 0).astype(np.int8),
        flag998=np.where(usable, classify(value, limits.lower998, limits.upper998), 0).astype(
            np.int8
        ),
        proportion_method=proportion_method,
        ratio_method=ratio_method,
    )


def outlier_words(flag95: int, flag998: int) -> str:
    """Plain words for a unit's position: the same words on every page."""
    if flag998 > 0:
        return "Above 99.8% limit"
    if flag998 < 0:
        return "Below 99.8% limit"
    if flag95 > 0:
        return "Above 95% limit"
    if flag95 < 0:
        return "Below 95% limit"
    return "Within limits"
