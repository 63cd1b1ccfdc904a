"""Server-rendered bar charts: the geometry here, the SVG in templates/macros/charts.html.

Charts need no JavaScript and no internet. Each chart is an image with a title and a text
description for assistive technology, and the page always shows the same figures in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from joinedup.population.overview import Count
from joinedup.web.formatting import number, percent

WIDTH = 480
ROW_HEIGHT = 40
BAR_HEIGHT = 26
VALUE_WIDTH = 160  # room for "1,234,567 (100.0%)" beside the longest bar
CHAR_WIDTH = 8.6  # average width of a 16px sans-serif character, for the label column


@dataclass(frozen=True)
class Bar:
    row: Any  # the Count (or subclass) the bar shows
    label: str
    count: int | None
    share: str  # e.g. "20.6%"
    fraction: float  # length relative to the largest bar, 0 to 1
    y: float
    width: float  # in chart units

    @property
    def value_text(self) -> str:
        if self.count is None:
            return number(None)
        return f"{number(self.count)} ({self.share})"


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    label_width: float
    width: int = WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars) + 8

    @property
    def bar_area(self) -> float:
        return self.width - self.label_width - VALUE_WIDTH


def bar_chart(id: str, title: str, rows: Sequence[Count], total: int | None) -> BarChart:
    """A horizontal bar chart of `rows`, each bar's share taken of `total`."""
    counts = [row.count for row in rows if row.count is not None]
    largest = max(counts, default=0)
    longest = max((len(row.label) for row in rows), default=4)
    label_width = min(200.0, max(80.0, longest * CHAR_WIDTH + 16))
    bar_area = WIDTH - label_width - VALUE_WIDTH
    bars = []
    for i, row in enumerate(rows):
        fraction = (row.count or 0) / largest if largest else 0.0
        bars.append(
            Bar(
                row=row,
                label=row.label,
                count=row.count,
                share=percent(row.count, total),
                fraction=fraction,
                y=4 + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                width=round(fraction * bar_area, 1),
            )
        )
    return BarChart(
        id=id,
        title=title,
        description=_describe(rows, total),
        bars=bars,
        label_width=label_width,
    )


def _describe(rows: Sequence[Count], total: int | None) -> str:
    shown = [row for row in rows if row.count is not None]
    if not shown or not any(row.count for row in shown):
        return "No one is counted in this chart. The figures are in the table."
    top = max(shown, key=lambda row: row.count or 0)
    return (
        f"{len(rows)} bars. The largest group is {top.label}: {number(top.count)} people "
        f"({percent(top.count, total)}). The same figures are in the table."
    )
