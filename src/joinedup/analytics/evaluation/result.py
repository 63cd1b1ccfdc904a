"""What every evaluation method returns: the estimate as a relative change with its 95%
interval, the checks of its assumptions (passed or failed, with figures) and plain notes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str  # the figures, in plain words

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", bool(self.passed))  # numpy bools → JSON true/false


@dataclass
class Evaluation:
    programme: str
    method: str
    outcome: str
    estimate: float  # relative change, e.g. -0.15 for 15% fewer
    ci_low: float
    ci_high: float
    interval_meaning: str
    compared: str  # what was compared with what
    checks: list[Check] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    planted_effect: float | None = None

    @property
    def covers_zero(self) -> bool:
        return self.ci_low <= 0.0 <= self.ci_high

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: an interval that could not be found is null, never NaN."""
        data = asdict(self)
        for key in ("estimate", "ci_low", "ci_high"):
            if math.isnan(data[key]):
                data[key] = None
        data["covers_zero"] = self.covers_zero
        return data
