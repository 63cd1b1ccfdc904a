"""Where joinedup keeps its data, read once from the environment.

JOINEDUP_HOME       folder for the population store and the embedded care store (default ./var)
JOINEDUP_DATABASE_URL  SQLAlchemy URL of the care store (default: SQLite file in JOINEDUP_HOME)
JOINEDUP_OSRM_URL   base URL of the area's OSRM server for visit travel times (default: none,
                    travel is estimated from straight-line distance)
JOINEDUP_TRAVEL_WINDING   road distance ÷ straight-line distance for that estimate (default 1.3)
JOINEDUP_TRAVEL_SPEED_KMH average urban driving speed for that estimate (default 30)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from joinedup.errors import UserError


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    osrm_url: str | None = None
    travel_winding: float = 1.3
    travel_speed_kmh: float = 30.0

    @property
    def population_dir(self) -> Path:
        return self.home / "population"

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        home = Path(home or os.environ.get("JOINEDUP_HOME", "var")).resolve()
        url = os.environ.get("JOINEDUP_DATABASE_URL") or f"sqlite:///{home / 'care.db'}"
        osrm_url = os.environ.get("JOINEDUP_OSRM_URL") or None
        return cls(
            home=home,
            database_url=url,
            osrm_url=osrm_url,
            travel_winding=_positive("JOINEDUP_TRAVEL_WINDING", 1.3, upper=3.0),
            travel_speed_kmh=_positive("JOINEDUP_TRAVEL_SPEED_KMH", 30.0, upper=120.0),
        )


def _positive(name: str, default: float, upper: float) -> float:
    """A number from the environment, or a one-line error naming the variable."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= upper:
        raise UserError(f"{name} must be a number above 0 and at most {upper:g}, not {text!r}")
    return value
