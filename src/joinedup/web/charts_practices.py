"""A server-side SVG funnel plot for one practice-variation indicator (no JavaScript, no CDN).

The geometry is worked out here; the template draws it. Every point is also in the page's data
table, and the chart has a text description (`FunnelChart.description`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.analytics.variation.matrix import IndicatorResult, PracticeInfo

WIDTH = 640
HEIGHT = 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
CURVE_STEPS = 60


@dataclass(frozen=True)
class Point:
    code: str
    name: str
    x: float
    y: float
    tag: str
    highlighted: bool
    words: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class FunnelChart:
    title: str
    description: str
    x_label: str
    y_label: str
    points: list[Point]
    curves: dict[str, str]  # lower95, upper95, lower998, upper998: SVG polyline points
    target_y: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = max(high - low, 1e-9)
    step = 10 ** np.floor(np.log10(span / count))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = np.ceil(low / step) * step
    return [float(v) for v in np.arange(first, high + step / 2, step)]


def _sentence(label: str) -> str:
    """A heading inside a sentence: first letter lower-cased unless it is an initialism."""
    first = label.split(" ")[0]
    return label if first.isupper() else label[0].lower() + label[1:]


def funnel_chart(
    result: IndicatorResult,
    practices: list[PracticeInfo],
    *,
    x_label: str,
    y_label: str,
    value_text,  # type: ignore[no-untyped-def]
    highlight: frozenset[str] = frozenset(),
) -> FunnelChart | None:
    """The funnel plot's geometry, or None when the indicator has no funnel."""
    f = result.funnel
    if f is None:
        return None
    names = {p.code: p.name for p in practices}
    codes = list(result.figures)
    den = np.array([f.denominator[i] for i in range(len(codes))], dtype=float)
    val = np.array([f.value[i] for i in range(len(codes))], dtype=float)
    shown = np.isfinite(den) & np.isfinite(val) & (den > 0)
    if not shown.any():
        return None
    x_max = float(den[shown].max()) * 1.1
    x_min = max(float(den[shown].min()) * 0.5, 1.0)
    steps = np.linspace(x_min, x_max, CURVE_STEPS)
    limits = f.limits_at(steps)
    lines = {
        "lower95": limits.lower95,
        "upper95": limits.upper95,
        "lower998": limits.lower998,
        "upper998": limits.upper998,
    }
    finite = [v for arr in lines.values() for v in arr[np.isfinite(arr)]]
    y_values = [*val[shown], f.target, *finite]
    y_low, y_high = min(y_values), max(y_values)
    pad = (y_high - y_low) * 0.05 or 0.1
    y_low, y_high = max(y_low - pad, 0.0), y_high + pad

    def sx(x: float) -> float:
        return round(LEFT + (x / x_max) * (WIDTH - LEFT - RIGHT), 1)

    def sy(y: float) -> float:
        return round(TOP + (y_high - y) / (y_high - y_low) * (HEIGHT - TOP - BOTTOM), 1)

    curves = {
        name: " ".join(
            f"{sx(x)},{sy(float(np.clip(y, y_low, y_high)))}"
            for x, y in zip(steps, arr, strict=True)
            if np.isfinite(y)
        )
        for name, arr in lines.items()
    }
    points = []
    for i, code in enumerate(codes):
        if not shown[i]:
            continue
        fig = result.figures[code]
        points.append(
            Point(
                code,
                names.get(code, code),
                sx(den[i]),
                sy(val[i]),
                fig.rag.tag or "grey",
                code in highlight,
                fig.rag.words,
            )
        )
    beyond95 = sum(1 for c in codes if result.figures[c].flag95 != 0)
    beyond998 = sum(1 for c in codes if result.figures[c].flag998 != 0)
    description = (
        f"Funnel plot of {result.indicator.title}: {len(points)} practices plotted by "
        f"{_sentence(x_label)} against {_sentence(y_label)}, with the area's value "
        f"{value_text(f.target)} as the centre line and 95% and 99.8% control limits. "
        f"{beyond95} practices lie beyond the 95% limits and {beyond998} beyond the 99.8% "
        "limits. The table below gives every practice's figures."
    )
    return FunnelChart(
        title=result.indicator.title,
        description=description,
        x_label=x_label,
        y_label=y_label,
        points=points,
        curves=curves,
        target_y=sy(f.target),
        x_ticks=[Tick(sx(t), f"{t:,.0f}") for t in _nice_ticks(0, x_max) if t <= x_max],
        y_ticks=[Tick(sy(t), value_text(t)) for t in _nice_ticks(y_low, y_high)],
    )
