"""The JSON Schemas of the visit planner's files, generated from the models (docs/visits/ holds
them; `scripts/visits_schemas.py` writes them, a test keeps them current)."""

from __future__ import annotations

from typing import Any

from joinedup.neighbourhood.visits.model import Day, Events, Plan


def schemas() -> dict[str, dict[str, Any]]:
    """File name stem → JSON Schema: the day to plan, the plan, the events of a replan."""
    return {
        "day": Day.model_json_schema(mode="validation"),
        "plan": Plan.model_json_schema(mode="serialization", by_alias=True),
        "events": Events.model_json_schema(mode="validation", by_alias=True),
    }
