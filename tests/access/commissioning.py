"""Access decisions for commissioning: delivery tracker, practice variation, published data
and workforce."""

from __future__ import annotations

from tests.access.sets import ALL

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # Not built yet: an honest "not available" page for anyone signed in.
    ("GET", "/commissioning"): ALL,
}
