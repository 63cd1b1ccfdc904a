"""Access decisions for data in and out (ingest batches, FHIR and analytic exports)."""

from __future__ import annotations

ROUTES: dict[tuple[str, str], frozenset[str]] = {}
