"""Where joinedup keeps its data, read once from the environment.

JOINEDUP_HOME       folder for the population store and the embedded care store (default ./var)
JOINEDUP_DATABASE_URL  SQLAlchemy URL of the care store (default: SQLite file in JOINEDUP_HOME)
JOINEDUP_OSRM_URL   base URL of the area's OSRM server for visit travel times (default: none,
                    travel is estimated from straight-line distance)
JOINEDUP_TRAVEL_WINDING   road distance ÷ straight-line distance for that estimate (default 1.3)
JOINEDUP_TRAVEL_SPEED_KMH average urban driving speed for that estimate (default 30)
JOINEDUP_SESSION_IDLE_MINUTES   sign a web user out after this long without a request (default 30)
JOINEDUP_SESSION_LIFETIME_HOURS sign a web user out this long after signing in (default 12)
JOINEDUP_AUDIT_ANCHORS  the append-only file of audit-chain anchors (default
                        JOINEDUP_HOME/audit-anchors.jsonl)
JOINEDUP_DISCLOSURE_K     the smallest group a pseudonymised output may show (default 10;
                          `joinedup.governance.disclosure`)
JOINEDUP_REQUEST_THREADS  requests a serving process works on at once (default 1;
                          `joinedup.web.app.request_threads`)
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
    # As written; checked by governance.sessions.SessionLimits.from_settings.
    session_idle_minutes: str | None = None
    session_lifetime_hours: str | None = None
    audit_anchors: Path | None = None
    disclosure_k: str | None = None
    # As written; checked by neighbourhood.ward_tick.interval_seconds.
    ward_tick_seconds: str | None = None
    # As written; checked by web.app.request_threads.
    request_threads: str | None = None

    @property
    def audit_anchors_path(self) -> Path:
        """The append-only file of audit-chain anchors (`governance.audit_anchor`)."""
        return self.audit_anchors or self.home / "audit-anchors.jsonl"

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
            session_idle_minutes=os.environ.get("JOINEDUP_SESSION_IDLE_MINUTES") or None,
            session_lifetime_hours=os.environ.get("JOINEDUP_SESSION_LIFETIME_HOURS") or None,
            audit_anchors=_path(os.environ.get("JOINEDUP_AUDIT_ANCHORS")),
            disclosure_k=os.environ.get("JOINEDUP_DISCLOSURE_K") or None,
            ward_tick_seconds=os.environ.get("JOINEDUP_WARD_TICK_SECONDS") or None,
            request_threads=os.environ.get("JOINEDUP_REQUEST_THREADS") or None,
        )


def _path(value: str | None) -> Path | None:
    return Path(value).resolve() if value else None
