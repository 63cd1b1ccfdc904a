"""Where joinedup keeps its data, read once from the environment.

JOINEDUP_HOME       folder for the population store and the embedded care store (default ./var)
JOINEDUP_DATABASE_URL  SQLAlchemy URL of the care store (default: SQLite file in JOINEDUP_HOME)
JOINEDUP_OSRM_URL   base URL of the area's OSRM server for visit travel times (default: none,
                    travel is estimated from straight-line distance)
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

    @property
    def population_dir(self) -> Path:
        return self.home / "population"

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        home = Path(home or os.environ.get("JOINEDUP_HOME", "var")).resolve()
        url = os.environ.get("JOINEDUP_DATABASE_URL") or f"sqlite:///{home / 'care.db'}"
        osrm_url = os.environ.get("JOINEDUP_OSRM_URL") or None
        return cls(home=home, database_url=url, osrm_url=osrm_url)
