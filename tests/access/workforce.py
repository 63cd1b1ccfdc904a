"""Access decisions for practice variation on the area's own data (helper H6), and later the
workforce baseline and inequalities lens."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, CASE_FINDING, EXPORT

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/commissioning/practices"): AGGREGATES,
    ("GET", "/commissioning/practices.csv"): EXPORT,
    ("GET", "/commissioning/practices/funnel/{indicator}"): AGGREGATES,
    ("GET", "/commissioning/practices/funnel/{indicator}.csv"): EXPORT,
    ("GET", "/commissioning/practices/{practice_code}"): AGGREGATES,
    # Named for case-finding users in their own practices, pseudonymised for commissioners.
    ("GET", "/commissioning/practices/{practice_code}/{indicator}/people"): CASE_FINDING,
}
