"""The Commissioning area's home and the delivery-plan tracker of the primary care
specification: thin routes over `joinedup.commissioning.delivery`.

Viewing needs population.view_aggregates, downloading aggregates.export (audited) and
recording a quarter delivery.submit (commissioners and managers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.commissioning import delivery as svc
from joinedup.commissioning.specification import (
    Element,
    Quarter,
    QuarterError,
    Specification,
    load_specification,
)
from joinedup.governance.audit import record_export
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    DeliverySubmitter,
    Sessions,
)
from joinedup.web.navigation import area_titled
from joinedup.web.pages import csv_download
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


PURPOSE = "commissioning: delivery of the primary care specification"
RAG_TAGS = {
    "green": "nhsuk-tag--green",
    "amber": "nhsuk-tag--yellow",
    "red": "nhsuk-tag--red",
    "suppressed": "nhsuk-tag--purple",
    "not_reported": "nhsuk-tag--grey",
    "no_plan": "nhsuk-tag--white",
}


@lru_cache(maxsize=1)
def specification() -> Specification:
    """The specification the tracker runs on (the London SCF default)."""
    return load_specification()


def today() -> dt.date:
    return dt.date.today()


def _tracker(sessions: sessionmaker[Session], settings: Settings) -> svc.Tracker:
    return svc.tracker_for(sessions, settings, specification(), as_of=today())


def _quarter(tracker: svc.Tracker, text: str | None) -> Quarter:
    """The quarter asked for, or the current one (kept inside the specification's range)."""
    spec = tracker.spec
    if text:
        try:
            quarter = Quarter.parse(text)
        except QuarterError as exc:
            raise HTTPException(status_code=404, detail=_sentence(str(exc))) from None
        if not spec.first_quarter <= quarter <= spec.last_quarter:
            raise HTTPException(status_code=404, detail="That quarter is not in the plan.")
        return quarter
    return min(max(tracker.current_quarter, spec.first_quarter), spec.last_quarter)


def _area_and_element(
    tracker: svc.Tracker, area_code: str, element_id: str
) -> tuple[svc.Area, Element]:
    try:
        return tracker.area(area_code), tracker.spec.element(element_id.upper())
    except KeyError:
        raise HTTPException(
            status_code=404, detail="There is no such area or element in the plan."
        ) from None


def _context(tracker: svc.Tracker, user: Principal, **extra: Any) -> dict[str, Any]:
    return {
        "commissioning": area_titled("Commissioning"),
        "spec": tracker.spec,
        "tracker": tracker,
        "can_export": user.can("aggregates.export"),
        "can_submit": user.can("delivery.submit"),
        "rag_tags": RAG_TAGS,
        "rag_rule": tracker.rag_rule(),
        "flag_rule": svc.FLAG_RULE,
        "aggregate_rule": svc.AGGREGATE_RULE,
        "suppression_note": SUPPRESSION_NOTE,
        "population_text": _population_text,
        "pct": _pct,
        **extra,
    }


def _sentence(text: str) -> str:
    """`text` as a sentence: first letter capital (the rest kept: "Q3" stays "Q3"), a stop."""
    return text[:1].upper() + text[1:] + "."


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:g}%"


def _population_text(population: int) -> str:
    shown = suppress_count(population)
    return "withheld" if shown is None else f"{shown:,}"


# --- Area home -----------------------------------------------------------------------------


@router.get("/commissioning", name="commissioning_home")
def commissioning_home(request: Request, user: AggregateViewer) -> Response:
    return templates.TemplateResponse(
        request,
        "commissioning/home.html",
        {
            "commissioning": area_titled("Commissioning"),
            "spec": specification(),
            "page_title": "Commissioning",
            "can_submit": user.can("delivery.submit"),
        },
    )


# --- Tracker: heat map, aggregate, late plans ------------------------------------------------


@router.get("/commissioning/delivery", name="delivery_tracker")
def tracker_page(
    request: Request,
    sessions: Sessions,
    settings: AppSettings,
    user: AggregateViewer,
    quarter: str | None = None,
) -> Response:
    tracker = _tracker(sessions, settings)
    chosen = _quarter(tracker, quarter)
    return templates.TemplateResponse(
        request,
        "commissioning/delivery/index.html",
        _context(
            tracker,
            user,
            page_title=f"Delivery plan: {chosen}",
            quarter=chosen,
            grid=heat_map(tracker, chosen),
            quarter_grid=quarter_grid(tracker),
            late=tracker.late_plans(),
        ),
    )


@dataclass(frozen=True)
class HeatRow:
    element: Element
    cells: list[tuple[svc.Area, svc.Cell]]
    aggregate: svc.AggregateCell


def heat_map(tracker: svc.Tracker, quarter: Quarter) -> list[HeatRow]:
    """Elements × areas for one quarter, each with the aggregate across areas."""
    return [
        HeatRow(
            element,
            [(area, tracker.cell(area, element, quarter)) for area in tracker.areas],
            tracker.aggregate(element, quarter),
        )
        for element in tracker.spec.elements
    ]


def quarter_grid(tracker: svc.Tracker) -> list[tuple[Element, list[svc.AggregateCell]]]:
    """Elements × quarters of the aggregate across areas (the quarter-by-quarter heat map)."""
    return [
        (element, [tracker.aggregate(element, q) for q in tracker.spec.quarters])
        for element in tracker.spec.elements
    ]


@router.get("/commissioning/delivery/report", name="delivery_report")
def report_page(
    request: Request,
    sessions: Sessions,
    settings: AppSettings,
    user: AggregateViewer,
    quarter: str | None = None,
) -> Response:
    """The quarterly board report: a printable page."""
    tracker = _tracker(sessions, settings)
    chosen = _quarter(tracker, quarter)
    grid = heat_map(tracker, chosen)
    counts = {status: 0 for status in svc.RAG_LABELS}
    for row in grid:
        counts[row.aggregate.rag.status] += 1
    return templates.TemplateResponse(
        request,
        "commissioning/delivery/report.html",
        _context(
            tracker,
            user,
            page_title=f"Delivery of the primary care specification: board report {chosen}",
            quarter=chosen,
            grid=grid,
            rag_counts=counts,
            rag_labels=svc.RAG_LABELS,
            late=tracker.late_plans(),
            produced=today(),
        ),
    )


@router.get("/commissioning/delivery.csv", name="delivery_csv")
def submissions_csv(sessions: Sessions, user: AggregateExporter) -> Response:
    """The submissions that stand, in the format `joinedup delivery import` reads."""
    records = svc.submissions(sessions)
    record_export(
        sessions,
        user,
        what="delivery.submissions",
        purpose=PURPOSE,
        detail={"rows": len(records), "format": "csv"},
    )
    return csv_download(
        svc.EXPORT_COLUMNS, [r.csv_row() for r in records], f"delivery-plan-{today()}.csv"
    )


# --- Recording a quarter ---------------------------------------------------------------------


@router.get("/commissioning/delivery/submit", name="delivery_form")
def form_page(
    request: Request,
    sessions: Sessions,
    settings: AppSettings,
    user: DeliverySubmitter,
    area: str | None = None,
    element: str | None = None,
    quarter: str | None = None,
) -> Response:
    tracker = _tracker(sessions, settings)
    values = {"area_code": area or "", "element_id": (element or "").upper(), "quarter": ""}
    chosen = _quarter(tracker, quarter) if quarter else tracker.current_quarter
    values["quarter"] = str(chosen)
    if area and element:
        try:
            cell = tracker.cell(tracker.area(area), tracker.spec.element(element.upper()), chosen)
        except KeyError:
            cell = None
        if cell is not None and cell.record is not None:
            values |= {
                "planned_percent": svc.blank_percent(cell.record.planned_percent),
                "actual_percent": svc.blank_percent(cell.record.actual_percent),
                "notes": cell.record.notes,
            }
    return _form(request, tracker, user, values, [])


def _form(
    request: Request,
    tracker: svc.Tracker,
    user: Principal,
    values: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "commissioning/delivery/form.html",
        _context(
            tracker,
            user,
            page_title="Record a quarter",
            values=values,
            errors=errors,
            quarters=[str(q) for q in tracker.spec.quarters],
            measured_ids=[e.id for e in tracker.spec.elements if e.measured],
        ),
        status_code=status_code,
    )


@router.post("/commissioning/delivery/submit", name="delivery_submit")
async def submit(
    request: Request, sessions: Sessions, settings: AppSettings, user: DeliverySubmitter
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in svc.CSV_COLUMNS}
    tracker = _tracker(sessions, settings)
    try:
        svc.record_quarter(sessions, user.actor, user.role, tracker.spec, tracker.areas, values)
    except svc.SubmissionError as exc:
        return _form(request, tracker, user, values, exc.reasons, status_code=400)
    element_id = values["element_id"].upper()
    target = request.url_for(
        "delivery_trajectory", area_code=values["area_code"], element_id=element_id
    ).path
    return RedirectResponse(target + "?" + urlencode({"recorded": values["quarter"]}), 303)


# --- Trajectory --------------------------------------------------------------------------------


CHART_WIDTH = 640
CHART_HEIGHT = 340
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 32, 80


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class TrajectoryChart:
    """Geometry of a trajectory chart: planned and actual % by quarter, milestone lines."""

    id: str
    title: str
    description: str
    width: int
    height: int
    planned: list[ChartPoint]
    actual: list[ChartPoint]
    ticks: list[ChartPoint]  # quarter labels along the x axis
    gridlines: list[ChartPoint]  # 0, 25, 50, 75, 100 %
    milestones: list[tuple[ChartPoint, ChartPoint]]  # (level line start, milestone marker)

    @staticmethod
    def polyline(points: list[ChartPoint]) -> str:
        return " ".join(f"{p.x},{p.y}" for p in points)


def trajectory_chart(trajectory: svc.Trajectory, milestones: Any) -> TrajectoryChart:
    cells = trajectory.cells
    span = max(len(cells) - 1, 1)
    plot_w, plot_h = CHART_WIDTH - LEFT - RIGHT, CHART_HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return round(LEFT + plot_w * i / span, 1)

    def y(percent: float) -> float:
        return round(TOP + plot_h * (1 - percent / 100), 1)

    index = {cell.quarter: i for i, cell in enumerate(cells)}
    planned = [
        ChartPoint(x(i), y(c.planned), f"{c.quarter}: planned {c.planned:g}%")
        for i, c in enumerate(cells)
        if c.planned is not None
    ]
    actual = [
        ChartPoint(x(i), y(c.actual), f"{c.quarter}: actual {c.actual:g}%")
        for i, c in enumerate(cells)
        if c.actual is not None
    ]
    marks = [
        (
            ChartPoint(LEFT, y(m.percent), f"{m.percent:g}%"),
            ChartPoint(x(index[m.by]), y(m.percent), f"{m.percent:g}% by {m.by}"),
        )
        for m in milestones
        if m.by in index
    ]
    return TrajectoryChart(
        id=f"trajectory-{trajectory.area.code}-{trajectory.element.id}".lower(),
        title=f"{trajectory.element.id} {trajectory.element.title}: {trajectory.area.name}",
        description=_describe(trajectory),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        planned=planned,
        actual=actual,
        ticks=[ChartPoint(x(i), CHART_HEIGHT - BOTTOM + 18, str(c.quarter)) for i, c in
               enumerate(cells)],
        gridlines=[ChartPoint(LEFT, y(p), f"{p}%") for p in (0, 25, 50, 75, 100)],
        milestones=marks,
    )  # fmt: skip


def _describe(trajectory: svc.Trajectory) -> str:
    planned = [c for c in trajectory.cells if c.planned is not None]
    actual = [c for c in trajectory.cells if c.actual is not None]
    parts = [f"Percentage of the population covered, {len(trajectory.cells)} quarters."]
    if planned:
        parts.append(f"Planned: {planned[-1].planned:g}% by {planned[-1].quarter}.")
    if actual:
        parts.append(f"Latest actual: {actual[-1].actual:g}% in {actual[-1].quarter}.")
    if not planned and not actual:
        parts.append("Nothing has been recorded yet.")
    parts += [_sentence(flag.text) for flag in trajectory.flags]
    parts.append("The same figures are in the table.")
    return " ".join(parts)


@router.get("/commissioning/delivery/{area_code}/{element_id}", name="delivery_trajectory")
def trajectory_page(
    request: Request,
    sessions: Sessions,
    settings: AppSettings,
    user: AggregateViewer,
    area_code: str,
    element_id: str,
    recorded: str | None = None,
) -> Response:
    tracker = _tracker(sessions, settings)
    area, element = _area_and_element(tracker, area_code, element_id)
    trajectory = tracker.trajectory(area, element)
    history = svc.submissions(
        sessions, latest_only=False, area_code=area.code, element_id=element.id
    )
    return templates.TemplateResponse(
        request,
        "commissioning/delivery/trajectory.html",
        _context(
            tracker,
            user,
            page_title=f"{element.id} {element.title}: {area.name}",
            area=area,
            element=element,
            trajectory=trajectory,
            chart=trajectory_chart(trajectory, tracker.spec.milestones),
            history=list(reversed(history)),
            recorded=recorded,
        ),
    )


TRAJECTORY_COLUMNS = (
    "area_code",
    "element_id",
    "quarter",
    "planned_percent",
    "actual_percent",
    "actual_source",
    "rag",
    "rule",
)


@router.get("/commissioning/delivery/{area_code}/{element_id}/data.csv", name="delivery_data")
def trajectory_csv(
    sessions: Sessions,
    settings: AppSettings,
    user: AggregateExporter,
    area_code: str,
    element_id: str,
) -> Response:
    tracker = _tracker(sessions, settings)
    area, element = _area_and_element(tracker, area_code, element_id)
    trajectory = tracker.trajectory(area, element)
    rows = [
        {
            "area_code": area.code,
            "element_id": element.id,
            "quarter": str(c.quarter),
            "planned_percent": "" if c.planned is None else c.planned,
            "actual_percent": "" if c.actual is None else c.actual,
            "actual_source": "measured"
            if c.measured
            else (c.record.source if c.record and c.actual is not None else ""),
            "rag": c.rag.label,
            "rule": c.measurement.text if c.measurement else "",
        }
        for c in trajectory.cells
    ]
    record_export(
        sessions,
        user,
        what="delivery.trajectory",
        purpose=PURPOSE,
        detail={"area": area.code, "element": element.id, "rows": len(rows), "format": "csv"},
    )
    return csv_download(TRAJECTORY_COLUMNS, rows, f"delivery-{area.code}-{element.id}.csv".lower())
