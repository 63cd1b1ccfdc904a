"""Access decisions for the workforce baseline, continuity and the inequalities lens."""

from __future__ import annotations

ROUTES: dict[tuple[str, str], frozenset[str]] = {}
