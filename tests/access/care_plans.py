"""Access decisions for holistic care plans."""

from __future__ import annotations

ROUTES: dict[tuple[str, str], frozenset[str]] = {}
