"""Care-store tables of commissioning: delivery-plan submissions, workforce and the published
practice data loaded for fair comparison."""

from __future__ import annotations
