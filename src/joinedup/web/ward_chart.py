"""A patient's NEWS2 observation chart, drawn on the server: the geometry here, the SVG in
templates/ward/_chart.html. The NEWS2 clinical-risk bands (RCP 2017 Chart 4: 0–4 low, 5–6
medium, 7 and over high) shade the background; complete sets are joined by a line, incomplete
sets (no NEWS2, ADR 0012) are marked apart on the axis with their partial sum in the table.
The page shows the same sets in a table, so nothing is only in the picture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from joinedup.neighbourhood.models import ReadingSet

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 12, 30
MAX_SCORE = 20
#: (lowest, highest, css class) of each NEWS2 clinical-risk band on the total's axis.
BANDS = ((0, 4, "low"), (5, 6, "medium"), (7, MAX_SCORE, "high"))


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    risk: str
    taken_at: dt.datetime


@dataclass(frozen=True)
class Band:
    y: float
    height: float
    css: str
    label: str


@dataclass(frozen=True)
class News2Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    bands: tuple[Band, ...]
    points: tuple[Point, ...]
    incomplete_x: tuple[float, ...]
    line: str  # SVG polyline points
    description: str


def _y(score: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / MAX_SCORE)


def news2_chart(sets: Sequence[ReadingSet]) -> News2Chart:
    times = [s.taken_at for s in sets]
    first, last = (min(times), max(times)) if times else (None, None)
    span = (last - first).total_seconds() if first and last and last > first else 1.0

    def x(when: dt.datetime) -> float:
        offset = (when - first).total_seconds() if first else 0.0
        return LEFT + (WIDTH - LEFT - RIGHT) * offset / span

    points = tuple(
        Point(x(s.taken_at), _y(s.news2_total), s.news2_total, s.news2_risk or "", s.taken_at)
        for s in sets
        if s.news2_total is not None
    )
    bands = tuple(
        Band(_y(high + 0.5 if high < MAX_SCORE else MAX_SCORE), _height(low, high), css, css)
        for low, high, css in BANDS
    )
    return News2Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        WIDTH - RIGHT,
        bands,
        points,
        tuple(x(s.taken_at) for s in sets if s.news2_total is None),
        " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points),
        _describe(points, len(sets)),
    )


def _height(low: int, high: int) -> float:
    top = _y(high + 0.5) if high < MAX_SCORE else _y(MAX_SCORE)
    bottom = _y(low - 0.5) if low > 0 else _y(0)
    return bottom - top


def _describe(points: Sequence[Point], sets: int) -> str:
    if not points:
        return f"No complete NEWS2 yet ({sets} incomplete sets)."
    latest = points[-1]
    highest = max(p.total for p in points)
    return (
        f"{len(points)} complete NEWS2 scores from {sets} sets; latest {latest.total} "
        f"({latest.risk}), highest {highest}."
    )
