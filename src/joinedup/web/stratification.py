"""Population pages over the analytics runs: segments and cost, and the risk model's card.

Thin routes over `joinedup.analytics.stratify` (the latest stratification run),
`joinedup.analytics.segmentation` (each scheme's rules as written in its YAML) and
`joinedup.analytics.risk.registry` (the latest trained model and its card). Nothing is
computed here beyond arranging the stored figures for the page and its charts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.pareto import AREA, NO_NEIGHBOURHOOD
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
from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings
from joinedup.web.dependencies import get_settings
from joinedup.web.navigation import area_titled
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require("population.view_aggregates"))],
)

SettingsDep = Annotated[Settings, Depends(get_settings)]

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
    rows: Sequence[tuple[str, float, float]],
) -> PairedChart:
    """A chart of (label, first, second) rows, each a fraction from 0 to 1 shown as a percent.

    Bars are scaled to the largest figure, so the two series of every group compare directly.
    """
    largest = max((max(a, b) for _, a, b in rows), default=0.0)
    area = CHART_WIDTH - VALUE_ROOM
    groups = []
    for i, (label, first, second) in enumerate(rows):
        top = LEGEND_HEIGHT + i * GROUP_HEIGHT
        bars = tuple(
            PairedBar(
                y=top + 26 + j * (PAIR_BAR_HEIGHT + 4),
                width=round(area * value / largest, 1) if largest else 0.0,
                text=share_text(value),
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


@dataclass(frozen=True)
class SegmentRow:
    id: str
    name: str
    level: int
    description: str
    rule: list[RuleLine]
    people: int
    people_share: float
    total_cost: float
    cost_share: float

    @property
    def cost_per_person(self) -> float | None:
        return self.total_cost / self.people if self.people else None


@dataclass(frozen=True)
class SchemeView:
    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    segments: list[SegmentRow]
    chart: PairedChart

    @property
    def people(self) -> int:
        return sum(s.people for s in self.segments)

    @property
    def total_cost(self) -> float:
        return sum(s.total_cost for s in self.segments)


@dataclass(frozen=True)
class ParetoRow:
    code: str
    name: str
    parent: str  # a practice's neighbourhood, in words; empty for the area and neighbourhoods
    people: int
    total_cost: float
    shares: dict[int, float | None]  # top percent → share of the group's cost
    top_people: dict[int, int]


def _scheme(scheme_id: str) -> Scheme | None:
    try:
        return builtin_scheme(scheme_id)
    except (SegmentationError, OSError):
        return None  # a scheme from a file elsewhere: the run's figures still show


def _scheme_views(run: StratificationRun) -> list[SchemeView]:
    summary = run.segment_summary().to_pylist()
    order: list[str] = list(run.metadata.get("parameters", {}).get("schemes", []))
    order += [r["scheme"] for r in summary if r["scheme"] not in order]
    views = []
    for scheme_id in order:
        scheme = _scheme(scheme_id)
        info = run.metadata.get("segmentations", {}).get(scheme_id, {})
        rows = []
        for r in (r for r in summary if r["scheme"] == scheme_id):
            segment = None
            if scheme is not None:
                segment = next((s for s in scheme.segments if s.id == r["segment"]), None)
            rows.append(
                SegmentRow(
                    id=r["segment"],
                    name=r["name"],
                    level=int(r["level"]),
                    description=" ".join(segment.description.split()) if segment else "",
                    rule=rule_lines(segment) if segment else [],
                    people=int(r["people"]),
                    people_share=float(r["people_share"]),
                    total_cost=float(r["total_cost"]),
                    cost_share=float(r["cost_share"]),
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
            )
        )
    return views


def _segment_description(rows: list[SegmentRow]) -> str:
    if not rows:
        return "No segments. The figures are in the table."
    costly = max(rows, key=lambda s: s.cost_share)
    return (
        f"{len(rows)} segments, each with two bars: its share of the people and its share of "
        f"the cost. {costly.name} has {share_text(costly.people_share)} of the people and "
        f"{share_text(costly.cost_share)} of the cost. The same figures are in the table."
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


def _pareto_rows(run: StratificationRun, settings: Settings) -> dict[str, list[ParetoRow]]:
    names, parents = _organisation_names(settings)
    names[NO_NEIGHBOURHOOD] = "No neighbourhood"
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for r in run.pareto().to_pylist():
        row = grouped.setdefault(
            (r["level"], r["group_code"]),
            {"people": r["people"], "total_cost": r["total_cost"], "shares": {}, "top": {}},
        )
        row["shares"][int(r["top_percent"])] = r["share"]
        row["top"][int(r["top_percent"])] = int(r["top_people"])
    levels: dict[str, list[ParetoRow]] = {"area": [], "neighbourhood": [], "practice": []}
    for (level, code), row in grouped.items():
        if level == "practice":
            hood = parents.get(code, "")
            parent = names.get(hood, hood) if hood else "No neighbourhood"
        else:
            parent = ""
        name = "Whole area" if code == AREA else names.get(code, code)
        levels.setdefault(level, []).append(
            ParetoRow(
                code=code,
                name=name,
                parent=parent,
                people=int(row["people"]),
                total_cost=float(row["total_cost"]),
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
        "people": int(run.metadata.get("rows", {}).get("person_results", 0)),
        "duration": run.metadata.get("duration_seconds"),
        "window_days": run.metadata.get("parameters", {}).get("window_days"),
    }


@router.get("/population/segments", name="population_segments")
def segments_page(request: Request, settings: SettingsDep) -> Response:
    run = latest_run(settings)
    population = area_titled("Population")
    if run is None:
        return templates.TemplateResponse(
            request,
            "stratification/no_run.html",
            {"population": population, "page_title": "Segments and cost"},
        )
    pareto = _pareto_rows(run, settings)
    area = pareto["area"][0] if pareto["area"] else None
    top_percents = sorted(area.shares) if area else []
    return templates.TemplateResponse(
        request,
        "stratification/segments.html",
        {
            "population": population,
            "page_title": "Segments and cost",
            "run": _run_context(run),
            "schemes": _scheme_views(run),
            "area": area,
            "neighbourhoods": pareto["neighbourhood"],
            "practices": pareto["practice"],
            "top_percents": top_percents,
            "share_text": share_text,
            "pounds": pounds,
        },
    )


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
def model_card_page(request: Request, settings: SettingsDep) -> Response:
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
        },
    )


def _decile_label(decile: int, count: int) -> str:
    if decile == 1:
        return "Decile 1 (lowest risk)"
    if decile == count:
        return f"Decile {decile} (highest risk)"
    return f"Decile {decile}"
