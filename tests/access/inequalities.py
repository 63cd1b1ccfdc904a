"""Access decisions for the inequalities lens and the workforce baseline (helper H10)."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, EXPORT

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/population/inequalities"): AGGREGATES,
    ("GET", "/population/inequalities.csv"): EXPORT,
    ("GET", "/commissioning/workforce"): AGGREGATES,
    ("GET", "/commissioning/workforce.csv"): EXPORT,
}
