"""Access decisions for practice variation and the published-data mode."""

from __future__ import annotations

ROUTES: dict[tuple[str, str], frozenset[str]] = {}
