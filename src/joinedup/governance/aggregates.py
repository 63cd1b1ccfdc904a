"""Population figures as they may leave for commissioning: objectors out, every count suppressed.

The population overview (`joinedup.population.overview`) counts; governance decides what of
those counts may be shown. Kept here, above the population layer, so the bottom domain layer
knows nothing of the rules applied to what it counts.
"""

from __future__ import annotations

from joinedup.governance.suppression import suppress_count
from joinedup.population.overview import PopulationOverview, population_overview
from joinedup.population.store import PopulationStore


def aggregate_overview(
    store: PopulationStore, neighbourhood: str | None, objectors: frozenset[int]
) -> PopulationOverview:
    """The overview as it may be shown for commissioning: objectors left out and every count
    (the number of objectors left out included) passed through small-number suppression."""
    return population_overview(store, neighbourhood, exclude=objectors).with_counts(suppress_count)
