"""The practice matrix as a heat map: every practice × every indicator on one screen.

Each cell is the practice's **ratio to the area**: the indirectly standardised ratio for
activity, prevalence, frailty and prescribing (observed ÷ expected), and for a continuity
share the practice's share ÷ the area's pooled share, so that 1.00 means "as the area" on
every column and one colour scale reads across the page. Colour bands are symmetric on the
ratio's log scale (1.11, 1.25, 1.5 and their reciprocals): blue below the area, orange above,
white about level. Colour is never the only cue (WCAG 1.4.1): the ratio is printed in the
cell, a marker gives the funnel position (▲ or ▼ beyond the 95% limits, doubled beyond
99.8%), and the cell's visually hidden text says it in words, with whether it is a concern.
Every band's tint takes the page's dark text at well over 4.5:1. The figures behind each
cell (people, observed, expected, limits) are in the tables below the map and the CSV.

A server-rendered NHS.UK table, not a picture: it reads in order to a screen reader, prints,
and needs no script.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from joinedup.analytics.variation.indicators import Indicator
from joinedup.analytics.variation.matrix import Figure, IndicatorResult, YearVariation


@dataclass(frozen=True)
class Band:
    id: str
    low: float  # ratio at or above (0 for the lowest band)
    colour: str  # background (dark text on it)
    words: str


#: Bands of the ratio to the area, lowest first (upper edges are the next band's `low`).
BANDS: tuple[Band, ...] = (
    Band("much-lower", 0.0, "#8ab8e6", "less than 0.67 (a third or more below the area)"),
    Band("lower", 1 / 1.5, "#b7d3f0", "0.67 to 0.80"),
    Band("slightly-lower", 1 / 1.25, "#dce9f7", "0.80 to 0.90"),
    Band("level", 1 / 1.11, "#ffffff", "0.90 to 1.11 (about as the area)"),
    Band("slightly-higher", 1.11, "#fde2c4", "1.11 to 1.25"),
    Band("higher", 1.25, "#fbc28a", "1.25 to 1.50"),
    Band("much-higher", 1.5, "#f79d4f", "1.50 or more (half as much again as the area)"),
)
WITHHELD = Band("withheld", math.nan, "#e8edee", "withheld (small numbers) or not measured")


def band_of(ratio: float | None) -> Band:
    """The colour band of a ratio to the area (`WITHHELD` when there is none)."""
    if ratio is None or not math.isfinite(ratio):
        return WITHHELD
    return [b for b in BANDS if ratio >= b.low][-1]


@dataclass(frozen=True)
class HeatCell:
    indicator: Indicator
    figure: Figure
    ratio: float | None  # to the area: 1.00 = as the area
    band: Band
    marker: str  # ▲, ▲▲, ▼, ▼▼ or "" (funnel position)

    @property
    def ratio_text(self) -> str:
        return "–" if self.ratio is None else f"{self.ratio:.2f}"

    @property
    def words(self) -> str:
        """What the cell says, for a screen reader and the cell's title."""
        if self.ratio is None:
            return f"{self.indicator.short}: withheld"
        return f"{self.indicator.short}: {self.ratio:.2f} times the area; {self.figure.rag.words}"


@dataclass(frozen=True)
class HeatRow:
    code: str
    name: str
    cells: list[HeatCell]


@dataclass(frozen=True)
class HeatGroup:
    """The practices of one neighbourhood (or PCN)."""

    name: str
    rows: list[HeatRow]


def ratio_to_area(result: IndicatorResult, figure: Figure) -> float | None:
    """A standardised ratio as it is; a share over the area's pooled share."""
    if figure.value is None:
        return None
    if result.indicator.kind == "ratio":
        return figure.value
    return figure.value / result.target if result.target else None


def _marker(figure: Figure) -> str:
    if figure.flag95 == 0:
        return ""
    arrow = "▲" if figure.flag95 > 0 else "▼"
    return arrow * (2 if figure.flag998 != 0 else 1)


def heat_map(variation: YearVariation, indicators: list[Indicator]) -> list[HeatGroup]:
    """Practices (grouped by neighbourhood, in the matrix's order) × `indicators`."""
    groups: list[HeatGroup] = []
    for practice in variation.practices:
        cells = []
        for ind in indicators:
            result = variation.results[ind.id]
            figure = result.figures[practice.code]
            ratio = ratio_to_area(result, figure)
            cells.append(HeatCell(ind, figure, ratio, band_of(ratio), _marker(figure)))
        row = HeatRow(practice.code, practice.name, cells)
        name = practice.neighbourhood_name or "No neighbourhood"
        if groups and groups[-1].name == name:
            groups[-1].rows.append(row)
        else:
            groups.append(HeatGroup(name, [row]))
    return groups
