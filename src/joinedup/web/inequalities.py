"""Pages of the population overview through an inequalities lens and of the workforce baseline.

Thin routes over `joinedup.analytics.inequalities` and `joinedup.commissioning.workforce`:
leave out the objectors, call the service, render; CSV exports need ``aggregates.export`` and
are audited. Charts are server-side SVG (geometry here, SVG in the templates) with a text
description and the same figures in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import inequalities as iq
from joinedup.commissioning import workforce as wf
from joinedup.commissioning import workforce_export as wf_export
from joinedup.commissioning import workforce_file as wf_file
from joinedup.commissioning import workforce_store as wf_store
from joinedup.governance.audit import record_export
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    Sessions,
)
from joinedup.web.navigation import area_titled
from joinedup.web.pages import csv_download
from joinedup.web.stratification import share_text
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PURPOSE = "population health management"

BAR_AREA = 300
VALUE_WIDTH = 150
CHAR_WIDTH = 8.6  # average width of a 16px character (as web/charts.py), for the labels
ROW_HEIGHT = 32
BAR_HEIGHT = 18


@dataclass(frozen=True)
class ChartBar:
    label: str
    value: float | None
    text: str  # the value as shown beside the bar
    y: float
    width: float
    low_x: float | None  # interval whisker ends, in chart units (None: no interval)
    high_x: float | None


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    bars: tuple[ChartBar, ...]
    reference_x: float | None  # a vertical line (peer median, area figure), or None
    reference_label: str
    label_width: float
    bar_height: int = BAR_HEIGHT

    @property
    def width(self) -> float:
        return self.label_width + BAR_AREA + VALUE_WIDTH

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars) + 24


def bar_chart(
    id: str,
    title: str,
    rows: Sequence[tuple[str, float | None, float | None, float | None]],
    fmt: str,
    *,
    reference: float | None = None,
    reference_label: str = "",
) -> Chart:
    """Horizontal bars of (label, value, low, high) with optional whiskers and reference line;
    `fmt` formats a value for the text beside the bar ("percent", or a format spec)."""

    def text(value: float | None) -> str:
        if value is None:
            return "withheld"
        return f"{100 * value:.1f}%" if fmt == "percent" else format(value, fmt)

    top = max(
        [v for _, value, _, high in rows for v in (value, high) if v is not None]
        + ([reference] if reference is not None else []),
        default=0.0,
    )
    area = BAR_AREA
    longest = max((len(label) for label, _, _, _ in rows), default=4)
    label_width = min(320.0, max(80.0, round(longest * CHAR_WIDTH + 16)))

    def x(value: float | None) -> float | None:
        return None if value is None or top <= 0 else round(label_width + value / top * area, 1)

    bars = []
    for i, (label, value, low, high) in enumerate(rows):
        bars.append(
            ChartBar(
                label=label,
                value=value,
                text=text(value),
                y=4 + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                width=round((value or 0) / top * area, 1) if top > 0 else 0.0,
                low_x=x(low),
                high_x=x(high),
            )
        )
    shown = [(label, value) for label, value, _, _ in rows if value is not None]
    if shown:
        highest = max(shown, key=lambda r: r[1] or 0.0)
        description = (
            f"{len(rows)} bars. The highest is {highest[0]}: {text(highest[1])}. "
            "The same figures are in the table."
        )
    else:
        description = "Every figure is withheld. The table says why."
    return Chart(
        id=id,
        title=title,
        description=description,
        bars=tuple(bars),
        reference_x=x(reference),
        reference_label=reference_label,
        label_width=label_width,
    )


# --- the inequalities lens ----------------------------------------------------------------------


def _inequalities(
    settings: Settings,
    sessions: sessionmaker[Session],
    lens: str | None,
    level: str | None,
    scheme: str | None,
) -> iq.InequalitiesResult | None:
    try:
        return iq.inequalities(settings, active_objectors(sessions), lens, level, scheme)
    except iq.UnknownChoice as exc:
        raise HTTPException(status_code=404, detail=f"{str(exc).capitalize()}.") from None


def lens_chart(result: iq.InequalitiesResult, unit: iq.UnitFigures) -> Chart:
    """% of each group in the unit's top 5% by risk (by cost when the run has no risk)."""
    by_risk = result.has_risk
    rows = [
        (
            g.group,
            (g.top_risk if by_risk else g.top_cost).share,
            (g.top_risk if by_risk else g.top_cost).low,
            (g.top_risk if by_risk else g.top_cost).high,
        )
        for g in unit.groups
    ]
    what = "risk of emergency admission" if by_risk else "cost"
    return bar_chart(
        f"lens-chart-{unit.code}",
        f"{unit.name}: % of each group in the top 5% by {what}, with 95% intervals",
        rows,
        "percent",
        reference=0.05,
        reference_label="5% (if every group were alike)",
    )


@router.get("/population/inequalities", name="population_inequalities")
def inequalities_page(
    request: Request,
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateViewer,
    lens: str | None = None,
    level: str | None = None,
    scheme: str | None = None,
) -> Response:
    population = area_titled("Population")
    result = _inequalities(settings, sessions, lens, level, scheme)
    if result is None:
        return templates.TemplateResponse(
            request,
            "population/inequalities_no_run.html",
            {"population": population, "page_title": "Inequalities"},
        )
    query = urlencode({"lens": result.lens.id, "level": result.level, "scheme": result.scheme_id})
    return templates.TemplateResponse(
        request,
        "population/inequalities.html",
        {
            "population": population,
            "page_title": f"Inequalities by {result.lens.title.lower()}",
            "result": result,
            "lenses": list(iq.LENSES.values()),
            "levels": iq.LEVELS,
            "page_url": request.url_for("population_inequalities").path,
            "csv_url": request.url_for("population_inequalities_csv").path + "?" + query,
            "can_export": user.can("aggregates.export"),
            "suppression_note": SUPPRESSION_NOTE,
            "share_text": share_text,
            "lens_chart": lens_chart,
            "ratio_text": ratio_text,
            "interval_text": interval_text,
            "risk_text": risk_text,
        },
    )


def ratio_text(ratio: iq.RateRatio) -> str:
    if ratio.ratio is None:
        return "–"
    if ratio.low is None or ratio.high is None:
        return f"{ratio.ratio:.2f}"
    return f"{ratio.ratio:.2f} ({ratio.low:.2f} to {ratio.high:.2f})"


def interval_text(p: iq.Proportion) -> str:
    if p.share is None or p.low is None or p.high is None:
        return "withheld" if p.total else "–"
    return f"{100 * p.share:.1f}% ({100 * p.low:.1f} to {100 * p.high:.1f})"


def risk_text(value: float | None) -> str:
    return "withheld" if value is None else f"{100 * value:.1f}%"


@router.get("/population/inequalities.csv", name="population_inequalities_csv")
def inequalities_csv(
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateExporter,
    lens: str | None = None,
    level: str | None = None,
    scheme: str | None = None,
) -> Response:
    result = _inequalities(settings, sessions, lens, level, scheme)
    if result is None:
        raise HTTPException(
            status_code=404, detail="There are no figures yet: run `joinedup stratify` first."
        )
    rows = iq.csv_rows(result)
    record_export(
        sessions,
        user,
        what="population.inequalities",
        purpose=PURPOSE,
        detail={
            "lens": result.lens.id,
            "level": result.level,
            "scheme": result.scheme_id,
            "run_id": result.run_id,
            "rows": len(rows),
        },
    )
    name = f"inequalities_{result.lens.id}_{result.level}_{result.index_date}.csv"
    return csv_download(iq.csv_columns(result), rows, name)


# --- the workforce baseline ---------------------------------------------------------------------


def _baseline(
    settings: Settings, sessions: sessionmaker[Session], period: str | None
) -> wf.WorkforceBaseline:
    figures = wf_store.current_figures(sessions)
    store = PopulationStore(settings.population_dir)
    area = wf.area_practices(store if store.exists() else None, active_objectors(sessions))
    baseline = wf.workforce_baseline(figures, area, period or None)
    if period and period not in baseline.periods:
        raise HTTPException(status_code=404, detail=f"There are no figures for {period}.")
    return baseline


def workforce_chart(baseline: wf.WorkforceBaseline) -> Chart:
    """Patients per FTE GP for each practice, with the median of the practices shown."""
    rows = [(p.name, p.patients_per_gp_fte, None, None) for p in baseline.practices]
    values = sorted(v for _, v, _, _ in rows if v is not None)
    median = None
    if values:
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    return bar_chart(
        "workforce-chart",
        f"Patients per FTE GP by practice, {baseline.period}",
        rows,
        ",.0f",
        reference=median,
        reference_label="median of the practices",
    )


@router.get("/commissioning/workforce", name="commissioning_workforce")
def workforce_page(
    request: Request,
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateViewer,
    period: str | None = None,
    code: str | None = None,
) -> Response:
    baseline = _baseline(settings, sessions, period)
    chosen = baseline.find(code.strip().upper()) if code else None
    if code and chosen is None:
        raise HTTPException(status_code=404, detail=f"There are no figures for {code}.")
    comparisons = (
        [
            (m, wf.compare_with_peers(baseline.peers_of(chosen), chosen, m.id))
            for m in wf.MEASURES.values()
        ]
        if chosen
        else []
    )
    query = urlencode({"period": baseline.period or ""})
    return templates.TemplateResponse(
        request,
        "commissioning/workforce/index.html",
        {
            "commissioning": area_titled("Commissioning"),
            "page_title": "Workforce baseline",
            "baseline": baseline,
            "roles": wf_file.ROLES,
            "measures": wf.MEASURES,
            "chosen": chosen,
            "comparisons": comparisons,
            "chart": workforce_chart(baseline) if baseline.practices else None,
            "batches": wf_store.batches(sessions)[:5],
            "page_url": request.url_for("commissioning_workforce").path,
            "csv_url": request.url_for("commissioning_workforce_csv").path + "?" + query,
            "can_export": user.can("aggregates.export"),
            "share_text": share_text,
        },
    )


@router.get("/commissioning/workforce.csv", name="commissioning_workforce_csv")
def workforce_csv(
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateExporter,
    period: str | None = None,
) -> Response:
    baseline = _baseline(settings, sessions, period)
    rows = wf_export.baseline_rows(baseline)
    record_export(
        sessions,
        user,
        what="commissioning.workforce",
        purpose="commissioning: workforce baseline",
        detail={"period": baseline.period, "rows": len(rows)},
    )
    return csv_download(wf_export.CSV_COLUMNS, rows, f"workforce_{baseline.period or 'none'}.csv")
