"""Practice variation pages: the matrix, a funnel plot per indicator, a practice's page, and the
people behind a count.

Thin routes over `joinedup.analytics.variation.matrix`. Who sees what:

* the matrix, funnel plots and practice pages are aggregates (``population.view_aggregates``):
  objectors left out, every count suppressed, ratios and shares worked out from the published
  counts; CSV downloads need ``aggregates.export`` and are audited;
* the people behind a count (`joinedup.analytics.variation.drilldown`, by the list-audience
  rule of `governance.audience`): a user with ``case_finding.view_identifiable`` sees them
  named (NHS number), only for a practice they work in (another practice is refused with
  403); a user with only ``case_finding.view_pseudonymised`` sees keyed-hash pseudonyms,
  objectors left out and the number of people suppressed. Every view is audited before it is
  shown.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.variation import drilldown
from joinedup.analytics.variation import matrix as vm
from joinedup.analytics.variation.indicators import (
    DOMAINS,
    INDICATORS,
    Indicator,
    UnknownIndicator,
)
from joinedup.analytics.variation.indicators import indicator as find_indicator
from joinedup.governance.audience import IDENTIFIABLE, PSEUDONYMISED, list_audience
from joinedup.governance.audit import record_export, record_list_view
from joinedup.governance.objections import active_objectors
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.population.store import PopulationStore
from joinedup.web.charts_practices import funnel_chart
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    CaseFindingViewer,
    Sessions,
    Store,
)
from joinedup.web.practice_heatmap import BANDS, WITHHELD, heat_map
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

VIEW = "population.view_aggregates"
EXPORT = "aggregates.export"
PEOPLE_PERMISSIONS = (IDENTIFIABLE, PSEUDONYMISED)
PURPOSE = "commissioning: practice variation"
PEOPLE_VIEW = "practice_indicator_people"
PAGE_ROWS = 500  # people listed on the page, those counted most first
#: The heat map's columns: the indicators in the order of their domains' column groups.
INDICATORS_IN_DOMAINS = tuple(i for d in DOMAINS for i in INDICATORS if i.domain == d.id)


# --- how figures are written -------------------------------------------------------------------


def value_text(ind: Indicator, value: float | None) -> str:
    """An indicator's value as the pages show it: a ratio or a percentage."""
    if value is None:
        return "withheld"
    if ind.kind == "proportion":
        return f"{100 * value:.1f}%"
    return f"{value:.2f}"


def _rate(value: float | None) -> str:
    return "withheld" if value is None else f"{value:.1f}"


def _expected(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _helpers() -> dict[str, Any]:
    return {"value_text": value_text, "rate_text": _rate, "expected_text": _expected}


# --- shared steps ------------------------------------------------------------------------------


def _adjustment(value: str | None) -> vm.fp.Adjustment:
    try:
        return vm.check_adjustment(value or None)
    except vm.UnknownAdjustment as exc:
        raise HTTPException(status_code=404, detail=f"{str(exc).capitalize()}.") from None


def _indicator(indicator_id: str) -> Indicator:
    try:
        return find_indicator(indicator_id)
    except UnknownIndicator:
        raise HTTPException(
            status_code=404, detail=f"There is no practice indicator called {indicator_id}."
        ) from None


def _variation(
    store: PopulationStore, objectors: frozenset[int], adjustment: vm.fp.Adjustment
) -> vm.YearVariation:
    return vm.year_variation(store, objectors=objectors, adjustment=adjustment)


def _practice_name_or_404(store: PopulationStore, code: str) -> str:
    try:
        return drilldown.practice_name(store, code)
    except drilldown.PracticeNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def _objectors_left_out(objectors: frozenset[int]) -> int | None:
    return suppress_count(len(objectors))


def _context(request: Request, user: Principal, store: PopulationStore) -> dict[str, Any]:
    metadata = store.metadata()
    return {
        "area_name": metadata.get("area_name") or "Unnamed area",
        "synthetic": bool(metadata.get("synthetic", False)),
        "can_export": user.can(EXPORT),
        "can_see_people": any(user.can(p) for p in PEOPLE_PERMISSIONS),
        "suppression_note": SUPPRESSION_NOTE,
        "adjustments": vm.ADJUSTMENTS,
        **_helpers(),
    }


def _csv(columns: list[str], rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --- the matrix --------------------------------------------------------------------------------


MATRIX_COLUMNS = [
    "practice_code",
    "practice",
    "neighbourhood",
    "domain",
    "indicator",
    "people",
    "observed",
    "expected",
    "value",
    "rate_per_1000",
    "standardised_rate_per_1000",
    "position",
]


@router.get("/commissioning/practices", name="practice_matrix")
def practice_matrix(
    request: Request,
    user: AggregateViewer,
    store: Store,
    sessions: Sessions,
    adjustment: str | None = None,
) -> Response:
    chosen = _adjustment(adjustment)
    objectors = active_objectors(sessions)
    variation = _variation(store, objectors, chosen)
    query = f"?adjustment={chosen}" if chosen != "none" else ""
    return templates.TemplateResponse(
        request,
        "commissioning/practices/matrix.html",
        {
            **_context(request, user, store),
            "page_title": "Practice variation",
            "variation": variation,
            "heat_indicators": list(INDICATORS_IN_DOMAINS),
            "heat_groups": heat_map(variation, list(INDICATORS_IN_DOMAINS)),
            "heat_bands": [*BANDS, WITHHELD],
            "adjustment": chosen,
            "query": query,
            "objectors_left_out": _objectors_left_out(objectors),
        },
    )


@router.get("/commissioning/practices.csv", name="practice_matrix_csv")
def practice_matrix_csv(
    user: AggregateExporter,
    store: Store,
    sessions: Sessions,
    adjustment: str | None = None,
) -> Response:
    chosen = _adjustment(adjustment)
    variation = _variation(store, active_objectors(sessions), chosen)
    rows = []
    for p in variation.practices:
        for ind in INDICATORS:
            f = variation.results[ind.id].figures[p.code]
            rows.append(
                [
                    p.code,
                    p.name,
                    p.neighbourhood_name,
                    ind.domain,
                    ind.id,
                    f.people,
                    f.observed,
                    _round(f.expected, 2),
                    _round(f.value),
                    _round(f.rate_per_1000, 2),
                    _round(f.standardised_rate_per_1000, 2),
                    f.rag.words,
                ]
            )
    record_export(
        sessions,
        user,
        what="commissioning.practice_variation",
        purpose=PURPOSE,
        detail={"as_of": variation.as_of.isoformat(), "adjustment": chosen, "rows": len(rows)},
    )
    return _csv(MATRIX_COLUMNS, rows, f"practice_variation_{variation.as_of.isoformat()}.csv")


# --- a funnel plot -----------------------------------------------------------------------------


FUNNEL_COLUMNS = [
    "practice_code",
    "practice",
    "denominator",
    "observed",
    "value",
    "lower_95",
    "upper_95",
    "lower_99_8",
    "upper_99_8",
    "position",
]


def _funnel_rows(variation: vm.YearVariation, ind: Indicator) -> list[dict[str, Any]]:
    result = variation.results[ind.id]
    f = result.funnel
    rows = []
    for i, p in enumerate(variation.practices):
        figure = result.figures[p.code]
        den = figure.expected if ind.kind == "ratio" else figure.people
        usable = f is not None and figure.value is not None and den
        rows.append(
            {
                "practice": p,
                "figure": figure,
                "denominator": den,
                "lower95": float(f.limits.lower95[i]) if usable and f else None,
                "upper95": float(f.limits.upper95[i]) if usable and f else None,
                "lower998": float(f.limits.lower998[i]) if usable and f else None,
                "upper998": float(f.limits.upper998[i]) if usable and f else None,
            }
        )
    return rows


def _funnel_labels(ind: Indicator) -> tuple[str, str]:
    return ind.denominator_label, ind.value_label


@router.get("/commissioning/practices/funnel/{indicator}.csv", name="practice_funnel_csv")
def practice_funnel_csv(
    indicator: str,
    user: AggregateExporter,
    store: Store,
    sessions: Sessions,
    adjustment: str | None = None,
) -> Response:
    ind = _indicator(indicator)
    chosen = _adjustment(adjustment)
    variation = _variation(store, active_objectors(sessions), chosen)
    rows = [
        [
            r["practice"].code,
            r["practice"].name,
            _round(r["denominator"], 2),
            r["figure"].observed,
            _round(r["figure"].value),
            _round(r["lower95"]),
            _round(r["upper95"]),
            _round(r["lower998"]),
            _round(r["upper998"]),
            r["figure"].rag.words,
        ]
        for r in _funnel_rows(variation, ind)
    ]
    record_export(
        sessions,
        user,
        what="commissioning.practice_funnel",
        purpose=PURPOSE,
        detail={"indicator": ind.id, "as_of": variation.as_of.isoformat(), "rows": len(rows)},
    )
    return _csv(FUNNEL_COLUMNS, rows, f"funnel_{ind.id}_{variation.as_of.isoformat()}.csv")


@router.get("/commissioning/practices/funnel/{indicator}", name="practice_funnel")
def practice_funnel(
    request: Request,
    indicator: str,
    user: AggregateViewer,
    store: Store,
    sessions: Sessions,
    adjustment: str | None = None,
    practice: str | None = None,
) -> Response:
    ind = _indicator(indicator)
    chosen = _adjustment(adjustment)
    objectors = active_objectors(sessions)
    variation = _variation(store, objectors, chosen)
    result = variation.results[ind.id]
    x_label, y_label = _funnel_labels(ind)
    highlight: frozenset[str] = frozenset()
    peers: list[vm.PeerGroup] = []
    if practice and variation.practice(practice):
        peers = vm.peer_groups(variation.practices, practice)
        highlight = frozenset({practice})
    chart = funnel_chart(
        result,
        variation.practices,
        x_label=x_label,
        y_label=y_label,
        value_text=lambda v: value_text(ind, v),
        highlight=highlight,
    )
    return templates.TemplateResponse(
        request,
        "commissioning/practices/funnel.html",
        {
            **_context(request, user, store),
            "page_title": f"Funnel plot: {ind.title}",
            "variation": variation,
            "indicator": ind,
            "result": result,
            "chart": chart,
            "rows": _funnel_rows(variation, ind),
            "adjustment": chosen,
            "x_label": x_label,
            "y_label": y_label,
            "highlight": practice if highlight else None,
            "peers": peers,
            "names": {p.code: p.name for p in variation.practices},
            "objectors_left_out": _objectors_left_out(objectors),
            "csv_url": request.url_for("practice_funnel_csv", indicator=ind.id).path
            + (f"?adjustment={chosen}" if chosen != "none" else ""),
        },
    )


# --- one practice ------------------------------------------------------------------------------


@router.get("/commissioning/practices/{practice_code}", name="practice_variation_page")
def practice_page(
    request: Request,
    practice_code: str,
    user: AggregateViewer,
    store: Store,
    sessions: Sessions,
    adjustment: str | None = None,
) -> Response:
    chosen = _adjustment(adjustment)
    _practice_name_or_404(store, practice_code)
    objectors = active_objectors(sessions)
    variation = _variation(store, objectors, chosen)
    practice = variation.practice(practice_code)
    if practice is None:
        raise HTTPException(status_code=404, detail=f"There is no practice {practice_code}.")
    groups = vm.peer_groups(variation.practices, practice_code)
    comparisons = {
        ind.id: [vm.compare_with_peers(variation.results[ind.id], practice_code, g) for g in groups]
        for ind in INDICATORS
    }
    trend = vm.practice_trend(store, practice_code, objectors=objectors, adjustment=chosen)
    names = {p.code: p.name for p in variation.practices}
    return templates.TemplateResponse(
        request,
        "commissioning/practices/practice.html",
        {
            **_context(request, user, store),
            "page_title": f"{practice.name}: practice variation",
            "variation": variation,
            "practice": practice,
            "groups": groups,
            "names": names,
            "comparisons": comparisons,
            "trend": trend,
            "years": [p.year_end for p in next(iter(trend.values()))],
            "objectors_left_out": _objectors_left_out(objectors),
            "adjustment": chosen,
        },
    )


# --- the people behind a count -----------------------------------------------------------------


@router.get(
    "/commissioning/practices/{practice_code}/{indicator}/people", name="practice_indicator_people"
)
def practice_indicator_people(
    request: Request,
    practice_code: str,
    indicator: str,
    user: CaseFindingViewer,
    store: Store,
    sessions: Sessions,
    settings: AppSettings,
) -> Response:
    ind = _indicator(indicator)
    if not ind.drillable:
        raise HTTPException(
            status_code=404, detail=f"{ind.title} is not a count of people, so has no list."
        )
    practice_name = _practice_name_or_404(store, practice_code)
    audience = list_audience(user, sessions, settings)
    try:
        behind = drilldown.people_behind_count(store, audience, practice_code, ind.id)
    except drilldown.PracticeOutOfScope:
        raise HTTPException(
            status_code=403,
            detail="You can see named people only in the practices you work in. "
            "Ask your administrator if you work in this one too.",
        ) from None
    people, as_of = behind.people, behind.as_of
    record_list_view(
        sessions,
        user,
        what=PEOPLE_VIEW,
        list_id=f"{practice_code}/{ind.id}",
        scope={"practice": practice_code, "indicator": ind.id, "as_of": as_of.isoformat()},
        rows=len(people),
        identifiable=audience.identifiable,
    )
    if audience.identifiable:
        rows, withheld = drilldown.people_rows(store, audience, people[:PAGE_ROWS]), 0
    else:  # the rows shown are k-anonymous by themselves (there is no download)
        disclosed = drilldown.pseudonymised_people(audience, people[:PAGE_ROWS])
        rows, withheld = disclosed.rows, disclosed.withheld
    response = templates.TemplateResponse(
        request,
        "commissioning/practices/people.html",
        {
            **_context(request, user, store),
            "page_title": f"{ind.title}: people at {practice_code}",
            "indicator": ind,
            "practice_code": practice_code,
            "practice_name": practice_name,
            "identifiable": audience.identifiable,
            "rows": rows,
            "count": behind.count,
            "as_of": as_of,
            "more_rows": len(people) > PAGE_ROWS,
            "withheld": withheld,
            "k": audience.k,
            "page_rows": PAGE_ROWS,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response
