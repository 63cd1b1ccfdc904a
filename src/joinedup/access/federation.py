"""Who a hub serves: the registered patients of the practices of its federation.

Enhanced Access is a service of a primary care network for its registered patients, and the
federation's hubs are bookable by any practice of the federation (NHS England, Network
Contract DES specification, Enhanced Access section; the local specification's A4). So a
booking is refused unless the person is registered, on the population store's extract date,
with a practice whose federation is the hub's.

The federation of an organisation is found by walking the care store's mirror of the area's
organisations (practice → neighbourhood → federation) upward from it; a hub names its PCN or
neighbourhood (or the federation itself) as ``pcn_code``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from joinedup.carestore.models import Organisation
from joinedup.population.reads import find_person, organisations
from joinedup.population.store import PopulationStore

#: No area nests organisations deeper than this (ICB → federation → neighbourhood → practice).
_MAX_DEPTH = 6


def federation_of(session: Session, org_code: str | None) -> str | None:
    """The code of the federation `org_code` belongs to (itself if it is one), or None."""
    code = org_code
    for _ in range(_MAX_DEPTH):
        organisation = session.get(Organisation, code) if code else None
        if organisation is None:
            return None
        if organisation.org_type == "federation":
            return organisation.org_code
        code = organisation.parent_code
    return None


def registered_practice(store: PopulationStore, person_id: int) -> str | None:
    """The practice `person_id` is registered with on the extract date (None: not registered
    there, or no such person)."""
    person = find_person(store, person_id)
    return person.practice_code if person is not None else None


def federation_in_store(store: PopulationStore, org_code: str | None) -> str | None:
    """The federation `org_code` belongs to, by the population store's organisations."""
    orgs = organisations(store)
    code = org_code
    for _ in range(_MAX_DEPTH):
        organisation = orgs.get(code or "")
        if organisation is None:
            return None
        if organisation.org_type == "federation":
            return organisation.code
        code = organisation.parent_code
    return None


def federation_practices(store: PopulationStore, org_codes: Iterable[str]) -> frozenset[str]:
    """The practices of the federations that `org_codes` (a user's organisations) belong to:
    whose patients a receptionist of them may book for."""
    federations = {federation_in_store(store, code) for code in org_codes} - {None}
    return frozenset(
        org.code
        for org in organisations(store).values()
        if org.org_type == "practice" and federation_in_store(store, org.code) in federations
    )
