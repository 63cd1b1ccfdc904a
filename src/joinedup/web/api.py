"""The JSON API under /api (and /health): thin routes over the service functions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from joinedup.governance.aggregates import aggregate_overview
from joinedup.governance.objections import active_objectors
from joinedup.population.dictionary import TableEntry, data_dictionary, table_entry
from joinedup.population.overview import PopulationOverview
from joinedup.web.api_reference import api_reference
from joinedup.web.dependencies import (
    AppSettings,
    Sessions,
    Store,
)
from joinedup.web.health import HealthReport, run_health_checks
from joinedup.web.security import require
from joinedup.web.templating import templates


class Problem(BaseModel):
    """An error: what went wrong, in words."""

    detail: str


NO_STORE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "No population store yet"}
}

router = APIRouter(prefix="/api")
service_router = APIRouter(tags=["service"])


@router.get(
    "/population/overview",
    name="api_population_overview",
    dependencies=[Depends(require("population.view_aggregates"))],
    tags=["population"],
    summary="Registered population at the extract date",
    description="Total, and counts by practice, neighbourhood, age band, sex and deprivation "
    "decile: the figures of the population overview page. People who object to the use of "
    "their data beyond their own care are left out (and counted in objectors_left_out); counts "
    "of 1 to 7 are withheld (null) and other counts rounded to the nearest 5.",
    responses={404: {"model": Problem, "description": "No such neighbourhood"}, **NO_STORE},
)
def get_population_overview(
    store: Store,
    sessions: Sessions,
    neighbourhood: Annotated[
        str | None,
        Query(description="Organisation code of a neighbourhood, to count only its practices."),
    ] = None,
) -> PopulationOverview:
    return aggregate_overview(store, neighbourhood or None, active_objectors(sessions))


@router.get(
    "/contracts",
    name="api_contracts",
    dependencies=[Depends(require("data.view_dictionary"))],
    tags=["data dictionary"],
    summary="Every population-store table contract",
)
def get_contracts() -> list[TableEntry]:
    return data_dictionary()


@router.get(
    "/contracts/{table}",
    name="api_contract",
    dependencies=[Depends(require("data.view_dictionary"))],
    tags=["data dictionary"],
    summary="One population-store table contract",
    responses={404: {"model": Problem, "description": "No such table"}},
)
def get_contract(table: str) -> TableEntry:
    try:
        return table_entry(table)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0])) from None


@router.get(
    "/docs",
    name="api_docs",
    include_in_schema=False,
    response_class=HTMLResponse,
    dependencies=[Depends(require("service.use"))],
)
def get_api_docs(request: Request) -> HTMLResponse:
    openapi_url = request.scope.get("root_path", "") + (request.app.openapi_url or "")
    reference = api_reference(request.app.openapi(), openapi_url)
    return templates.TemplateResponse(request, "api/docs.html", {"reference": reference})


@service_router.get("/health", name="health", summary="Whether the service and its stores are up")
def get_health(request: Request, settings: AppSettings) -> HealthReport:
    return run_health_checks(settings, request.app.state.health_checks)
