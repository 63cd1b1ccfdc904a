"""The Open Referral UK read API under ``/api/oruk/``: the directory's services, service at
locations, taxonomies and terms, paged as ORUK pages them.

Public, as the standard intends a directory to be: these routes ask for no sign-in and return
no person's data. Thin routes over `joinedup.directory.services`. Beyond the ORUK OpenAPI's
parameters, ``lat`` and ``lon`` (WGS84) give a point to order by distance from, with
``proximity`` (metres, the OpenAPI's own name) as the radius; a ``postcode`` cannot be placed
without a postcode directory, so it is refused with a message saying to give a point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query

from joinedup.directory import services as directory
from joinedup.web.dependencies import Sessions

router = APIRouter(prefix="/api/oruk", tags=["Open Referral UK"])

Page = Annotated[int, Query(description="Page number of paginated result (from 1).")]
PerPage = Annotated[
    int,
    Query(description=f"Results in a single page (1–{directory.MAX_PER_PAGE})."),
]
Search = Annotated[str | None, Query(description="Full text search (name and description).")]
TermId = Annotated[str | None, Query(description="Services with this taxonomy term.")]
TaxonomyId = Annotated[str | None, Query(description="Services with any term of this taxonomy.")]
OrganizationId = Annotated[str | None, Query(description="Services this organisation provides.")]
Lat = Annotated[float | None, Query(description="Latitude (WGS84) to order by distance from.")]
Lon = Annotated[float | None, Query(description="Longitude (WGS84) to order by distance from.")]
Proximity = Annotated[
    float | None, Query(description="Only results within this many metres of lat, lon.")
]

T = TypeVar("T")


def _answer(read: Callable[[], T]) -> T:
    """Run a read; its domain errors become 400 or 404 with the error's own words."""
    try:
        return read()
    except directory.DirectoryNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except directory.DirectoryQueryError as exc:
        raise HTTPException(400, str(exc)) from None


def _query(
    search: str | None,
    taxonomy_term_id: str | None,
    taxonomy_id: str | None,
    organization_id: str | None,
    lat: float | None,
    lon: float | None,
    proximity: float | None,
) -> directory.ServiceQuery:
    return _answer(
        lambda: directory.ServiceQuery(
            search=search,
            taxonomy_term_id=taxonomy_term_id,
            taxonomy_id=taxonomy_id,
            organization_id=organization_id,
            lat=lat,
            lon=lon,
            proximity=proximity,
        )
    )


def _paging(page: int, per_page: int) -> directory.Paging:
    return _answer(lambda: directory.Paging(page, per_page))


@router.get("/", summary="The ORUK version and profile this API follows")
def oruk_root() -> dict[str, str]:
    return directory.api_root()


@router.get("/services", summary="A page of services (one-to-one fields)")
def oruk_services(
    sessions: Sessions,
    search: Search = None,
    taxonomy_term_id: TermId = None,
    taxonomy_id: TaxonomyId = None,
    organization_id: OrganizationId = None,
    lat: Lat = None,
    lon: Lon = None,
    proximity: Proximity = None,
    page: Page = 1,
    per_page: PerPage = directory.DEFAULT_PER_PAGE,
) -> dict[str, Any]:
    query = _query(search, taxonomy_term_id, taxonomy_id, organization_id, lat, lon, proximity)
    return directory.list_services(sessions, query, _paging(page, per_page))


@router.get("/services/{service_id}", summary="One service, fully nested")
def oruk_service(sessions: Sessions, service_id: str) -> dict[str, Any]:
    return _answer(lambda: directory.get_service(sessions, service_id))


@router.get("/service_at_locations", summary="A page of services at their locations")
def oruk_service_at_locations(
    sessions: Sessions,
    search: Search = None,
    taxonomy_term_id: TermId = None,
    taxonomy_id: TaxonomyId = None,
    organization_id: OrganizationId = None,
    lat: Lat = None,
    lon: Lon = None,
    proximity: Proximity = None,
    postcode: Annotated[str | None, Query(description="Not supported: give lat and lon.")] = None,
    page: Page = 1,
    per_page: PerPage = directory.DEFAULT_PER_PAGE,
) -> dict[str, Any]:
    if postcode:
        raise HTTPException(
            400, "postcode search is not available here: give the point as lat and lon"
        )
    query = _query(search, taxonomy_term_id, taxonomy_id, organization_id, lat, lon, proximity)
    return directory.list_service_at_locations(sessions, query, _paging(page, per_page))


@router.get("/taxonomies", summary="A page of taxonomies")
def oruk_taxonomies(
    sessions: Sessions, page: Page = 1, per_page: PerPage = directory.DEFAULT_PER_PAGE
) -> dict[str, Any]:
    return directory.list_taxonomies(sessions, _paging(page, per_page))


@router.get("/taxonomies/{taxonomy_id}", summary="One taxonomy with its terms")
def oruk_taxonomy(sessions: Sessions, taxonomy_id: str) -> dict[str, Any]:
    return _answer(lambda: directory.get_taxonomy(sessions, taxonomy_id))


@router.get("/taxonomy_terms", summary="A page of taxonomy terms")
def oruk_taxonomy_terms(
    sessions: Sessions,
    taxonomy_id: TaxonomyId = None,
    page: Page = 1,
    per_page: PerPage = directory.DEFAULT_PER_PAGE,
) -> dict[str, Any]:
    return directory.list_taxonomy_terms(sessions, _paging(page, per_page), taxonomy_id=taxonomy_id)


@router.get("/taxonomy_terms/{term_id}", summary="One taxonomy term")
def oruk_taxonomy_term(sessions: Sessions, term_id: str) -> dict[str, Any]:
    return _answer(lambda: directory.get_taxonomy_term(sessions, term_id))
