"""Case-finding pages: every list with its rule, one list's people, and its CSV export.

Thin routes over `joinedup.analytics.case_finding`: parse, call the service, render.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics import case_finding as cf
from joinedup.population.store import PopulationStore
from joinedup.web.dependencies import get_population_store
from joinedup.web.pages import is_htmx_partial
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[
        Depends(require("case_finding.view_identifiable", "case_finding.view_pseudonymised"))
    ],
)

#: Rows shown on the page; the CSV export always holds everyone.
PAGE_ROWS = 500


def _definition(list_id: str) -> cf.ListDefinition:
    try:
        return cf.get_definition(list_id)
    except cf.UnknownListError:
        raise HTTPException(
            status_code=404, detail=f"There is no case-finding list called {list_id}."
        ) from None


def _run(
    store: PopulationStore, list_id: str, practice: str | None, neighbourhood: str | None
) -> cf.CaseFindingResult:
    try:
        return cf.run_list(store, list_id, practice=practice, neighbourhood=neighbourhood)
    except cf.UnknownOrganisationError as exc:
        raise HTTPException(status_code=404, detail=f"{str(exc).capitalize()}.") from None


@router.get("/case-finding", name="case_finding")
def case_finding_index(
    request: Request, store: Annotated[PopulationStore, Depends(get_population_store)]
) -> Response:
    counts = cf.list_counts(store)
    metadata = store.metadata()
    return templates.TemplateResponse(
        request,
        "case_finding/index.html",
        {
            "definitions": cf.list_definitions(),
            "counts": counts,
            "area_name": metadata.get("area_name") or "Unnamed area",
            "index_date": cf.extract_date(store),
            "synthetic": bool(metadata.get("synthetic", False)),
        },
    )


@router.get("/case-finding/{list_id}.csv", name="case_finding_csv")
def case_finding_csv(
    list_id: str,
    store: Annotated[PopulationStore, Depends(get_population_store)],
    practice: str | None = None,
    neighbourhood: str | None = None,
) -> Response:
    definition = _definition(list_id)
    if not definition.available:
        raise HTTPException(status_code=404, detail=definition.unavailable_reason)
    result = _run(store, list_id, practice or None, neighbourhood or None)
    scope = practice or neighbourhood or "area"
    name = f"{list_id}_{scope}_{result.index_date.isoformat()}.csv"
    return Response(
        cf.csv_text(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/case-finding/{list_id}", name="case_finding_list")
def case_finding_list(
    request: Request,
    list_id: str,
    store: Annotated[PopulationStore, Depends(get_population_store)],
    practice: str | None = None,
    neighbourhood: str | None = None,
) -> Response:
    definition = _definition(list_id)
    if not definition.available:
        return templates.TemplateResponse(
            request,
            "case_finding/unavailable.html",
            {"definition": definition, "page_title": definition.title},
        )
    practice, neighbourhood = practice or None, neighbourhood or None
    if practice and neighbourhood:
        # Choosing another neighbourhood leaves a practice of the old one behind: drop it.
        practices = _run(store, list_id, None, neighbourhood).by_practice
        if practice not in {p.code for p in practices}:
            practice = None
    result = _run(store, list_id, practice, neighbourhood)
    partial = is_htmx_partial(request)
    query = urlencode(
        {k: v for k, v in (("practice", practice), ("neighbourhood", neighbourhood)) if v}
    )
    list_url = request.url_for("case_finding_list", list_id=list_id).path
    csv_url = request.url_for("case_finding_csv", list_id=list_id).path
    context = {
        "definition": definition,
        "result": result,
        "rows": result.rows.slice(0, PAGE_ROWS).to_pylist(),
        "page_rows": PAGE_ROWS,
        "partial": partial,
        "page_title": definition.title,
        "list_url": list_url,
        "csv_url": csv_url + ("?" + query if query else ""),
        "scope_name": _scope_name(result),
        "metadata": store.metadata(),
    }
    response = templates.TemplateResponse(
        request,
        "case_finding/_list.html" if partial else "case_finding/list.html",
        context,
    )
    response.headers["Vary"] = "HX-Request"
    if partial:
        response.headers["HX-Push-Url"] = list_url + ("?" + query if query else "")
    return response


def _scope_name(result: cf.CaseFindingResult) -> str:
    if result.practice:
        return next(p.name for p in result.practices if p.code == result.practice)
    if result.neighbourhood:
        return next(h.name for h in result.neighbourhoods if h.code == result.neighbourhood)
    return "the whole area"
