"""The HTML pages: thin routes that parse, call a service function and render a template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.population.dictionary import data_dictionary, table_entry
from joinedup.population.overview import PopulationOverview, population_overview
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import get_population_store
from joinedup.web.navigation import AREAS, Area
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def is_htmx_partial(request: Request) -> bool:
    """An htmx request for part of a page (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@router.get("/", name="overview", dependencies=[Depends(require("population.view_aggregates"))])
def overview_page(
    request: Request,
    store: Annotated[PopulationStore, Depends(get_population_store)],
    neighbourhood: str | None = None,
) -> Response:
    overview = population_overview(store, neighbourhood or None)
    partial = is_htmx_partial(request)
    title = "Population overview"
    if overview.neighbourhood:
        title += f": {overview.neighbourhood.name}"
    response = templates.TemplateResponse(
        request,
        "population/_overview.html" if partial else "population/overview.html",
        {"overview": overview, "partial": partial, "page_title": title},
    )
    response.headers["Vary"] = "HX-Request"
    if partial:
        response.headers["HX-Push-Url"] = _overview_url(request, overview)
    return response


def _overview_url(request: Request, overview: PopulationOverview) -> str:
    url = request.url_for("overview").path
    if overview.neighbourhood:
        url += "?" + urlencode({"neighbourhood": overview.neighbourhood.code})
    return url


@router.get(
    "/data-dictionary",
    name="data_dictionary",
    dependencies=[Depends(require("data.view_dictionary"))],
)
def data_dictionary_page(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "data_dictionary/index.html", {"tables": data_dictionary()}
    )


@router.get(
    "/data-dictionary/{table}",
    name="data_dictionary_table",
    dependencies=[Depends(require("data.view_dictionary"))],
)
def data_dictionary_table_page(request: Request, table: str) -> Response:
    try:
        entry = table_entry(table)
    except KeyError:
        raise HTTPException(status_code=404, detail=f"There is no table called {table}.") from None
    return templates.TemplateResponse(request, "data_dictionary/table.html", {"table": entry})


def _not_available(area: Area) -> Callable[[Request], Response]:
    def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "not_available.html", {"area": area})

    return page


for _area in AREAS:
    if not _area.available:
        router.add_api_route(
            _area.href,
            _not_available(_area),
            methods=["GET"],
            dependencies=[Depends(require("service.use"))],
            name="area_" + _area.href.strip("/").replace("-", "_"),
        )
