"""Practice variation: indicators, funnel plots, peer groups, practice pages, published data.

The published-data pages (`/commissioning/published…`) show real figures for every English
practice, loaded by `joinedup variation load-published`. They are aggregates already published
by NHS England and OHID at practice level; nothing below practice level is shown (see
`PUBLISHED_NOTE`), so there is no count of people to suppress here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.funnel import Adjustment
from joinedup.commissioning.published import (
    ADJUSTMENTS,
    INDICATORS,
    LEVELS,
    IndicatorFunnel,
    PublishedData,
    indicator_funnel,
    practice_profile,
    published_table,
)
from joinedup.governance.audit import record_export
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    Sessions,
)
from joinedup.web.funnel_chart import PlotChart, funnel_chart, points_svg, scatter_chart
from joinedup.web.pages import COMMISSIONING, csv_download
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


PUBLISHED_NOTE = (
    "These are published practice-level figures (Open Government Licence). No figure below "
    "practice level is shown; PCN and ICB figures are sums of practice figures, so small-number "
    "suppression does not apply to them."
)
CSV_COLUMNS = [
    "level", "code", "name", "numerator", "denominator", "value", "z",
    "lower95", "upper95", "lower998", "upper998", "position",
]  # fmt: skip


def _data_or_page(request: Request, settings: Settings) -> PublishedData | Response:
    data = published_table(settings)
    if data is None:
        return templates.TemplateResponse(
            request,
            "commissioning/published/not_loaded.html",
            {"page_title": "Published practice data is not loaded", "home": str(settings.home)},
        )
    return data


def _funnel_or_404(data: PublishedData, indicator: str, level: str, adjust: str) -> IndicatorFunnel:
    if indicator not in INDICATORS:
        raise HTTPException(404, f"no published indicator {indicator!r}")
    if level not in LEVELS or adjust not in ADJUSTMENTS:
        raise HTTPException(400, "level or adjustment not recognised")
    adjustment: Adjustment = adjust  # type: ignore[assignment]
    return indicator_funnel(data, indicator, level=level, adjustment=adjustment)


@router.get("/commissioning/published", name="published_index")
def published_index(request: Request, settings: AppSettings, user: AggregateViewer) -> Response:
    data = _data_or_page(request, settings)
    if isinstance(data, Response):
        return data
    rows = [(ind, indicator_funnel(data, key)) for key, ind in INDICATORS.items()]
    return templates.TemplateResponse(
        request,
        "commissioning/published/index.html",
        {
            "page_title": "Published practice data",
            "summary": data.summary,
            "indicators": rows,
            "note": PUBLISHED_NOTE,
        },
    )


@router.get("/commissioning/published/practices/{practice_code}", name="published_practice")
def published_practice(
    request: Request, practice_code: str, settings: AppSettings, user: AggregateViewer
) -> Response:
    data = _data_or_page(request, settings)
    if isinstance(data, Response):
        return data
    code = practice_code.strip().upper()
    if code not in data.by_code:
        raise HTTPException(404, f"no practice {code} in the published data")
    row, indicators = practice_profile(data, code)
    return templates.TemplateResponse(
        request,
        "commissioning/published/practice.html",
        {
            "page_title": f"{row.practice_name} ({code})",
            "practice": row,
            "indicators": indicators,
            "note": PUBLISHED_NOTE,
        },
    )


@router.get("/commissioning/published/{indicator}", name="published_indicator")
def published_indicator(
    request: Request,
    indicator: str,
    settings: AppSettings,
    user: AggregateViewer,
    level: str = "practice",
    adjust: str = "additive",
) -> Response:
    data = _data_or_page(request, settings)
    if isinstance(data, Response):
        return data
    built = _funnel_or_404(data, indicator, level, adjust)
    chart, scatter = _charts(data, built, adjust, _unit_url(request, level))
    table = built.units.sort_values("z", key=lambda z: -np.abs(z)).head(50)
    return templates.TemplateResponse(
        request,
        "commissioning/published/indicator.html",
        {
            "page_title": built.indicator.title,
            "built": built,
            "indicator": built.indicator,
            "level": level,
            "levels": LEVELS,
            "adjust": adjust,
            "adjustments": ADJUSTMENTS,
            "chart": chart,
            "scatter": scatter,
            "rows": table.to_dict("records"),
            "scale": 100.0 if built.indicator.has_funnel else 1.0,
            "outside998": int((built.units.flag998 != 0).sum()) if built.count else 0,
            "outside95": int((built.units.flag95 != 0).sum()) if built.count else 0,
            "can_export": user.can("aggregates.export"),
            "note": PUBLISHED_NOTE,
            "points_svg": points_svg,
        },
    )


#: Charts per loaded table, indicator, level and adjustment: built once per process.
_CHARTS: dict[tuple[str, str, str, str], tuple[PlotChart | None, PlotChart | None]] = {}


def _charts(
    data: PublishedData, built: IndicatorFunnel, adjust: str, url: Callable[[str], str]
) -> tuple[PlotChart | None, PlotChart | None]:
    ind, level = built.indicator, built.level
    key = (data.summary.loaded_at + str(id(data)), ind.key, level, adjust)
    if key in _CHARTS:
        return _CHARTS[key]
    scale = 100.0 if ind.has_funnel else 1.0
    y_label = f"{ind.title} ({ind.unit})"
    chart = scatter = None
    if built.result is not None and built.count:
        chart = funnel_chart(
            "funnel", f"{ind.title}: funnel plot by {LEVELS[level].lower()}", built.units,
            built.result, url=url, x_label="Denominator (people)", y_label=y_label, scale=scale,
        )  # fmt: skip
    if level == "practice" and built.count:
        scatter = scatter_chart(
            "deprivation", f"{ind.title} against practice deprivation", built.units,
            url=url, x_label="Practice IMD 2019 score", y_label=y_label, scale=scale,
        )  # fmt: skip
    _CHARTS[key] = (chart, scatter)
    return chart, scatter


@router.get("/commissioning/published/{indicator}/data.csv", name="published_indicator_csv")
def published_indicator_csv(
    request: Request,
    indicator: str,
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateExporter,
    level: str = "practice",
    adjust: str = "additive",
) -> Response:
    data = published_table(settings)
    if data is None:
        raise HTTPException(404, "published practice data is not loaded")
    built = _funnel_or_404(data, indicator, level, adjust)
    record_export(
        sessions, user, what="published_indicator", purpose=COMMISSIONING,
        detail={"indicator": indicator, "level": level, "adjustment": adjust, "rows": built.count},
    )  # fmt: skip
    units = built.units.assign(level=level)
    # An empty cell is "no value" (e.g. no z-score); "withheld" would wrongly suggest suppression.
    records = [
        {k: ("" if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in units.to_dict("records")
    ]
    return csv_download(CSV_COLUMNS, records, f"published-{indicator}-{level}.csv")


def _unit_url(request: Request, level: str) -> Callable[[str], str]:
    """Links from points: practices to their page; PCNs and ICBs to no page (empty)."""
    if level != "practice":
        return lambda code: ""
    # Relative to /commissioning/published/{indicator}: short links for thousands of points.
    return lambda code: "practices/" + code
