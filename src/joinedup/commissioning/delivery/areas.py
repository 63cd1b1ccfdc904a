"""Delivery areas: the specification's own, or the area's neighbourhoods with their registered
populations (which weight aggregates), plus any area a submission was recorded for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.commissioning.delivery.store_cache import STORE_CACHE, remember, store_version
from joinedup.commissioning.models import DeliveryArea
from joinedup.commissioning.specification import Specification


@dataclass(frozen=True)
class Area:
    """A delivery area: a neighbourhood of the organisations table, or one the specification
    names. `population` weights it in aggregates (0: not weighted)."""

    code: str
    name: str
    population: int
    org_code: str | None = None

    @property
    def measurable(self) -> bool:
        """Whether joinedup measures this area's coordinated-care and continuity elements."""
        return self.org_code is not None


def delivery_areas(
    sessions: sessionmaker[Session],
    spec: Specification,
    populations: Mapping[str, int] | None = None,
) -> list[Area]:
    """The areas the tracker shows: the specification's own areas if it names any, else the
    area's active neighbourhoods (organisations table) with `populations` by neighbourhood
    code; then any other area submissions were recorded for, so no submission is hidden."""
    populations = populations or {}
    if spec.areas:
        areas = [Area(a.code, a.name, a.population) for a in spec.areas]
    else:
        with sessions() as session:
            rows = session.execute(
                select(Organisation.org_code, Organisation.name)
                .where(Organisation.org_type == "neighbourhood", Organisation.active)
                .order_by(Organisation.name)
            ).all()
        areas = [Area(code, name, populations.get(code, 0), org_code=code) for code, name in rows]
    known = {a.code for a in areas}
    with sessions() as session:
        recorded = session.scalars(select(DeliveryArea).order_by(DeliveryArea.name)).all()
    areas += [
        Area(r.code, r.name, r.population, r.org_code) for r in recorded if r.code not in known
    ]
    return areas


def neighbourhood_populations(store: Any) -> dict[str, int]:
    """Registered people per neighbourhood at the population store's extract date (all
    people: these weight percentages and are never shown unsuppressed). Empty if no store."""
    from joinedup.population.overview import population_overview
    from joinedup.population.store import StoreError

    key = ("populations", store_version(store))
    if key not in STORE_CACHE:
        try:
            overview = population_overview(store)
        except StoreError:
            return {}
        remember(key, {row.key: row.count or 0 for row in overview.by_neighbourhood})
    return dict(STORE_CACHE[key])
