"""The asset map: finding community services by need, taxonomy term and distance, the places
to draw them among, and the gaps (needs with no service near a neighbourhood).

* `find_services` — the services matching a need typed in words (each word in the service's
  name, description or one of its taxonomy terms), a taxonomy term, and a distance from a point
  (a person's home, a postcode): physical places nearest first within the distance; services
  reached by telephone or online (no physical place) listed apart, since distance does not
  limit them. Each comes as a `ServiceCard`: contact, opening times, eligibility, cost.
* `area_places` — the area's practices (placed by `joinedup.population.places`) and each
  neighbourhood's centre, the centroid of its practices.
* `find_gaps` — for each neighbourhood, each need (taxonomy term) whose nearest open physical
  service is further than `DEFAULT_GAP_KM` from the neighbourhood's centre, or nowhere.

Distances are great-circle (haversine) as the ORUK API measures them
(`joinedup.directory.services.haversine_km`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from joinedup.directory import models as m

# `_distances` is the ORUK API's own proximity ranking, shared so both measure alike.
from joinedup.directory.services import (
    ServiceQuery,
    _distances,
    haversine_km,
    is_stale,
)
from joinedup.population.places import Point, practice_locations
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore

#: A need is a gap for a neighbourhood when no open service is within this distance (km).
DEFAULT_GAP_KM = 5.0
MAX_RESULTS = 50
OPEN = "active"
WEEKDAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}


@dataclass(frozen=True)
class Need:
    """A taxonomy term, as a need a caller may have."""

    term_id: str
    name: str
    taxonomy: str


@dataclass(frozen=True)
class AssetQuery:
    need: str = ""
    term_id: str = ""
    origin: Point | None = None
    within_km: float | None = None


@dataclass(frozen=True)
class ServiceCard:
    id: str
    name: str
    organisation: str | None
    description: str
    status: str
    needs: tuple[str, ...]
    distance_km: float | None  # to the nearest physical place; None: none, or no origin
    place_name: str | None
    address: str | None
    point: Point | None
    phones: tuple[str, ...]
    email: str | None
    url: str | None
    opening: tuple[str, ...]
    eligibility: str
    cost: str
    languages: tuple[str, ...]
    accessibility: tuple[str, ...]
    reviewed_at: dt.date | None
    stale: bool

    @property
    def remote(self) -> bool:
        """Reached by telephone or online only."""
        return self.point is None


@dataclass(frozen=True)
class FoundServices:
    near: tuple[ServiceCard, ...]  # with a physical place (nearest first given an origin)
    remote: tuple[ServiceCard, ...]  # telephone or online only
    total: int  # matches before `MAX_RESULTS` cut the list


@dataclass(frozen=True)
class MapPlace:
    code: str
    name: str
    point: Point
    parent: str | None = None  # a practice's neighbourhood


@dataclass(frozen=True)
class AreaPlaces:
    practices: tuple[MapPlace, ...]
    neighbourhoods: tuple[MapPlace, ...]  # at the centroid of their placed practices


@dataclass(frozen=True)
class Gap:
    need: Need
    nearest_km: float | None  # the nearest open service with that need; None: none anywhere
    remote_services: int  # services with that need reached by telephone or online


@dataclass(frozen=True)
class NeighbourhoodGaps:
    neighbourhood: MapPlace
    gaps: tuple[Gap, ...]
    needs_checked: int


# --- needs ------------------------------------------------------------------------------------


def needs(sessions: sessionmaker[Session]) -> list[Need]:
    """Every taxonomy term of the directory, by name."""
    term, taxonomy = m.DirectoryTaxonomyTerm, m.DirectoryTaxonomy
    with sessions() as session:
        rows = session.execute(
            select(term.id, term.name, taxonomy.name)
            .join(taxonomy, term.taxonomy_id == taxonomy.id)
            .order_by(term.name, term.id)
        )
        return [Need(*row) for row in rows]


# --- finding services -------------------------------------------------------------------------


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(query: AssetQuery) -> Select[Any]:
    """The ids of services matching the need's words and the taxonomy term."""
    service = m.DirectoryService
    ids = select(service.id)
    for word in query.need.casefold().split():
        pattern = _like(word)
        with_term_named = (
            select(m.DirectoryServiceTerm.service_id)
            .join(m.DirectoryTaxonomyTerm)
            .where(func.lower(m.DirectoryTaxonomyTerm.name).like(pattern, escape="\\"))
        )
        ids = ids.where(
            or_(
                func.lower(service.name).like(pattern, escape="\\"),
                func.lower(service.description).like(pattern, escape="\\"),
                service.id.in_(with_term_named),
            )
        )
    if query.term_id:
        with_term = select(m.DirectoryServiceTerm.service_id).where(
            m.DirectoryServiceTerm.taxonomy_term_id == query.term_id
        )
        ids = ids.where(service.id.in_(with_term))
    return ids


def find_services(
    sessions: sessionmaker[Session], query: AssetQuery, today: dt.date
) -> FoundServices:
    """The services matching `query` (see the module's docstring)."""
    with sessions() as session:
        matching = _matching(query)
        placed = _ranked_places(session, query, matching)
        remote_ids = _remote_ids(session, matching)
        total = len(placed) + len(remote_ids)
        near_ids = list(placed)[:MAX_RESULTS]
        remote_ids = remote_ids[: max(0, MAX_RESULTS - len(near_ids))]
        rows = _load(session, [*near_ids, *remote_ids])
        near = tuple(_card(rows[i], placed[i], query.origin, today) for i in near_ids)
        remote = tuple(_card(rows[i], None, None, today) for i in remote_ids)
    return FoundServices(near, remote, total)


def get_card(
    sessions: sessionmaker[Session], service_id: str, today: dt.date, origin: Point | None = None
) -> ServiceCard | None:
    """One service as a card (None when there is no such service)."""
    with sessions() as session:
        rows = _load(session, [service_id])
        if service_id not in rows:
            return None
        service = rows[service_id]
        return _card(service, _nearest_place(service, origin), origin, today)


def _ranked_places(session: Session, query: AssetQuery, matching: Select[Any]) -> dict[str, str]:
    """Service id → its nearest (or, with no origin, first) physical location id, in order."""
    if query.origin is not None:
        proximity = None if query.within_km is None else query.within_km * 1000
        point = ServiceQuery(lat=query.origin.lat, lon=query.origin.lon, proximity=proximity)
        ranked: dict[str, str] = {}
        for _, at_id, service_id in _distances(session, point, matching):
            ranked.setdefault(service_id, at_id)
        return ranked
    at, location, service = m.DirectoryServiceAtLocation, m.DirectoryLocation, m.DirectoryService
    rows = session.execute(
        select(at.service_id, at.id)
        .join(location)
        .join(service, at.service_id == service.id)
        .where(
            at.service_id.in_(matching),
            location.latitude.is_not(None),
            location.longitude.is_not(None),
        )
        .order_by(service.name, service.id, at.id)
    )
    firsts: dict[str, str] = {}
    for service_id, at_id in rows:
        firsts.setdefault(service_id, at_id)
    return firsts


def _remote_ids(session: Session, matching: Select[Any]) -> list[str]:
    """Matching services with no physical place, by name."""
    at, location, service = m.DirectoryServiceAtLocation, m.DirectoryLocation, m.DirectoryService
    placed = (
        select(at.service_id)
        .join(location)
        .where(location.latitude.is_not(None), location.longitude.is_not(None))
    )
    return list(
        session.scalars(
            select(service.id)
            .where(service.id.in_(matching), service.id.not_in(placed))
            .order_by(service.name, service.id)
        )
    )


def _load(session: Session, ids: Sequence[str]) -> dict[str, m.DirectoryService]:
    service = m.DirectoryService
    rows = session.scalars(
        select(service)
        .where(service.id.in_(ids))
        .options(
            selectinload(service.organization),
            selectinload(service.schedules),
            selectinload(service.cost_options),
            selectinload(service.languages),
            selectinload(service.contacts).selectinload(m.DirectoryContact.phones),
            selectinload(service.attributes).selectinload(m.DirectoryServiceTerm.taxonomy_term),
            selectinload(service.service_at_locations)
            .selectinload(m.DirectoryServiceAtLocation.location)
            .options(
                selectinload(m.DirectoryLocation.addresses),
                selectinload(m.DirectoryLocation.accessibility),
            ),
        )
    )
    return {row.id: row for row in rows}


def _nearest_place(service: m.DirectoryService, origin: Point | None) -> str | None:
    placed = [
        (
            haversine_km((origin.lat, origin.lon), (loc.latitude, loc.longitude)) if origin else 0,
            at.id,
        )
        for at in service.service_at_locations
        if (loc := at.location).latitude is not None and loc.longitude is not None
    ]
    return min(placed)[1] if placed else None


def _card(
    service: m.DirectoryService, at_id: str | None, origin: Point | None, today: dt.date
) -> ServiceCard:
    at = next((a for a in service.service_at_locations if a.id == at_id), None)
    location = at.location if at is not None else None
    point = (
        Point(location.latitude, location.longitude)
        if location is not None and location.latitude is not None and location.longitude is not None
        else None
    )
    address = location.addresses[0] if location is not None and location.addresses else None
    distance = (
        haversine_km((origin.lat, origin.lon), (point.lat, point.lon))
        if origin is not None and point is not None
        else None
    )
    return ServiceCard(
        id=service.id,
        name=service.name,
        organisation=service.organization.name if service.organization else None,
        description=service.description or "",
        status=service.status,
        needs=tuple(a.taxonomy_term.name for a in service.attributes),
        distance_km=distance,
        place_name=location.name if location is not None else None,
        address=(f"{address.address_1}, {address.city} {address.postal_code}" if address else None),
        point=point,
        phones=tuple(p.number for c in service.contacts for p in c.phones),
        email=service.email,
        url=service.url,
        opening=tuple(opening_text(s) for s in service.schedules),
        eligibility=eligibility_text(service.minimum_age, service.maximum_age),
        cost=cost_text(service.cost_options),
        languages=tuple(lang.name for lang in service.languages if lang.name),
        accessibility=tuple(
            a.description for a in (location.accessibility if location else []) if a.description
        ),
        reviewed_at=service.reviewed_at,
        stale=is_stale(service.reviewed_at, today),
    )


def opening_text(schedule: m.DirectorySchedule) -> str:
    """ "Tuesday and Saturday, 10:00 to 11:30" from an RFC 5545 weekly schedule; otherwise the
    schedule's own description."""
    days = [WEEKDAYS[d] for d in (schedule.byday or "").split(",") if d in WEEKDAYS]
    if schedule.freq == "WEEKLY" and days and schedule.opens_at and schedule.closes_at:
        named = days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]
        if len(days) == 7:
            named = "Every day"
        return f"{named}, {schedule.opens_at[:5]} to {schedule.closes_at[:5]}"
    return schedule.description or "Ask the service"


def eligibility_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"Aged {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"Aged {minimum:g} and over"
    if maximum is not None:
        return f"Aged up to {maximum:g}"
    return "Anyone"


def cost_text(options: Sequence[m.DirectoryCostOption]) -> str:
    priced = [o for o in options if o.amount]
    if not priced:
        return "Free"
    return "; ".join(f"£{o.amount:.2f} {o.amount_description or ''}".strip() for o in priced)


# --- places and gaps --------------------------------------------------------------------------


def area_places(store: PopulationStore) -> AreaPlaces:
    """The area's placed practices and its neighbourhoods' centres."""
    orgs = organisations(store)
    located = practice_locations(store)
    practices = tuple(
        MapPlace(code, orgs[code].name, place.point, orgs[code].parent_code)
        for code, place in sorted(located.items())
        if code in orgs
    )
    neighbourhoods = []
    for code, org in sorted(orgs.items()):
        own = [p.point for p in practices if p.parent == code]
        if org.org_type == "neighbourhood" and own:
            centre = Point(sum(p.lat for p in own) / len(own), sum(p.lon for p in own) / len(own))
            neighbourhoods.append(MapPlace(code, org.name, centre))
    return AreaPlaces(practices, tuple(neighbourhoods))


def find_gaps(
    sessions: sessionmaker[Session], store: PopulationStore, within_km: float = DEFAULT_GAP_KM
) -> list[NeighbourhoodGaps]:
    """Each neighbourhood's needs with no open service within `within_km` of its centre."""
    all_needs = needs(sessions)
    places, remote = _open_places_by_need(sessions)
    result = []
    for hood in area_places(store).neighbourhoods:
        gaps = []
        for need in all_needs:
            distances = [
                haversine_km((hood.point.lat, hood.point.lon), (p.lat, p.lon))
                for p in places.get(need.term_id, [])
            ]
            nearest = min(distances) if distances else None
            if nearest is None or nearest > within_km:
                gaps.append(Gap(need, nearest, remote.get(need.term_id, 0)))
        result.append(NeighbourhoodGaps(hood, tuple(gaps), len(all_needs)))
    return result


def _open_places_by_need(
    sessions: sessionmaker[Session],
) -> tuple[dict[str, list[Point]], dict[str, int]]:
    """Open services' physical places by term id, and how many open remote services each term
    has."""
    service, term = m.DirectoryService, m.DirectoryServiceTerm
    at, location = m.DirectoryServiceAtLocation, m.DirectoryLocation
    with sessions() as session:
        rows = session.execute(
            select(term.taxonomy_term_id, location.latitude, location.longitude)
            .join(service, term.service_id == service.id)
            .join(at, at.service_id == service.id)
            .join(location, at.location_id == location.id)
            .where(
                service.status == OPEN,
                location.latitude.is_not(None),
                location.longitude.is_not(None),
            )
        ).all()
        placed_ids = (
            select(at.service_id)
            .join(location)
            .where(location.latitude.is_not(None), location.longitude.is_not(None))
        )
        remote_rows = session.execute(
            select(term.taxonomy_term_id, func.count())
            .join(service, term.service_id == service.id)
            .where(service.status == OPEN, service.id.not_in(placed_ids))
            .group_by(term.taxonomy_term_id)
        ).all()
    places: dict[str, list[Point]] = {}
    for term_id, lat, lon in rows:
        if lat is not None and lon is not None:  # the query's filter, for the type checker
            places.setdefault(term_id, []).append(Point(lat, lon))
    return places, {term_id: int(n) for term_id, n in remote_rows}
