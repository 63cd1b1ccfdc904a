"""The asset map drawn on the server as SVG, with no tiles and no internet: the geometry here,
the SVG in templates/directory/_map.html.

Projection: equirectangular about the middle latitude (x ∝ longitude × cos latitude, y ∝
−latitude), which keeps distances true to well under 1% over the few kilometres of an area;
one scale for both axes, so the map is not stretched, and a scale bar in km. Every mark has a
text label (its SVG ``<title>``) and the page lists the same places in a table, so nothing is
only in the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from joinedup.directory.asset_map import AreaPlaces, ServiceCard
from joinedup.population.places import Point

WIDTH, HEIGHT, MARGIN = 640, 440, 28
KM_PER_DEGREE_LATITUDE = 111.32
NICE_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    kind: str  # origin | neighbourhood | practice | service
    label: str
    number: int | None = None  # a service's number in the results list

    @property
    def label_left(self) -> bool:
        """Whether a text label goes left of the mark (near the right edge)."""
        return self.x > WIDTH - 180


@dataclass(frozen=True)
class ScaleBar:
    x1: float
    x2: float
    y: float
    label: str


@dataclass(frozen=True)
class AssetMapChart:
    width: int
    height: int
    marks: tuple[Mark, ...]
    scale: ScaleBar | None
    description: str


def asset_map_chart(
    places: AreaPlaces,
    services: Sequence[ServiceCard],
    origin: Point | None = None,
    origin_label: str = "",
) -> AssetMapChart:
    """The map of the area's neighbourhoods and practices, the services found (numbered as in
    the results) and the point searched from."""
    placed = [(i, s) for i, s in enumerate(services, start=1) if s.point is not None]
    found = [s.point for _, s in placed if s.point is not None]
    area = [p.point for p in (*places.neighbourhoods, *places.practices)]
    # From a point, the map frames the point and what was found; else the whole area.
    points = [origin, *found] if origin is not None else [*area, *found]
    if not points:
        return AssetMapChart(WIDTH, HEIGHT, (), None, "Nothing to draw: no place is known.")
    project, km_per_unit = _projection(points)

    def inside(point: Point) -> bool:
        x, y = project(point)
        return 0 <= x <= WIDTH and 0 <= y <= HEIGHT

    marks = [
        Mark(*project(n.point), "neighbourhood", f"{n.name} (centre)")
        for n in places.neighbourhoods
        if inside(n.point)
    ]
    marks += [
        Mark(*project(p.point), "practice", p.name) for p in places.practices if inside(p.point)
    ]
    marks += [Mark(*project(s.point), "service", s.name, i) for i, s in placed if s.point]
    if origin is not None:
        marks.append(Mark(*project(origin), "origin", origin_label or "Searched from here"))
    description = (
        f"Map of {sum(m.kind == 'neighbourhood' for m in marks)} neighbourhood centres, "
        f"{sum(m.kind == 'practice' for m in marks)} practices and {len(placed)} services found"
        + (f", around {origin_label}" if origin is not None and origin_label else "")
        + ". The table below lists the same places."
    )
    return AssetMapChart(WIDTH, HEIGHT, tuple(marks), _scale_bar(km_per_unit), description)


def _projection(points: Sequence[Point]) -> tuple[Callable[[Point], tuple[float, float]], float]:
    """A function (lat, lon) → (x, y) fitting `points` in the drawing, and km per unit."""
    middle = (min(p.lat for p in points) + max(p.lat for p in points)) / 2
    shrink = math.cos(math.radians(middle))
    xs = [p.lon * shrink for p in points]
    ys = [p.lat for p in points]
    span_x, span_y = max(max(xs) - min(xs), 1e-3), max(max(ys) - min(ys), 1e-3)
    units = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
    left = (WIDTH - span_x * units) / 2
    top = (HEIGHT - span_y * units) / 2

    def project(point: Point) -> tuple[float, float]:
        x = left + (point.lon * shrink - min(xs)) * units
        y = top + (max(ys) - point.lat) * units
        return round(x, 1), round(y, 1)

    return project, KM_PER_DEGREE_LATITUDE / units


def _scale_bar(km_per_unit: float) -> ScaleBar:
    """The longest round distance that fits in a quarter of the width."""
    fits = [km for km in NICE_KM if km / km_per_unit <= WIDTH / 4] or [NICE_KM[0]]
    km = fits[-1]
    length = km / km_per_unit
    label = f"{km:g} km"
    return ScaleBar(MARGIN, round(MARGIN + length, 1), HEIGHT - 10, label)
