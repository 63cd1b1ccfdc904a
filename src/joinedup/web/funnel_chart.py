"""Server-side SVG geometry for funnel plots and scatter plots (templates draw the SVG).

Like `charts.py`: no JavaScript, no internet; each chart has a title and a text description,
and the page shows the same figures in a table. Every point is a link with its own title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from joinedup.analytics.funnel import FunnelResult

WIDTH = 720
HEIGHT = 420
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
CURVE_POINTS = 120


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str
    url: str
    css: str  # within | above95 | below95 | above998 | below998 | clipped


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class PlotChart:
    id: str
    title: str
    description: str
    x_label: str
    y_label: str
    points: list[Point]
    curves: dict[str, str]  # name -> SVG polyline "x,y x,y …"
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    linked: bool = True  # each point a link with a title (else drawn as light dots)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT


FILLS = {
    "within": "#005eb8",
    "above95": "#ffb81c",
    "below95": "#ffb81c",
    "above998": "#d5281b",
    "below998": "#d5281b",
    "clipped": "#768692",
}


def points_svg(chart: PlotChart) -> Markup:
    """The points as SVG markup, built in one pass (thousands of points: a template loop is
    too slow). Every text is escaped; each point is a link where it has a page."""
    if not chart.linked:
        return _dots(chart)
    parts = []
    for p in chart.points:
        circle = (
            f'<circle cx="{p.x}" cy="{p.y}" r="3" fill="{FILLS[p.css]}" '
            f'class="jp-{p.css}"><title>{escape(p.title)}</title></circle>'
        )
        parts.append(f'<a href="{escape(p.url)}">{circle}</a>' if p.url else circle)
    return Markup("".join(parts))


def _dots(chart: PlotChart) -> Markup:
    """Points with no links as one path per colour (zero-length round-capped strokes): light
    enough for a browser with thousands of points; the figures are in the table and the CSV."""
    paths = []
    for css, colour in FILLS.items():
        d = "".join(f"M{p.x} {p.y}h0" for p in chart.points if p.css == css)
        if d:
            paths.append(
                f'<path d="{d}" stroke="{colour}" stroke-width="6" stroke-linecap="round"/>'
            )
    return Markup("".join(paths))


def _scale(low: float, high: float, out_low: float, out_high: float) -> Callable[[float], float]:
    span = (high - low) or 1.0

    def to(value: float) -> float:
        return out_low + (value - low) / span * (out_high - out_low)

    return to


def _ticks(low: float, high: float, to: Callable[[float], float], fmt: str) -> list[Tick]:
    return [Tick(round(to(v), 1), format(v, fmt)) for v in np.linspace(low, high, 5)]


def _value_ticks(
    low: float, high: float, to: Callable[[float], float], scale: float, fmt: str
) -> list[Tick]:
    return [Tick(round(to(v), 1), format(v * scale, fmt)) for v in np.linspace(low, high, 5)]


def _css(flag95: int, flag998: int) -> str:
    if flag998:
        return "above998" if flag998 > 0 else "below998"
    if flag95:
        return "above95" if flag95 > 0 else "below95"
    return "within"


def _y_range(values: np.ndarray, *extra: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    low, high = np.quantile(finite, [0.005, 0.995]) if len(finite) else (0.0, 1.0)
    for more in extra:
        more = more[np.isfinite(more)]
        if len(more):
            low, high = min(low, float(more.min())), max(high, float(more.max()))
    pad = (high - low) * 0.05 or 0.01
    return max(0.0, float(low - pad)), float(high + pad)


def funnel_chart(
    id: str,
    title: str,
    units: pd.DataFrame,
    result: FunnelResult,
    *,
    url: Callable[[str], str],
    x_label: str,
    y_label: str,
    scale: float = 100.0,
) -> PlotChart:
    """Each unit at (denominator, value) with the 95% and 99.8% limits and the target line."""
    den = units.denominator.to_numpy(float)
    x_high = float(np.nanmax(den)) * 1.02 if len(den) else 1.0
    x_low = max(1.0, float(np.nanmin(den)) * 0.9) if len(den) else 1.0
    grid = np.linspace(x_low, x_high, CURVE_POINTS)
    limits = result.limits_at(grid)
    drawn = grid >= float(np.nanquantile(den, 0.02)) if len(den) else grid > 0
    y_low, y_high = _y_range(
        units.value.to_numpy(float), limits.lower998[drawn], limits.upper998[drawn]
    )
    sx = _scale(0.0, x_high, LEFT, WIDTH - RIGHT)
    sy = _scale(y_low, y_high, HEIGHT - BOTTOM, TOP)

    def line(ys: np.ndarray) -> str:
        return " ".join(
            f"{sx(x):.1f},{sy(min(max(y, y_low), y_high)):.1f}"
            for x, y in zip(grid, ys, strict=True)
            if np.isfinite(y)
        )

    curves = {
        "lower998": line(limits.lower998),
        "lower95": line(limits.lower95),
        "upper95": line(limits.upper95),
        "upper998": line(limits.upper998),
        "target": line(np.full_like(grid, result.target)),
    }
    points = [
        _point(sx(r.denominator), sy, y_low, y_high, r, url, scale)
        for r in units.itertuples(index=False)
    ]
    outside = int((units.flag998 != 0).sum())
    description = (
        f"Funnel plot of {len(units):,} units: {y_label} against {x_label}. "
        f"The centre line is {result.target * scale:.2f}; {outside:,} units lie outside the "
        f"99.8% limits and {int((units.flag95 != 0).sum()):,} outside the 95% limits."
    )
    fmt = ".1f" if scale == 100.0 else ".2f"
    return PlotChart(
        id=id,
        title=title,
        description=description,
        x_label=x_label,
        y_label=y_label,
        points=points,
        curves=curves,
        x_ticks=_ticks(0.0, x_high, sx, ",.0f"),
        y_ticks=_value_ticks(y_low, y_high, sy, scale, fmt),
    )


def _point(
    x: float,
    sy: Callable[[float], float],
    y_low: float,
    y_high: float,
    row: object,
    url: Callable[[str], str],
    scale: float,
) -> Point:
    value = float(getattr(row, "value"))  # noqa: B009
    clipped = not y_low <= value <= y_high
    shown = min(max(value, y_low), y_high)
    name = getattr(row, "name")  # noqa: B009
    code = getattr(row, "code")  # noqa: B009
    position = getattr(row, "position")  # noqa: B009
    flag95, flag998 = int(getattr(row, "flag95")), int(getattr(row, "flag998"))  # noqa: B009
    unit = "%" if scale == 100.0 else ""
    return Point(
        x=round(x, 1),
        y=round(sy(shown), 1),
        title=f"{name} ({code}): {value * scale:.2f}{unit}, {position}",
        url=url(code),
        css="clipped" if clipped else _css(flag95, flag998),
    )


def scatter_chart(
    id: str,
    title: str,
    units: pd.DataFrame,
    *,
    url: Callable[[str], str],
    x_label: str,
    y_label: str,
    scale: float = 100.0,
) -> PlotChart:
    """Each unit at (practice IMD score, value): the indicator against deprivation."""
    have = units[units.imd_score.notna() & units.value.notna()]
    xs = have.imd_score.to_numpy(float)
    x_high = float(xs.max()) * 1.02 if len(xs) else 1.0
    y_low, y_high = _y_range(have.value.to_numpy(float))
    sx = _scale(0.0, x_high, LEFT, WIDTH - RIGHT)
    sy = _scale(y_low, y_high, HEIGHT - BOTTOM, TOP)
    points = [
        _point(sx(r.imd_score), sy, y_low, y_high, r, url, scale)
        for r in have.itertuples(index=False)
    ]
    correlation = float(np.corrcoef(xs, have.value)[0, 1]) if len(xs) > 2 else float("nan")
    description = (
        f"Scatter plot of {len(have):,} practices: {y_label} against {x_label}. "
        f"Correlation {correlation:.2f} (higher IMD score = more deprived)."
    )
    fmt = ".1f" if scale == 100.0 else ".0f"
    return PlotChart(
        id=id,
        title=title,
        description=description,
        x_label=x_label,
        y_label=y_label,
        points=points,
        curves={},
        linked=False,
        x_ticks=_ticks(0.0, x_high, sx, ".0f"),
        y_ticks=_value_ticks(y_low, y_high, sy, scale, fmt),
    )
