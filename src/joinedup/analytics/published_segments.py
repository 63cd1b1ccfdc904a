"""Segments and cost concentration of a stratification run as they may be published.

The one service behind the segments page, its CSV and `joinedup export segments`: the run's
figures with objectors left out (`pareto.figures_without`), every count passed through
small-number suppression and every figure about a group withheld with the group's count
(`governance.suppression`). Pages draw charts and words from these rows; nothing here knows
how they are shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from joinedup.analytics.pareto import (
    AREA,
    NO_NEIGHBOURHOOD,
    TOP_PERCENTS,
    RunFigures,
    figures_without,
)
from joinedup.analytics.segmentation import Scheme, Segment, SegmentationError, builtin_scheme
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun
from joinedup.governance.suppression import suppress_count, suppressed_share, withheld_unless
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings

NO_SHARE = float("nan")  # a share of nothing (the group cost nothing): shown as a dash


@dataclass(frozen=True)
class PublishedSegment:
    """A segment's published figures: None is a withheld figure."""

    id: str
    name: str
    level: int
    description: str
    segment: Segment | None  # its rule, when the scheme is one of joinedup's own
    people: int | None
    people_share: float | None
    total_cost: float | None
    cost_share: float | None
    cost_per_person: float | None


@dataclass(frozen=True)
class PublishedScheme:
    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    segments: list[PublishedSegment]
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


def published_schemes(run: StratificationRun, figures: RunFigures) -> list[PublishedScheme]:
    """Every segmentation scheme of `run` with its segments' published figures, in run order."""
    # The run's own summary lists every segment (empty ones too) with its name and level.
    listed = run.segment_summary().select(["scheme", "segment", "name", "level"]).to_pylist()
    found = {(r["scheme"], r["segment"]): r for r in figures.segments.to_pylist()}
    schemes = []
    for scheme_id in _scheme_ids(run):
        scheme = _scheme(scheme_id)
        info = run.metadata.get("segmentations", {}).get(scheme_id, {})
        scheme_cost = sum(
            float(r["total_cost"]) for (sid, _), r in found.items() if sid == scheme_id
        )
        rows = [
            _published_segment(
                r, scheme, found.get((scheme_id, r["segment"]), {}), figures, scheme_cost
            )
            for r in listed
            if r["scheme"] == scheme_id
        ]
        schemes.append(
            PublishedScheme(
                id=scheme_id,
                name=scheme.name if scheme else str(info.get("name") or scheme_id),
                description=" ".join(scheme.description.split()) if scheme else "",
                sources=tuple(" ".join(s.split()) for s in scheme.sources) if scheme else (),
                segments=rows,
                people=suppress_count(figures.people),
                total_cost=withheld_unless(figures.people, scheme_cost),
                cost_per_person=withheld_unless(
                    figures.people, scheme_cost / figures.people if figures.people else None
                ),
            )
        )
    return schemes


def _published_segment(
    listed: dict[str, Any],
    scheme: Scheme | None,
    figure: dict[str, Any],
    figures: RunFigures,
    scheme_cost: float,
) -> PublishedSegment:
    segment = None
    if scheme is not None:
        segment = next((s for s in scheme.segments if s.id == listed["segment"]), None)
    people = int(figure.get("people") or 0)
    cost = float(figure.get("total_cost") or 0.0)
    return PublishedSegment(
        id=listed["segment"],
        name=listed["name"],
        level=int(listed["level"]),
        description=" ".join(segment.description.split()) if segment else "",
        segment=segment,
        people=suppress_count(people),
        people_share=suppressed_share(people, figures.people),
        total_cost=withheld_unless(people, cost),
        cost_share=withheld_unless(people, cost / scheme_cost if scheme_cost else 0.0),
        cost_per_person=withheld_unless(people, cost / people if people else None),
    )


def _organisation_names(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Organisation names by code, and each practice's neighbourhood code (empty if unknown)."""
    try:
        orgs = organisations(PopulationStore(settings.population_dir))
    except StoreError:
        return {}, {}
    names = {code: org.name for code, org in orgs.items()}
    parents = {code: org.parent_code or "" for code, org in orgs.items()}
    return names, parents


def _top_share(people: int, top_people: int, share: float | None) -> float | None:
    """The top p%'s share of a group's cost: withheld when the group or its top p% has 1 to 7
    people (either is a group the figure is about); NaN when the group cost nothing."""
    if withheld_unless(people, 0.0) is None or withheld_unless(top_people, 0.0) is None:
        return None
    return NO_SHARE if share is None else float(share)


def cost_concentration(figures: RunFigures, settings: Settings) -> dict[str, list[ParetoRow]]:
    """The published cost concentration of the area, each neighbourhood and each practice."""
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
    return segments_csv_rows(published_schemes(run, figures), cost_concentration(figures, settings))


def segments_csv_rows(
    schemes: list[PublishedScheme], pareto: dict[str, list[ParetoRow]]
) -> list[dict[str, Any]]:
    """The published figures as CSV rows: segments by scheme, then the cost concentration of
    the area, each neighbourhood and each practice."""
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
