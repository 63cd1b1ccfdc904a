"""Population pages over the analytics runs: segments and cost, and the risk model's card.

Thin routes over `joinedup.analytics.stratify` (the latest stratification run),
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
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.pareto import (
    AREA,
    NO_NEIGHBOURHOOD,
    TOP_PERCENTS,
    RunFigures,
    figures_without,
)
from joinedup.analytics.risk.registry import ModelNotFound, load_model
from joinedup.analytics.segmentation import (
    Comparison,
    Condition,
    Group,
    Scheme,
    Segment,
    SegmentationError,
    builtin_scheme,
)
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun, latest_run
from joinedup.governance.audit import record_export
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import (
    SUPPRESSION_NOTE,
    suppress_count,
    suppressed_share,
    withheld_unless,
)
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    Sessions,
)
from joinedup.web.formatting import WITHHELD
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
    """An ISO timestamp the NHS way: 23 November 2026 at 12:44 (UTC)."""
    try:
        moment = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    zone = " UTC" if moment.utcoffset() == dt.timedelta(0) else ""
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M}{zone}"


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


@dataclass(frozen=True)
class SegmentRow:
    """A segment's published figures: None is a withheld figure."""

    id: str
    name: str
    level: int
    description: str
    rule: list[RuleLine]
    people: int | None
    people_share: float | None
    total_cost: float | None
    cost_share: float | None
    cost_per_person: float | None


@dataclass(frozen=True)
class SchemeView:
    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    segments: list[SegmentRow]
    chart: PairedChart
    people: int | None
    total_cost: float | None
    cost_per_person: float | None


@dataclass(frozen=True)
class ParetoRow:
    code: str
    name: str
    parent: str  # a practice's neighbourhood, in words; empty for the area and neighbourhoods
    people: int | None
    total_cost: float | None
    shares: dict[int, float | None]  # top percent → share of the group's cost (NaN: no cost)
    top_people: dict[int, int | None]


NO_SHARE = float("nan")  # a share of nothing (the group cost nothing): shown as a dash


def shown_share(value: float | None) -> str:
    """A published share: "withheld", a dash for a share of nothing, or a percent."""
    if value is None:
        return WITHHELD
    return share_text(None if math.isnan(value) else value)


def shown_pounds(value: float | None) -> str:
    return WITHHELD if value is None else pounds(value)


def _scheme(scheme_id: str) -> Scheme | None:
    try:
        return builtin_scheme(scheme_id)
    except (SegmentationError, OSError):
        return None  # a scheme from a file elsewhere: the run's figures still show


def _scheme_ids(run: StratificationRun) -> list[str]:
    summary = run.segment_summary().column("scheme").to_pylist()
    order: list[str] = list(run.metadata.get("parameters", {}).get("schemes", []))
    return order + [s for s in dict.fromkeys(summary) if s not in order]


@lru_cache(maxsize=8)
def _cached_figures(
    path: str, run_id: str, scheme_ids: tuple[str, ...], objectors: frozenset[int]
) -> RunFigures:
    return figures_without(Path(path) / PERSON_RESULTS, scheme_ids, objectors)


def run_figures(run: StratificationRun, objectors: frozenset[int]) -> RunFigures:
    """The run's cost concentration and segment totals without `objectors` (cached)."""
    return _cached_figures(str(run.path), run.run_id, tuple(_scheme_ids(run)), objectors)


def _scheme_views(run: StratificationRun, figures: RunFigures) -> list[SchemeView]:
    # The run's own summary lists every segment (empty ones too) with its name and level.
    listed = run.segment_summary().select(["scheme", "segment", "name", "level"]).to_pylist()
    found = {(r["scheme"], r["segment"]): r for r in figures.segments.to_pylist()}
    views = []
    for scheme_id in _scheme_ids(run):
        scheme = _scheme(scheme_id)
        info = run.metadata.get("segmentations", {}).get(scheme_id, {})
        scheme_cost = sum(
            float(r["total_cost"]) for (sid, _), r in found.items() if sid == scheme_id
        )
        rows = []
        for r in (r for r in listed if r["scheme"] == scheme_id):
            segment = None
            if scheme is not None:
                segment = next((s for s in scheme.segments if s.id == r["segment"]), None)
            figure = found.get((scheme_id, r["segment"]), {})
            people = int(figure.get("people") or 0)
            cost = float(figure.get("total_cost") or 0.0)
            rows.append(
                SegmentRow(
                    id=r["segment"],
                    name=r["name"],
                    level=int(r["level"]),
                    description=" ".join(segment.description.split()) if segment else "",
                    rule=rule_lines(segment) if segment else [],
                    people=suppress_count(people),
                    people_share=suppressed_share(people, figures.people),
                    total_cost=withheld_unless(people, cost),
                    cost_share=withheld_unless(people, cost / scheme_cost if scheme_cost else 0.0),
                    cost_per_person=withheld_unless(people, cost / people if people else None),
                )
            )
        name = scheme.name if scheme else str(info.get("name") or scheme_id)
        chart = paired_chart(
            f"chart-{scheme_id}",
            f"{name}: share of people and share of cost by segment",
            _segment_description(rows),
            ("Share of people", "Share of cost"),
            [(s.name, s.people_share, s.cost_share) for s in rows],
        )
        views.append(
            SchemeView(
                id=scheme_id,
                name=name,
                description=" ".join(scheme.description.split()) if scheme else "",
                sources=tuple(" ".join(s.split()) for s in scheme.sources) if scheme else (),
                segments=rows,
                chart=chart,
                people=suppress_count(figures.people),
                total_cost=withheld_unless(figures.people, scheme_cost),
                cost_per_person=withheld_unless(
                    figures.people, scheme_cost / figures.people if figures.people else None
                ),
            )
        )
    return views


def _segment_description(rows: list[SegmentRow]) -> str:
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


def _organisation_names(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Organisation names by code, and each practice's neighbourhood code (empty if unknown)."""
    try:
        rows = (
            PopulationStore(settings.population_dir)
            .read("organisations", columns=["org_code", "name", "parent_code"])
            .to_pylist()
        )
    except StoreError:
        return {}, {}
    names = {r["org_code"]: r["name"] for r in rows}
    parents = {r["org_code"]: r["parent_code"] or "" for r in rows}
    return names, parents


def _top_share(people: int, top_people: int, share: float | None) -> float | None:
    """The top p%'s share of a group's cost: withheld when the group or its top p% has 1 to 7
    people (either is a group the figure is about); NaN when the group cost nothing."""
    if withheld_unless(people, 0.0) is None or withheld_unless(top_people, 0.0) is None:
        return None
    return NO_SHARE if share is None else float(share)


def _pareto_rows(figures: RunFigures, settings: Settings) -> dict[str, list[ParetoRow]]:
    names, parents = _organisation_names(settings)
    names[NO_NEIGHBOURHOOD] = "No neighbourhood"
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for r in figures.pareto.to_pylist():
        row = grouped.setdefault(
            (r["level"], r["group_code"]),
            {"people": r["people"], "total_cost": r["total_cost"], "shares": {}, "top": {}},
        )
        pct = int(r["top_percent"])
        row["shares"][pct] = _top_share(int(r["people"]), int(r["top_people"]), r["share"])
        row["top"][pct] = suppress_count(int(r["top_people"]))
    levels: dict[str, list[ParetoRow]] = {"area": [], "neighbourhood": [], "practice": []}
    for (level, code), row in grouped.items():
        if level == "practice":
            hood = parents.get(code, "")
            parent = names.get(hood, hood) if hood else "No neighbourhood"
        else:
            parent = ""
        name = "Whole area" if code == AREA else names.get(code, code)
        people = int(row["people"])
        levels.setdefault(level, []).append(
            ParetoRow(
                code=code,
                name=name,
                parent=parent,
                people=suppress_count(people),
                total_cost=withheld_unless(people, float(row["total_cost"])),
                shares=row["shares"],
                top_people=row["top"],
            )
        )
    for rows in levels.values():
        rows.sort(key=lambda r: (r.parent, r.name, r.code))
    return levels


def _run_context(run: StratificationRun) -> dict[str, Any]:
    store = run.metadata.get("population_store", {})
    return {
        "run_id": run.run_id,
        "index_date": run.index_date,
        "engine": {"duckdb": "DuckDB", "spark": "Apache Spark"}.get(run.engine, run.engine),
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
    pareto = _pareto_rows(figures, settings)
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
            "schemes": _scheme_views(run, figures),
            "area": area,
            "neighbourhoods": pareto["neighbourhood"],
            "practices": pareto["practice"],
            "top_percents": top_percents,
            "share_text": shown_share,
            "pounds": shown_pounds,
        },
    )


SEGMENTS_CSV_COLUMNS = (
    "table",
    "scheme",
    "level",
    "code",
    "name",
    "parent",
    "people",
    "people_share_percent",
    "total_cost",
    "cost_share_percent",
    "cost_per_person",
    *(f"top_{pct}_percent_{what}" for pct in TOP_PERCENTS for what in ("people", "cost_share")),
)


def _csv_percent(value: float | None) -> str | None:
    if value is None:
        return None
    return "" if math.isnan(value) else f"{100 * value:.1f}"


def _csv_pounds(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def published_segment_rows(
    run: StratificationRun, objectors: frozenset[int], settings: Settings
) -> list[dict[str, Any]]:
    """Segments and cost concentration of `run` as published (objectors out, suppressed): the
    rows of the page's CSV and of `joinedup export segments`."""
    figures = run_figures(run, objectors)
    return segments_csv_rows(_scheme_views(run, figures), _pareto_rows(figures, settings))


def segments_csv_rows(
    schemes: list[SchemeView], pareto: dict[str, list[ParetoRow]]
) -> list[dict[str, Any]]:
    """The page's published figures as CSV rows: segments by scheme, then the cost
    concentration of the area, each neighbourhood and each practice."""
    rows: list[dict[str, Any]] = []
    for scheme in schemes:
        for s in scheme.segments:
            rows.append(
                {
                    "table": "segment",
                    "scheme": scheme.id,
                    "level": s.level,
                    "code": s.id,
                    "name": s.name,
                    "people": s.people,
                    "people_share_percent": _csv_percent(s.people_share),
                    "total_cost": _csv_pounds(s.total_cost),
                    "cost_share_percent": _csv_percent(s.cost_share),
                    "cost_per_person": _csv_pounds(s.cost_per_person),
                }
            )
    for level in ("area", "neighbourhood", "practice"):
        for p in pareto.get(level, []):
            row: dict[str, Any] = {
                "table": "cost_concentration",
                "level": level,
                "code": p.code,
                "name": p.name,
                "parent": p.parent,
                "people": p.people,
                "total_cost": _csv_pounds(p.total_cost),
            }
            for pct in TOP_PERCENTS:
                row[f"top_{pct}_percent_people"] = p.top_people.get(pct)
                row[f"top_{pct}_percent_cost_share"] = _csv_percent(p.shares.get(pct))
            rows.append(row)
    return rows


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
