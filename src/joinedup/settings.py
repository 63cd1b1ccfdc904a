"""Where joinedup keeps its data, read once from the environment.

JOINEDUP_HOME       folder for the population store and the embedded care store (default ./var)
JOINEDUP_DATABASE_URL  SQLAlchemy URL of the care store (default: SQLite file in JOINEDUP_HOME)
JOINEDUP_OSRM_URL   base URL of the area's OSRM server for visit travel times (default: none,
                    travel is estimated from straight-line distance)
JOINEDUP_TRAVEL_WINDING   road distance ÷ straight-line distance for that estimate (default 1.3)
JOINEDUP_TRAVEL_SPEED_KMH average urban driving speed for that estimate (default 30)
JOINEDUP_DISCLOSURE_K     the smallest group a pseudonymised output may show (default 10;
                          `joinedup.governance.disclosure`)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    osrm_url: str | None = None
    # As written in the environment; checked where they are used (neighbourhood.visits.travel).
    travel_winding: str | None = None
    travel_speed_kmh: str | None = None
    disclosure_k: str | None = None

    @property
    def population_dir(self) -> Path:
        return self.home / "population"

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        home = Path(home or os.environ.get("JOINEDUP_HOME", "var")).resolve()
        url = os.environ.get("JOINEDUP_DATABASE_URL") or f"sqlite:///{home / 'care.db'}"
        return cls(
            home=home,
            database_url=url,
            osrm_url=os.environ.get("JOINEDUP_OSRM_URL") or None,
            travel_winding=os.environ.get("JOINEDUP_TRAVEL_WINDING") or None,
            travel_speed_kmh=os.environ.get("JOINEDUP_TRAVEL_SPEED_KMH") or None,
            disclosure_k=os.environ.get("JOINEDUP_DISCLOSURE_K") or None,
        )
