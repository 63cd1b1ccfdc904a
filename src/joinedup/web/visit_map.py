"""The day's routes drawn as a server-side SVG map from coordinates (no tiles, no internet).

Places are projected equirectangularly (longitude scaled by the cosine of the mean latitude, so
a kilometre east is as long as a kilometre north at a neighbourhood's scale) and fitted to the
drawing. Each nurse's route is a line of their colour from the base through the stops in order
and back; stops carry their order number; unplanned visits are grey crosses. Every mark has a
<title>, and the page shows the same routes as a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from joinedup.neighbourhood.visits.model import Plan

WIDTH, HEIGHT, PAD = 640, 420, 24
# NHS identity colours, distinguishable on screen and in print.
COLOURS = ("#005eb8", "#da291c", "#007f3b", "#7c2855", "#ed8b00", "#00a499", "#330072", "#425563")
Point = tuple[float, float]


def nurse_colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def _projector(points: Sequence[Point]) -> tuple[float, float, float, float, float]:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    scale_x = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * scale_x, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    k = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)
    return min(lons), max(lats), scale_x, k, span_x


def route_map(plan: Plan, nurse_names: Mapping[str, str]) -> Markup:
    """The plan's routes as an SVG element."""
    day = plan.day
    places = [(n.lat, n.lon) for n in day.nurses] + [(v.lat, v.lon) for v in day.visits]
    if not places:
        return Markup("")
    west, north, scale_x, k, span_x = _projector(places)
    offset = (WIDTH - 2 * PAD - span_x * k) / 2

    def xy(lat: float, lon: float) -> str:
        return f"{PAD + offset + (lon - west) * scale_x * k:.1f},{PAD + (north - lat) * k:.1f}"

    marks: list[str] = []
    order = {n.id: i for i, n in enumerate(day.nurses)}
    for route in plan.routes:
        nurse = day.nurse(route.nurse_id)
        colour = nurse_colour(order[route.nurse_id])
        name = escape(nurse_names.get(route.nurse_id, route.nurse_id))
        path = [xy(nurse.lat, nurse.lon)]
        path += [xy(day.visit(s.visit_id).lat, day.visit(s.visit_id).lon) for s in route.stops]
        path.append(xy(nurse.lat, nurse.lon))
        marks.append(
            f'<polyline points="{" ".join(path)}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5" stroke-opacity="0.8"><title>{name}</title></polyline>'
        )
        x, y = xy(nurse.lat, nurse.lon).split(",")
        marks.append(
            f'<rect x="{float(x) - 6:.1f}" y="{float(y) - 6:.1f}" width="12" height="12" '
            f'fill="{colour}"><title>Base of {name}</title></rect>'
        )
        for number, stop in enumerate(route.stops, start=1):
            x, y = xy(day.visit(stop.visit_id).lat, day.visit(stop.visit_id).lon).split(",")
            marks.append(
                f'<g><title>{name}, visit {number}</title><circle cx="{x}" cy="{y}" r="9" '
                f'fill="#fff" stroke="{colour}" stroke-width="2"/><text x="{x}" y="{y}" '
                f'dy="4" text-anchor="middle" font-size="11" fill="#212b32">{number}</text></g>'
            )
    for unplanned in plan.unplanned:
        visit = day.visit(unplanned.visit_id)
        ux, uy = (float(c) for c in xy(visit.lat, visit.lon).split(","))
        marks.append(
            f'<path d="M{ux - 6:.1f},{uy - 6:.1f}L{ux + 6:.1f},{uy + 6:.1f}M{ux - 6:.1f},'
            f'{uy + 6:.1f}L{ux + 6:.1f},{uy - 6:.1f}" stroke="#768692" stroke-width="3">'
            f"<title>Unplanned: {escape(unplanned.reason)}</title></path>"
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'id="route-map" aria-labelledby="route-map-title" width="100%">'
        f"<title id=\"route-map-title\">Map of the day's routes: each nurse's visits in order "
        f'from their base</title><rect width="{WIDTH}" height="{HEIGHT}" fill="#f0f4f5"/>'
        f"{''.join(marks)}</svg>"
    )
