"""Reading the directory: ORUK documents of its services, taxonomies and terms, paged and
searched as the Open Referral UK API answers (`joinedup.web.directory` serves them under
``/api/oruk/``; `joinedup directory export` writes the same pages to a file).

Every document is built from the stored rows and passed through the ORUK models of
`joinedup.directory.oruk`, so what the API answers is exactly what an import reads: an export
re-imports to the same directory with no changes.

Paging (the ORUK ``Page`` object): ``total_items`` matches, ``size`` is the number on this
page, ``total_pages`` is ⌈total_items ÷ per_page⌉ (0 when nothing matches), ``first_page`` is
page 1, ``last_page`` is page ≥ total_pages, ``empty`` is no contents on this page.

Proximity: given a point (``lat``, ``lon``, WGS84) services are ordered by the great-circle
(haversine, mean Earth radius 6,371.0088 km) distance from it to their nearest physical
location, nearest first; with ``proximity`` (metres, as the ORUK OpenAPI names it) only those
within it are listed. Locations are first cut to a latitude/longitude box by the index, then
measured.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from joinedup.directory import models as m
from joinedup.directory.oruk import (
    Location,
    Organization,
    Service,
    Taxonomy,
    TaxonomyTerm,
    document,
)
from joinedup.errors import UserError

#: A directory entry not reviewed (ORUK assured_date) for this long is stale.
STALE_AFTER_MONTHS = 12
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
MAX_PAGE = 1_000_000
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
ORUK_VERSION = "3.0"
ORUK_PROFILE = "https://github.com/OpenReferralUK/uk-profile"
ORUK_OPENAPI = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json"


class DirectoryQueryError(UserError, ValueError):
    """A directory query that cannot be answered as asked (bad paging, half a point)."""


class DirectoryNotFound(UserError, LookupError):
    """No directory entry with that id."""


def _oruk_id(text: str, what: str) -> str:
    """The id in its stored form (a lower-case UUID); anything else names no entry."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise DirectoryNotFound(f"there is no {what} {text[:60]!r}") from None


# --- documents ------------------------------------------------------------------------------


def organization_document(org: m.DirectoryOrganization) -> dict[str, Any]:
    return document(
        Organization(
            id=org.id,
            name=org.name,
            description=org.description,
            email=org.email,
            website=org.website,
            uri=org.uri,
            logo=org.logo,
            parent_organization_id=org.parent_organization_id,
        )
    )


def location_document(loc: m.DirectoryLocation, *, full: bool = True) -> dict[str, Any]:
    model = Location.model_validate(
        {
            "id": loc.id,
            "location_type": loc.location_type,
            "name": loc.name,
            "description": loc.description,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
            "external_identifier": loc.external_identifier,
            "external_identifier_type": loc.external_identifier_type,
            "addresses": [_columns(a, exclude="location_id") for a in loc.addresses],
            "accessibility": [_columns(a, exclude="location_id") for a in loc.accessibility],
        }
        if full
        else {c: getattr(loc, c) for c in ("id", "location_type", "name", "description")}
        | {"latitude": loc.latitude, "longitude": loc.longitude}
    )
    return document(model, exclude=None if full else {"addresses", "accessibility"})


def term_document(term: m.DirectoryTaxonomyTerm, taxonomy_name: str | None) -> dict[str, Any]:
    return document(
        TaxonomyTerm(
            id=term.id,
            name=term.name,
            description=term.description,
            term=term.term,
            parent_id=term.parent_id,
            taxonomy=taxonomy_name,
            taxonomy_id=term.taxonomy_id,
            term_uri=term.term_uri,
        )
    )


def taxonomy_document(
    taxonomy: m.DirectoryTaxonomy, terms: Sequence[m.DirectoryTaxonomyTerm] | None = None
) -> dict[str, Any]:
    doc = document(
        Taxonomy(
            id=taxonomy.id,
            name=taxonomy.name,
            description=taxonomy.description,
            uri=taxonomy.uri,
            version=taxonomy.version,
        )
    )
    if terms is not None:
        doc["taxonomy_terms"] = [term_document(t, taxonomy.name) for t in terms]
    return doc


def _columns(row: m.Base, exclude: str) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != exclude}


_ONE_TO_ONE = (
    "id",
    "organization_id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "accreditations",
    "minimum_age",
    "maximum_age",
    "alert",
    "last_modified",
)


def service_document(
    service: m.DirectoryService, taxonomy_names: dict[str, str], *, full: bool = True
) -> dict[str, Any]:
    """The service as ORUK: fully nested, or (`full=False`) its one-to-one fields and its
    organisation, as ``/services`` lists them."""
    fields: dict[str, Any] = {name: getattr(service, name) for name in _ONE_TO_ONE}
    fields["assured_date"] = service.reviewed_at
    fields["assurer_email"] = service.reviewed_by
    if service.organization is not None:
        fields["organization"] = organization_document(service.organization)
    if full:
        fields |= {
            "schedules": [_columns(s, "service_id") for s in service.schedules],
            "cost_options": [_columns(c, "service_id") for c in service.cost_options],
            "languages": [_columns(x, "service_id") for x in service.languages],
            "contacts": [
                _columns(c, "service_id")
                | {"phones": [_columns(p, "contact_id") for p in c.phones]}
                for c in service.contacts
            ],
            "attributes": [
                {
                    "id": a.id,
                    "taxonomy_term_id": a.taxonomy_term_id,
                    "link_type": a.link_type,
                    "taxonomy_term": term_document(
                        a.taxonomy_term, taxonomy_names.get(a.taxonomy_term.taxonomy_id)
                    ),
                }
                for a in service.attributes
            ],
            "service_at_locations": [
                {
                    "id": at.id,
                    "location_id": at.location_id,
                    "location": location_document(at.location),
                }
                for at in service.service_at_locations
            ],
        }
    # Through the import's own model, so the API and an import agree on every field's form.
    model = Service.model_validate_json(json.dumps(fields, default=_iso))
    return document(model, exclude=None if full else _ARRAYS)


_ARRAYS = {
    "schedules",
    "service_at_locations",
    "languages",
    "cost_options",
    "contacts",
    "attributes",
}


def _iso(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- paging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise DirectoryQueryError(f"page must be between 1 and {MAX_PAGE:,}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise DirectoryQueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_document(paging: Paging, total: int, contents: list[dict[str, Any]]) -> dict[str, Any]:
    """The ORUK Page object around one page of contents."""
    return page_object(paging.page, paging.per_page, total, contents)


def page_object(
    page: int, per_page: int, total: int, contents: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ORUK Page object: page `page` of `total` items at `per_page` a page."""
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceQuery:
    """What `/services` (and `/service_at_locations`) may be asked."""

    search: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    organization_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    proximity: float | None = None  # metres

    def __post_init__(self) -> None:
        for name in ("taxonomy_term_id", "taxonomy_id", "organization_id"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _canonical(value))
        texts = (self.search, self.taxonomy_term_id, self.taxonomy_id, self.organization_id)
        if any(text is not None and "\x00" in text for text in texts):
            raise DirectoryQueryError("a search or id cannot hold a NUL character")
        if (self.lat is None) != (self.lon is None):
            raise DirectoryQueryError("give both lat and lon, or neither")
        point = self.point
        if point is not None and not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
            raise DirectoryQueryError("lat must be within ±90 and lon within ±180")
        if self.proximity is not None and (
            self.lat is None or not 0 < self.proximity <= 2 * math.pi * EARTH_RADIUS_KM * 1000
        ):
            raise DirectoryQueryError(
                "proximity (metres) needs lat and lon, and must be above 0 and within the Earth"
            )

    @property
    def point(self) -> tuple[float, float] | None:
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)


def _canonical(text: str) -> str:
    """An id as stored (lower-case UUID) when it is one; otherwise as given (it matches none)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _filtered(query: ServiceQuery) -> Select[Any]:
    """The ids of services matching the text and taxonomy filters."""
    ids = select(m.DirectoryService.id)
    if query.search:
        words = [w for w in query.search.casefold().split() if w]
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            ids = ids.where(
                or_(
                    func.lower(m.DirectoryService.name).like(pattern, escape="\\"),
                    func.lower(m.DirectoryService.description).like(pattern, escape="\\"),
                )
            )
    if query.taxonomy_term_id or query.taxonomy_id:
        linked = select(m.DirectoryServiceTerm.service_id).join(m.DirectoryTaxonomyTerm)
        if query.taxonomy_term_id:
            linked = linked.where(m.DirectoryTaxonomyTerm.id == query.taxonomy_term_id)
        if query.taxonomy_id:
            linked = linked.where(m.DirectoryTaxonomyTerm.taxonomy_id == query.taxonomy_id)
        ids = ids.where(m.DirectoryService.id.in_(linked))
    if query.organization_id:
        ids = ids.where(m.DirectoryService.organization_id == query.organization_id)
    return ids


def _box(point: tuple[float, float], radius_km: float) -> tuple[float, float, float, float]:
    """A latitude/longitude box holding every point within radius_km of `point`."""
    lat, lon = point
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    coslat = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
    dlon = 180.0 if coslat <= 0 else min(180.0, dlat / coslat)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _distances(
    session: Session, query: ServiceQuery, matching: Select[Any]
) -> list[tuple[float, str, str]]:
    """(km, service_at_location id, service id) for each matching physical place, nearest
    first, within `proximity` when given."""
    point = query.point
    assert point is not None
    places = (
        select(
            m.DirectoryServiceAtLocation.id,
            m.DirectoryServiceAtLocation.service_id,
            m.DirectoryLocation.latitude,
            m.DirectoryLocation.longitude,
        )
        .join(m.DirectoryLocation)
        .where(
            m.DirectoryServiceAtLocation.service_id.in_(matching),
            m.DirectoryLocation.latitude.is_not(None),
            m.DirectoryLocation.longitude.is_not(None),
        )
    )
    radius_km = None if query.proximity is None else query.proximity / 1000
    if radius_km is not None:
        south, north, west, east = _box(point, radius_km)
        places = places.where(m.DirectoryLocation.latitude.between(south, north))
        if east - west < 360:
            places = places.where(m.DirectoryLocation.longitude.between(west, east))
    measured = [
        (haversine_km(point, (lat, lon)), at_id, service_id)
        for at_id, service_id, lat, lon in session.execute(places)
        if lat is not None and lon is not None  # the query's filter, for the type checker
    ]
    if radius_km is not None:
        measured = [row for row in measured if row[0] <= radius_km]
    return sorted(measured)


def _taxonomy_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(m.DirectoryTaxonomy.id, m.DirectoryTaxonomy.name)).all())


def _load_services(
    session: Session, ids: Sequence[str], *, full: bool
) -> dict[str, m.DirectoryService]:
    options = [selectinload(m.DirectoryService.organization)]
    if full:
        options += [
            selectinload(m.DirectoryService.schedules),
            selectinload(m.DirectoryService.cost_options),
            selectinload(m.DirectoryService.languages),
            selectinload(m.DirectoryService.contacts).selectinload(m.DirectoryContact.phones),
            selectinload(m.DirectoryService.attributes).selectinload(
                m.DirectoryServiceTerm.taxonomy_term
            ),
            selectinload(m.DirectoryService.service_at_locations)
            .selectinload(m.DirectoryServiceAtLocation.location)
            .options(
                selectinload(m.DirectoryLocation.addresses),
                selectinload(m.DirectoryLocation.accessibility),
            ),
        ]
    rows = session.scalars(
        select(m.DirectoryService).where(m.DirectoryService.id.in_(ids)).options(*options)
    )
    return {row.id: row for row in rows}


def nearest_first(ranked: list[tuple[float, str, str]]) -> list[str]:
    """Service ids in order of their nearest place."""
    seen: dict[str, None] = {}
    for _, _, service_id in ranked:
        seen.setdefault(service_id, None)
    return list(seen)


def list_services(
    sessions: sessionmaker[Session],
    query: ServiceQuery = ServiceQuery(),
    paging: Paging = Paging(),
    *,
    full: bool = False,
) -> dict[str, Any]:
    """One ORUK page of services: by name (then id), or nearest first given a point."""
    with sessions() as session:
        matching = _filtered(query)
        if query.point is not None:
            ordered = nearest_first(_distances(session, query, matching))
            total = len(ordered)
            page_ids = ordered[paging.offset : paging.offset + paging.per_page]
        else:
            total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
            page_ids = list(
                session.scalars(
                    matching.order_by(m.DirectoryService.name, m.DirectoryService.id)
                    .offset(paging.offset)
                    .limit(paging.per_page)
                )
            )
        rows = _load_services(session, page_ids, full=full)
        names = _taxonomy_names(session)
        contents = [service_document(rows[i], names, full=full) for i in page_ids]
    return page_document(paging, total, contents)


def export_page(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Every service, fully nested, as one ORUK page (what `joinedup directory export` writes)."""
    with sessions() as session:
        ids = list(
            session.scalars(
                select(m.DirectoryService.id).order_by(
                    m.DirectoryService.name, m.DirectoryService.id
                )
            )
        )
        rows = _load_services(session, ids, full=True)
        names = _taxonomy_names(session)
        contents = [service_document(rows[i], names) for i in ids]
    return page_object(1, max(1, len(contents)), len(contents), contents)


def get_service(sessions: sessionmaker[Session], service_id: str) -> dict[str, Any]:
    service_id = _oruk_id(service_id, "service")
    with sessions() as session:
        rows = _load_services(session, [service_id], full=True)
        if service_id not in rows:
            raise DirectoryNotFound(f"there is no service {service_id}")
        return service_document(rows[service_id], _taxonomy_names(session))


def list_service_at_locations(
    sessions: sessionmaker[Session], query: ServiceQuery = ServiceQuery(), paging: Paging = Paging()
) -> dict[str, Any]:
    """One ORUK page of service-at-locations, each with its location and its service's
    one-to-one fields: by service name, or nearest first given a point."""
    with sessions() as session:
        matching = _filtered(query)
        if query.point is not None:
            ranked = [at_id for _, at_id, _ in _distances(session, query, matching)]
        else:
            ranked = list(
                session.scalars(
                    select(m.DirectoryServiceAtLocation.id)
                    .join(m.DirectoryService)
                    .where(m.DirectoryServiceAtLocation.service_id.in_(matching))
                    .order_by(m.DirectoryService.name, m.DirectoryServiceAtLocation.id)
                )
            )
        page_ids = ranked[paging.offset : paging.offset + paging.per_page]
        rows = {
            row.id: row
            for row in session.scalars(
                select(m.DirectoryServiceAtLocation)
                .where(m.DirectoryServiceAtLocation.id.in_(page_ids))
                .options(
                    selectinload(m.DirectoryServiceAtLocation.location),
                    selectinload(m.DirectoryServiceAtLocation.service).selectinload(
                        m.DirectoryService.organization
                    ),
                )
            )
        }
        contents = [
            {
                "id": at.id,
                "service_id": at.service_id,
                "location_id": at.location_id,
                "location": location_document(at.location, full=False),
                "service": service_document(at.service, {}, full=False),
            }
            for at in (rows[i] for i in page_ids)
        ]
    return page_document(paging, len(ranked), contents)


def list_taxonomies(sessions: sessionmaker[Session], paging: Paging = Paging()) -> dict[str, Any]:
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(m.DirectoryTaxonomy)) or 0
        rows = session.scalars(
            select(m.DirectoryTaxonomy)
            .order_by(m.DirectoryTaxonomy.name, m.DirectoryTaxonomy.id)
            .offset(paging.offset)
            .limit(paging.per_page)
        )
        return page_document(paging, total, [taxonomy_document(t) for t in rows])


def get_taxonomy(sessions: sessionmaker[Session], taxonomy_id: str) -> dict[str, Any]:
    taxonomy_id = _oruk_id(taxonomy_id, "taxonomy")
    with sessions() as session:
        taxonomy = session.get(m.DirectoryTaxonomy, taxonomy_id)
        if taxonomy is None:
            raise DirectoryNotFound(f"there is no taxonomy {taxonomy_id}")
        terms = session.scalars(
            select(m.DirectoryTaxonomyTerm)
            .where(m.DirectoryTaxonomyTerm.taxonomy_id == taxonomy_id)
            .order_by(m.DirectoryTaxonomyTerm.name, m.DirectoryTaxonomyTerm.id)
        ).all()
        return taxonomy_document(taxonomy, terms)


def list_taxonomy_terms(
    sessions: sessionmaker[Session], paging: Paging = Paging(), *, taxonomy_id: str | None = None
) -> dict[str, Any]:
    with sessions() as session:
        terms = select(m.DirectoryTaxonomyTerm)
        if taxonomy_id:
            terms = terms.where(m.DirectoryTaxonomyTerm.taxonomy_id == taxonomy_id)
        total = session.scalar(select(func.count()).select_from(terms.subquery())) or 0
        rows = session.scalars(
            terms.order_by(m.DirectoryTaxonomyTerm.name, m.DirectoryTaxonomyTerm.id)
            .offset(paging.offset)
            .limit(paging.per_page)
        )
        names = _taxonomy_names(session)
        contents = [term_document(t, names.get(t.taxonomy_id)) for t in rows]
        return page_document(paging, total, contents)


def get_taxonomy_term(sessions: sessionmaker[Session], term_id: str) -> dict[str, Any]:
    term_id = _oruk_id(term_id, "taxonomy term")
    with sessions() as session:
        term = session.get(m.DirectoryTaxonomyTerm, term_id)
        if term is None:
            raise DirectoryNotFound(f"there is no taxonomy term {term_id}")
        return term_document(term, _taxonomy_names(session).get(term.taxonomy_id))


def api_root() -> dict[str, str]:
    """``GET /``: the ORUK version, profile and OpenAPI this API follows."""
    return {"version": ORUK_VERSION, "profile": ORUK_PROFILE, "openapi_url": ORUK_OPENAPI}


# --- review -----------------------------------------------------------------------------------


def stale_before(today: dt.date, months: int = STALE_AFTER_MONTHS) -> dt.date:
    """Entries reviewed before this date are stale."""
    return today - relativedelta(months=months)


def is_stale(reviewed_at: dt.date | None, today: dt.date, months: int = STALE_AFTER_MONTHS) -> bool:
    """Stale: never reviewed, or reviewed longer ago than `months`."""
    return reviewed_at is None or reviewed_at < stale_before(today, months)


@dataclass(frozen=True)
class StaleEntry:
    id: str
    name: str
    reviewed_at: dt.date | None
    reviewed_by: str | None


def stale_services(
    sessions: sessionmaker[Session], today: dt.date, months: int = STALE_AFTER_MONTHS
) -> list[StaleEntry]:
    """Services never reviewed or reviewed before `months` ago, the longest unreviewed first."""
    service = m.DirectoryService
    reviewed = service.reviewed_at
    with sessions() as session:
        rows = session.execute(
            select(service.id, service.name, reviewed, service.reviewed_by)
            .where(or_(reviewed.is_(None), reviewed < stale_before(today, months)))
            .order_by(reviewed.is_not(None), reviewed, service.name, service.id)
        )
        return [StaleEntry(*row) for row in rows]
