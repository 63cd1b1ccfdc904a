"""The HTML pages: thin routes that parse, call a service function and render a template."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.governance.aggregates import aggregate_overview
from joinedup.governance.audit import record_export
from joinedup.governance.objections import active_objectors
from joinedup.governance.roles import role_book
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppressed_share
from joinedup.population.dictionary import data_dictionary, table_entry
from joinedup.population.overview import PopulationOverview
from joinedup.web.dependencies import (
    AggregateExporter,
    ServiceUser,
    Sessions,
    Store,
)
from joinedup.web.formatting import WITHHELD
from joinedup.web.navigation import landing_href
from joinedup.web.security import require
from joinedup.web.templating import templates

#: Why aggregate exports are made, as the audit trail records it.
COMMISSIONING = "commissioning: population aggregates"

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def is_htmx_partial(request: Request) -> bool:
    """An htmx request for part of a page (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def csv_download(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], filename: str
) -> Response:
    """A CSV file to download: a withheld (None) figure is written "withheld", a column a row
    does not have is left empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: WITHHELD if k in row and row[k] is None else row.get(k, "") for k in columns}
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/", name="overview")
def overview_page(
    request: Request,
    store: Store,
    sessions: Sessions,
    user: ServiceUser,
    neighbourhood: str | None = None,
) -> Response:
    if not user.can("population.view_aggregates"):
        # "/" is where links home and bookmarks lead: a role without the overview (a link
        # worker, a care navigator) goes to its own landing page rather than a refusal.
        return RedirectResponse(
            landing_href(role_book().role(user.role), request.app.state.areas), status_code=303
        )
    overview = aggregate_overview(store, neighbourhood or None, active_objectors(sessions))
    partial = is_htmx_partial(request)
    title = "Population overview"
    if overview.neighbourhood:
        title += f": {overview.neighbourhood.name}"
    response = templates.TemplateResponse(
        request,
        "population/_overview.html" if partial else "population/overview.html",
        {
            "overview": overview,
            "partial": partial,
            "page_title": title,
            "can_export": user.can("aggregates.export"),
            "suppression_note": SUPPRESSION_NOTE,
        },
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


OVERVIEW_CSV_COLUMNS = ("breakdown", "key", "label", "people", "share_percent")


def overview_csv_rows(overview: PopulationOverview) -> list[dict[str, Any]]:
    """The overview's suppressed figures as CSV rows: the total, the objectors left out, then
    each breakdown; shares are of the rounded total, from the rounded counts."""
    rows: list[dict[str, Any]] = [
        {"breakdown": "total", "key": "", "label": "Registered population",
         "people": overview.total, "share_percent": _percent(overview.total, overview.total)},
        {"breakdown": "objectors_left_out", "key": "", "label": "Objectors left out",
         "people": overview.objectors_left_out, "share_percent": ""},
    ]  # fmt: skip
    for name, counts in overview.breakdowns().items():
        rows += [
            {
                "breakdown": name,
                "key": row.key,
                "label": row.label,
                "people": row.count,
                "share_percent": _percent(row.count, overview.total),
            }
            for row in counts
        ]
    return rows


def _percent(count: int | None, total: int | None) -> str | None:
    share = suppressed_share(count, total)
    return None if share is None else f"{100 * share:.1f}"


@router.get("/population/overview.csv", name="overview_csv")
def overview_csv(
    store: Store,
    sessions: Sessions,
    user: AggregateExporter,
    neighbourhood: str | None = None,
) -> Response:
    overview = aggregate_overview(store, neighbourhood or None, active_objectors(sessions))
    rows = overview_csv_rows(overview)
    scope = overview.neighbourhood.code if overview.neighbourhood else None
    record_export(
        sessions,
        user,
        what="population.overview",
        purpose=COMMISSIONING,
        detail={"neighbourhood": scope, "rows": len(rows), "format": "csv"},
    )
    name = f"population-overview-{scope or 'area'}-{overview.extract_date.isoformat()}.csv"
    return csv_download(OVERVIEW_CSV_COLUMNS, rows, name)


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
