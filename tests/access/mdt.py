"""Access decisions for MDT meetings and tracked actions."""

from __future__ import annotations

ROUTES: dict[tuple[str, str], frozenset[str]] = {}
