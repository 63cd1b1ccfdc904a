"""Population pages over the analytics runs: segments and cost, and the risk model's card.

Thin routes over `joinedup.analytics.published_segments` (the latest stratification run's
segments and cost concentration as published: objectors out, suppressed),
`joinedup.analytics.segmentation` (each scheme's rules as written in its YAML) and
`joinedup.analytics.risk.registry` (the latest trained model and its card). Nothing is
computed here beyond arranging the stored figures for the page and its charts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.engine import engine_title
from joinedup.analytics.published_segments import (
    SEGMENTS_CSV_COLUMNS,
    PublishedScheme,
    PublishedSegment,
    cost_concentration,
    published_schemes,
    published_segment_rows,
    run_figures,
)
from joinedup.analytics.risk.registry import ModelNotFound, load_model
from joinedup.analytics.segmentation import (
    Comparison,
    Condition,
    Group,
    Segment,
)
from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.governance.audit import record_export
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import (
    SUPPRESSION_NOTE,
    suppress_count,
    withheld_unless,
)
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    Sessions,
)
from joinedup.web.formatting import WITHHELD, uk_datetime
from joinedup.web.navigation import area_titled
from joinedup.web.pages import COMMISSIONING, csv_download
from joinedup.web.security import require
from joinedup.web.templating import templates

# Every route needs population.view_aggregates; the CSV export needs aggregates.export too.
router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require("population.view_aggregates"))],
)


# --- a paired bar chart: two figures per group (share of people and of cost; predicted and
# observed risk), drawn as SVG by templates/stratification/_charts.html --------------------------

CHART_WIDTH = 640
GROUP_HEIGHT = 72
LEGEND_HEIGHT = 34
PAIR_BAR_HEIGHT = 16
VALUE_ROOM = 72  # room for "100.0%" beside the longest bar
SERIES_COLOURS = ("#005eb8", "#ed8b00")  # NHS blue, NHS orange


@dataclass(frozen=True)
class PairedBar:
    y: float
    width: float
    text: str
    colour: str


@dataclass(frozen=True)
class PairedGroup:
    label: str
    label_y: float
    bars: tuple[PairedBar, PairedBar]


@dataclass(frozen=True)
class PairedChart:
    id: str
    title: str
    description: str
    series: tuple[str, str]
    colours: tuple[str, str]
    groups: list[PairedGroup]
    width: int = CHART_WIDTH
    bar_height: int = PAIR_BAR_HEIGHT

    @property
    def height(self) -> int:
        return LEGEND_HEIGHT + GROUP_HEIGHT * len(self.groups) + 4

    @property
    def bar_area(self) -> int:
        return self.width - VALUE_ROOM


def paired_chart(
    id: str,
    title: str,
    description: str,
    series: tuple[str, str],
    rows: Sequence[tuple[str, float | None, float | None]],
) -> PairedChart:
    """A chart of (label, first, second) rows, each a fraction from 0 to 1 shown as a percent
    (None: a withheld figure, shown as "withheld" with no bar).

    Bars are scaled to the largest figure, so the two series of every group compare directly.
    """
    largest = max((v or 0.0 for _, a, b in rows for v in (a, b)), default=0.0)
    area = CHART_WIDTH - VALUE_ROOM
    groups = []
    for i, (label, first, second) in enumerate(rows):
        top = LEGEND_HEIGHT + i * GROUP_HEIGHT
        bars = tuple(
            PairedBar(
                y=top + 26 + j * (PAIR_BAR_HEIGHT + 4),
                width=round(area * (value or 0.0) / largest, 1) if largest else 0.0,
                text=WITHHELD if value is None else share_text(value),
                colour=SERIES_COLOURS[j],
            )
            for j, value in enumerate((first, second))
        )
        groups.append(PairedGroup(label=label, label_y=top + 14, bars=(bars[0], bars[1])))
    return PairedChart(
        id=id,
        title=title,
        description=description,
        series=series,
        colours=SERIES_COLOURS,
        groups=groups,
    )


def share_text(value: float | None) -> str:
    """A fraction as a percent to one decimal place, or a dash when there is none."""
    return "–" if value is None else f"{100 * value:.1f}%"


def pounds(value: float | None) -> str:
    return "–" if value is None else f"£{value:,.0f}"


def when_text(timestamp: str) -> str:
    """An ISO timestamp the NHS way, on UK clocks: 23 November 2026 at 12:44."""
    return uk_datetime(timestamp)


# --- segment rules in words -------------------------------------------------------------------

#: Person-summary columns in words: yes/no columns as what is true of the person, the others as
#: the thing measured. A column not listed is shown by its name with spaces.
COLUMN_WORDS = {
    "age": "aged",
    "care_home": "lives in a care home",
    "housebound": "housebound",
    "dementia": "dementia recorded",
    "heart_failure": "heart failure recorded",
    "copd": "COPD recorded",
    "ckd": "chronic kidney disease recorded",
    "learning_disability": "learning disability recorded",
    "polypharmacy_10": "takes 10 or more different medicines",
    "efi_category": "eFI frailty category",
    "hfrs_category": "Hospital Frailty Risk Score category",
    "ltc_count": "long-term conditions",
    "emergency_admissions_12m": "emergency admissions in the last 12 months",
    "ae_attendances_12m": "A&E attendances in the last 12 months",
    "maternity_admissions_12m": "maternity admissions in the last 12 months",
    "palliative_care_contacts_12m": "palliative care contacts in the last 12 months",
}
_BOUNDS = {">=": "{} or more", ">": "more than {}", "<=": "{} or fewer", "<": "fewer than {}"}


def comparison_words(c: Comparison) -> str:
    """One condition as a person would say it: "aged 65 or more", "lives in a care home"."""
    words = COLUMN_WORDS.get(c.column, c.column.replace("_", " "))
    if isinstance(c.value, bool) and c.op in ("==", "!="):
        return words if (c.value is True) == (c.op == "==") else f"not {words}"
    if c.column == "cost_top_percent" and c.op in ("<", "<="):
        return f"among the {c.value}% of people who cost most"
    if c.column == "age" and c.op == "<":
        return f"under {c.value} {'year' if c.value == 1 else 'years'} old"
    if c.op in _BOUNDS:
        bound = _BOUNDS[c.op].format(c.value)
        return f"{words} {bound}" if c.column == "age" else f"{bound} {words}"
    if c.op == "in":
        return f"{words} is {' or '.join(str(v) for v in c.value)}"
    return f"{words} {'is' if c.op == '==' else 'is not'} {c.value}"


def condition_words(condition: Condition) -> str:
    if isinstance(condition, Comparison):
        return comparison_words(condition)
    joined = (" and " if condition.kind == "all" else " or ").join(
        condition_words(c) for c in condition.conditions
    )
    return f"({joined})" if len(condition.conditions) > 1 else joined


@dataclass(frozen=True)
class RuleLine:
    """One line of a segment's rule; `choices` when at least one of several must hold."""

    text: str
    choices: tuple[str, ...] = ()


def rule_lines(segment: Segment) -> list[RuleLine]:
    """A segment's conditions (all must hold), each a line; "any" groups list their choices."""
    lines = []
    for condition in segment.conditions:
        if isinstance(condition, Group) and condition.kind == "any":
            choices = tuple(
                condition_words(c).removeprefix("(").removesuffix(")") for c in condition.conditions
            )
            lines.append(RuleLine("at least one of:", choices))
        elif isinstance(condition, Group):
            lines += [RuleLine(condition_words(c)) for c in condition.conditions]
        else:
            lines.append(RuleLine(comparison_words(condition)))
    return lines


# --- segments and cost -------------------------------------------------------------------------
#
# The run's stored pareto.parquet and segment_summary.parquet count everyone. A commissioning
# page must leave out the people who object to secondary use, so the figures shown are worked
# out again from the run's person results without them (`figures_without`), then every count
# is suppressed and every figure about a group of 1 to 7 people withheld. The recomputation is
# cached per run and set of objectors: recording or withdrawing an objection changes the set.


def shown_share(value: float | None) -> str:
    """A published share: "withheld", a dash for a share of nothing, or a percent."""
    if value is None:
        return WITHHELD
    return share_text(None if math.isnan(value) else value)


def shown_pounds(value: float | None) -> str:
    return WITHHELD if value is None else pounds(value)


def _scheme_chart(scheme: PublishedScheme) -> PairedChart:
    return paired_chart(
        f"chart-{scheme.id}",
        f"{scheme.name}: share of people and share of cost by segment",
        _segment_description(scheme.segments),
        ("Share of people", "Share of cost"),
        [(s.name, s.people_share, s.cost_share) for s in scheme.segments],
    )


def _segment_description(rows: list[PublishedSegment]) -> str:
    if not rows:
        return "No segments. The figures are in the table."
    shown = [s for s in rows if s.cost_share is not None]
    if not shown:
        return f"{len(rows)} segments; their figures are withheld. The table says so."
    costly = max(shown, key=lambda s: s.cost_share or 0.0)
    return (
        f"{len(rows)} segments, each with two bars: its share of the people and its share of "
        f"the cost. {costly.name} has {shown_share(costly.people_share)} of the people and "
        f"{shown_share(costly.cost_share)} of the cost. The same figures are in the table."
    )


def _run_context(run: StratificationRun) -> dict[str, Any]:
    store = run.metadata.get("population_store", {})
    return {
        "run_id": run.run_id,
        "index_date": run.index_date,
        "engine": engine_title(run.engine),
        "created": when_text(run.created_at),
        "area_name": store.get("area_name") or "Unnamed area",
        "synthetic": bool(store.get("synthetic", False)),
        "people": suppress_count(int(run.metadata.get("rows", {}).get("person_results", 0))),
        "duration": run.metadata.get("duration_seconds"),
        "window_days": run.metadata.get("parameters", {}).get("window_days"),
    }


@router.get("/population/segments", name="population_segments")
def segments_page(
    request: Request, settings: AppSettings, sessions: Sessions, user: AggregateViewer
) -> Response:
    run = latest_run(settings)
    population = area_titled("Population")
    if run is None:
        return templates.TemplateResponse(
            request,
            "stratification/no_run.html",
            {"population": population, "page_title": "Segments and cost"},
        )
    figures = run_figures(run, active_objectors(sessions))
    schemes = published_schemes(run, figures)
    pareto = cost_concentration(figures, settings)
    area = pareto["area"][0] if pareto["area"] else None
    top_percents = sorted(area.shares) if area else []
    return templates.TemplateResponse(
        request,
        "stratification/segments.html",
        {
            "population": population,
            "page_title": "Segments and cost",
            "run": {**_run_context(run), "people": suppress_count(figures.people)},
            "objectors_left_out": suppress_count(figures.left_out),
            "suppression_note": SUPPRESSION_NOTE,
            "can_export": user.can("aggregates.export"),
            "schemes": schemes,
            "charts": {scheme.id: _scheme_chart(scheme) for scheme in schemes},
            "rule_lines": rule_lines,
            "area": area,
            "neighbourhoods": pareto["neighbourhood"],
            "practices": pareto["practice"],
            "top_percents": top_percents,
            "share_text": shown_share,
            "pounds": shown_pounds,
        },
    )


@router.get("/population/segments.csv", name="population_segments_csv")
def segments_csv(
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateExporter,
) -> Response:
    run = latest_run(settings)
    if run is None:
        raise HTTPException(
            status_code=404, detail="There is no stratification run yet: run joinedup stratify."
        )
    rows = published_segment_rows(run, active_objectors(sessions), settings)
    record_export(
        sessions,
        user,
        what="population.segments",
        purpose=COMMISSIONING,
        detail={"run_id": run.run_id, "rows": len(rows), "format": "csv"},
    )
    return csv_download(SEGMENTS_CSV_COLUMNS, rows, f"segments-and-cost-{run.run_id}.csv")


# --- the model card ----------------------------------------------------------------------------

SCORERS = (
    ("model", "LightGBM model", "The model itself."),  # gradient-boosted trees
    ("baseline", "Logistic regression", "A simpler model on the same features."),
    (
        "rule",
        "Prior admissions rule",
        "Ranking people by their emergency admissions in the year before.",
    ),
)
EQUITY_TITLES = {"age_band": "Age band", "sex": "Sex", "imd_quintile": "Deprivation quintile"}
_WINDOW = re.compile(r"^\((\d{4}-\d{2}-\d{2}), (\d{4}-\d{2}-\d{2})\]$")


def outcome_window(text: str) -> str:
    """ "(2024-03-31, 2025-03-31]" (after the first day, up to the second) in words."""
    match = _WINDOW.match(text)
    if not match:
        return text
    start = dt.date.fromisoformat(match[1]) + dt.timedelta(days=1)
    end = dt.date.fromisoformat(match[2])
    return f"{start.day} {start:%B %Y} to {end.day} {end:%B %Y}"


@router.get("/population/model-card", name="population_model_card")
def model_card_page(request: Request, settings: AppSettings) -> Response:
    population = area_titled("Population")
    try:
        model = load_model(settings)
    except ModelNotFound as exc:
        return templates.TemplateResponse(
            request,
            "stratification/no_model.html",
            {"population": population, "page_title": "Risk model card", "reason": str(exc)},
        )
    card = model.card.to_dict()
    deciles = card["model"]["calibration_table"]
    chart = paired_chart(
        "chart-calibration",
        "Calibration: mean predicted risk and observed admission rate by decile",
        f"{len(deciles)} deciles of predicted risk, lowest first, each with two bars: the mean "
        "predicted risk and the share of people admitted. The same figures are in the table.",
        ("Mean predicted risk", "Observed admission rate"),
        [
            (_decile_label(int(d["bin"]), len(deciles)), d["mean_predicted"], d["observed"])
            for d in deciles
        ],
    )
    return templates.TemplateResponse(
        request,
        "stratification/model_card.html",
        {
            "population": population,
            "page_title": "Risk model card",
            "card": card,
            "created": when_text(card["created"]),
            "scorers": SCORERS,
            "deciles": deciles,
            "calibration_chart": chart,
            "equity_titles": EQUITY_TITLES,
            "outcome_window": outcome_window,
            "share_text": share_text,
            "suppress": suppress_count,
            "group_withheld": lambda n: withheld_unless(n, 0.0) is None,
            "suppression_note": SUPPRESSION_NOTE,
        },
    )


def _decile_label(decile: int, count: int) -> str:
    if decile == 1:
        return "Decile 1 (lowest risk)"
    if decile == count:
        return f"Decile {decile} (highest risk)"
    return f"Decile {decile}"
