"""Travel times between places, behind one interface so an area's road-network service can
replace the straight-line estimate by configuration.

`StraightLine` (the default) estimates minutes from the great-circle (haversine) distance ×
a road-winding factor ÷ an urban driving speed, plus a fixed allowance to park and walk to the
door. The defaults: winding factor 1.3 (road distance over straight-line distance in English
towns is typically 1.2–1.4: Boscoe, Henry and Zdeb, "A nationwide comparison of driving
distance versus straight-line distance to hospitals", Prof Geogr 2012, found 1.3 on average),
30 km/h (urban driving including junctions) and 2 minutes to park. All three are settings.

`OsrmTable` asks an OSRM server's table service (`/table/v1/driving/{lon,lat;...}
?annotations=duration`) for the duration matrix in seconds (http://project-osrm.org/docs/v5.24.0/api/#table-service);
`JOINEDUP_OSRM_URL` selects it; `JOINEDUP_TRAVEL_WINDING` and `JOINEDUP_TRAVEL_SPEED_KMH` set the
estimate's factor and speed (see `joinedup.settings`).

Every matrix is whole minutes, rounded up, so a plan never assumes a quicker journey than the
estimate; the diagonal is 0.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from joinedup.errors import UserError

if TYPE_CHECKING:
    from joinedup.settings import Settings

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
Point = tuple[float, float]  # (lat, lon)
Matrix = list[list[int]]
Places = dict[Point, int]  # each distinct place and its row in a matrix


class TravelTimes(Protocol):
    """Minutes to travel from each point to each other point."""

    def matrix(self, points: Sequence[Point]) -> Matrix: ...


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class StraightLine:
    winding: float = 1.3
    speed_kmh: float = 30.0
    parking_min: int = 2

    def minutes(self, a: Point, b: Point) -> int:
        if a == b:
            return 0
        driving = haversine_km(a, b) * self.winding / self.speed_kmh * 60
        return math.ceil(driving - 1e-9) + self.parking_min

    def matrix(self, points: Sequence[Point]) -> Matrix:
        return [[self.minutes(a, b) for b in points] for a in points]


class TravelServiceError(UserError):
    """The road-network service could not give travel times."""


@dataclass(frozen=True)
class OsrmTable:
    """An OSRM server's table service; `base_url` like http://osrm.example:5000.

    osrm-routed refuses tables larger than its `--max-table-size` (100 × 100 by default), so a
    larger matrix is asked for in blocks of at most `block` sources × `block` destinations.
    """

    base_url: str
    profile: str = "driving"
    timeout_s: float = 30.0
    block: int = 100

    def matrix(self, points: Sequence[Point]) -> Matrix:
        size = len(points)
        matrix = [[0] * size for _ in range(size)]
        starts = range(0, size, self.block)
        for i in starts:
            for j in starts:
                rows, cols = (
                    range(i, min(i + self.block, size)),
                    range(j, min(j + self.block, size)),
                )
                for r, row in zip(rows, self._table(points, rows, cols), strict=True):
                    for c, minutes in zip(cols, row, strict=True):
                        matrix[r][c] = 0 if r == c else minutes
        return matrix

    def _table(self, points: Sequence[Point], rows: range, cols: range) -> Matrix:
        """Minutes from the `rows` points to the `cols` points, in one request."""
        same = rows == cols
        chosen = [points[k] for k in rows] + ([] if same else [points[k] for k in cols])
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in chosen)
        destinations = range(len(rows)) if same else range(len(rows), len(chosen))
        url = (
            f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coordinates}"
            f"?annotations=duration&sources={';'.join(map(str, range(len(rows))))}"
            f"&destinations={';'.join(map(str, destinations))}"
        )
        body = self._get(url)
        if body.get("code") != "Ok":
            raise TravelServiceError(
                f"the OSRM server refused the travel-time request: {body.get('code')} "
                f"{body.get('message', '')}".strip()
            )
        return self._minutes(body.get("durations"), len(rows), len(cols), rows.start)

    def _get(self, url: str) -> dict[str, object]:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
            except ValueError:
                raise TravelServiceError(f"the OSRM server answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TravelServiceError(
                f"the OSRM server at {self.base_url} cannot be reached: {reason}"
            ) from None
        except ValueError:
            raise TravelServiceError("the OSRM server's answer is not JSON") from None
        if not isinstance(body, dict):
            raise TravelServiceError("the OSRM server's answer is not a table")
        return body

    @staticmethod
    def _minutes(durations: object, height: int, width: int, first_row: int) -> Matrix:
        if not (
            isinstance(durations, list)
            and len(durations) == height
            and all(isinstance(row, list) and len(row) == width for row in durations)
        ):
            raise TravelServiceError(f"the OSRM server's table is not {height} × {width}")
        matrix: Matrix = []
        for i, row in enumerate(durations):
            if any(seconds is None for seconds in row):
                raise TravelServiceError(f"the OSRM server has no route from place {first_row + i}")
            matrix.append([math.ceil(float(seconds) / 60 - 1e-9) for seconds in row])
        return matrix


def travel_times(settings: Settings) -> TravelTimes:
    """The configured travel times: the area's OSRM server when one is set, else the estimate."""
    if settings.osrm_url:
        return OsrmTable(settings.osrm_url)
    default = StraightLine()
    return StraightLine(
        winding=_number("JOINEDUP_TRAVEL_WINDING", settings.travel_winding, default.winding, 3),
        speed_kmh=_number(
            "JOINEDUP_TRAVEL_SPEED_KMH", settings.travel_speed_kmh, default.speed_kmh, 120
        ),
    )


def _number(name: str, text: str | None, default: float, upper: float) -> float:
    """A setting's number, or a one-line error naming the setting."""
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= upper:
        raise UserError(f"{name} must be a number above 0 and at most {upper:g}, not {text!r}")
    return value
