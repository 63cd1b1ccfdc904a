"""Access decisions for capitated contracts: the ledger, what-if and evaluation report (issue
18)."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, EXPORT

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/commissioning/contracts"): AGGREGATES,
    ("GET", "/commissioning/contracts/ledger"): AGGREGATES,
    ("GET", "/commissioning/contracts/evaluation"): AGGREGATES,
    ("GET", "/commissioning/contracts/evaluation-report.html"): EXPORT,
}
