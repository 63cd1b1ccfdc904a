"""Access decisions for coordinated care: register, named professional, care plans, MDT,
actions, worklists and the person page."""

from __future__ import annotations

from tests.access.sets import ALL

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # Not built yet: an honest "not available" page for anyone signed in.
    ("GET", "/care-coordination"): ALL,
}
