"""Access decisions for practice variation and the published-data mode."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, EXPORT

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/commissioning/published"): AGGREGATES,
    ("GET", "/commissioning/published/{indicator}"): AGGREGATES,
    ("GET", "/commissioning/published/practices/{practice_code}"): AGGREGATES,
    ("GET", "/commissioning/published/{indicator}/data.csv"): EXPORT,
}
