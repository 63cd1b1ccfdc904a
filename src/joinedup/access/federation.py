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

from sqlalchemy import Select, bindparam, literal, select
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


def _federations_statement() -> Select[str, str]:
    """Each of the organisations ``:codes`` with the federation above it (a recursive walk up
    the mirror; an organisation under no federation gives no row)."""
    org = Organisation.__table__
    up = (
        select(
            org.c.org_code.label("start"),
            org.c.org_code.label("code"),
            org.c.org_type.label("org_type"),
            org.c.parent_code.label("parent_code"),
            literal(0).label("depth"),
        )
        .where(org.c.org_code.in_(bindparam("codes", expanding=True)))
        .cte("up", recursive=True)
    )
    parent = org.alias("parent")
    up = up.union_all(
        select(
            up.c.start, parent.c.org_code, parent.c.org_type, parent.c.parent_code, up.c.depth + 1
        )
        .join(parent, parent.c.org_code == up.c.parent_code)
        .where(up.c.org_type != "federation", up.c.depth < _MAX_DEPTH - 1)
    )
    return select(up.c.start, up.c.code).where(up.c.org_type == "federation")


_FEDERATIONS = _federations_statement()  # built once: building it cost more than running it


def federations_of(session: Session, org_codes: Iterable[str | None]) -> dict[str, str | None]:
    """`federation_of` for several organisations in one statement, as booking asks it three
    times in its transaction: code → its federation (None: under no federation)."""
    codes = sorted({code for code in org_codes if code})
    found: dict[str, str | None] = dict.fromkeys(codes)
    if codes:
        rows = session.connection().execute(_FEDERATIONS, {"codes": codes})
        found.update({start: code for start, code in rows})
    return found


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
