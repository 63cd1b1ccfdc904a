"""Health checks behind `/health`: a named list, so each store can add its own.

A check takes the app's Settings and returns a JSON value (True/False, or an object with
detail). A check that raises is reported as false and makes the status "degraded". Checks must
be quick and must never return credentials or patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from joinedup.carestore.health import care_store_health
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

HealthCheck = Callable[[Settings], Any]


class HealthReport(BaseModel):
    """The status, and one field for each health check (population_store, care_store, ...)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded"] = Field(
        description="ok when every check ran; degraded when one failed with an error."
    )
    population_store: bool = Field(description="Whether a population store has been generated.")
    care_store: Any = Field(
        description="The care store's state: reachable, current and head revision, status."
    )


def population_store_check(settings: Settings) -> bool:
    return PopulationStore(settings.population_dir).exists()


def care_store_check(settings: Settings) -> dict[str, Any]:
    """Whether the care store is reachable and migrated (never the URL or its password)."""
    return care_store_health(settings.database_url)


def default_health_checks() -> dict[str, HealthCheck]:
    return {"population_store": population_store_check, "care_store": care_store_check}


def run_health_checks(settings: Settings, checks: dict[str, HealthCheck]) -> HealthReport:
    results: dict[str, Any] = {}
    status: Literal["ok", "degraded"] = "ok"
    for name, check in checks.items():
        try:
            results[name] = check(settings)
        except Exception:  # a failing check is a result, not a crash of /health
            results[name] = False
            status = "degraded"
    return HealthReport(status=status, **results)
