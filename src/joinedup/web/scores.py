"""Score distributions by practice and neighbourhood (suppressed, objectors left out).

Thin routes over `joinedup.analytics.score_distributions`: parse the score and level, leave
out the objectors (`joinedup.governance.objections`), render; the CSV export is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import score_distributions as sd
from joinedup.governance.audit import record_export
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AggregateExporter,
    AggregateViewer,
    AppSettings,
    Sessions,
)
from joinedup.web.navigation import area_titled
from joinedup.web.pages import is_htmx_partial
from joinedup.web.stratification import share_text, when_text
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


#: Category colours, mildest first (NHS green, warm yellow, orange, red); three-category
#: scores skip the yellow.
COLOURS = {
    3: ("#007f3b", "#ed8b00", "#d5281b"),
    4: ("#007f3b", "#ffb81c", "#ed8b00", "#d5281b"),
}
BAR_WIDTH = 240
BAR_HEIGHT = 16


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str


def stacked_bar(group: sd.GroupDistribution) -> list[Segment]:
    """The group's published category shares as adjacent segments (withheld ones left out)."""
    colours = COLOURS[len(group.categories)]
    segments, x = [], 0.0
    for figure, colour in zip(group.categories, colours, strict=True):
        width = round((figure.share or 0.0) * BAR_WIDTH, 1)
        segments.append(Segment(x=x, width=width, colour=colour))
        x = round(x + width, 1)
    return segments


def _choice(score: str | None, level: str | None) -> tuple[sd.ScoreDefinition, str]:
    try:
        return sd.choose(score or None, level or None)
    except sd.UnknownChoice as exc:
        raise HTTPException(status_code=404, detail=f"{str(exc).capitalize()}.") from None


def _result(
    settings: Settings, sessions: sessionmaker[Session], score: str, level: str
) -> sd.ScoreDistributions | None:
    return sd.score_distributions(settings, active_objectors(sessions), score, level)


def mean_text(value: float | None, digits: int = 2) -> str:
    return "withheld" if value is None else f"{value:.{digits}f}"


@router.get("/population/scores", name="population_scores")
def scores_page(
    request: Request,
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateViewer,
    score: str | None = None,
    level: str | None = None,
) -> Response:
    definition, chosen_level = _choice(score, level)
    population = area_titled("Population")
    result = _result(settings, sessions, definition.id, chosen_level)
    if result is None:
        return templates.TemplateResponse(
            request,
            "scores/no_run.html",
            {"population": population, "page_title": "Scores by practice"},
        )
    partial = is_htmx_partial(request)
    query = urlencode({"score": definition.id, "level": chosen_level})
    page_url = request.url_for("population_scores").path
    response = templates.TemplateResponse(
        request,
        "scores/_distributions.html" if partial else "scores/index.html",
        {
            "population": population,
            "page_title": f"Scores by {chosen_level}: {definition.title}",
            "partial": partial,
            "result": result,
            "scores": list(sd.SCORES.values()),
            "levels": sd.LEVELS,
            "page_url": page_url,
            "csv_url": request.url_for("population_scores_csv").path + "?" + query,
            "can_export": user.can("aggregates.export"),
            "suppression_note": SUPPRESSION_NOTE,
            "share_text": share_text,
            "mean_text": mean_text,
            "stacked_bar": stacked_bar,
            "colours": COLOURS[len(definition.categories)],
            "bar_width": BAR_WIDTH,
            "bar_height": BAR_HEIGHT,
            "when_text": when_text,
        },
    )
    response.headers["Vary"] = "HX-Request"
    if partial:
        response.headers["HX-Push-Url"] = page_url + "?" + query
    return response


@router.get("/population/scores.csv", name="population_scores_csv")
def scores_csv(
    settings: AppSettings,
    sessions: Sessions,
    user: AggregateExporter,
    score: str | None = None,
    level: str | None = None,
) -> Response:
    definition, chosen_level = _choice(score, level)
    result = _result(settings, sessions, definition.id, chosen_level)
    if result is None:
        raise HTTPException(
            status_code=404, detail="There are no scores yet: run `joinedup stratify` first."
        )
    body = sd.distributions_csv(result)
    record_export(
        sessions,
        user,
        what="population.scores",
        purpose="population health management",
        detail={
            "score": definition.id,
            "level": chosen_level,
            "run_id": result.run_id,
            "rows": body.count("\n") - 1,
        },
    )
    name = f"scores_{definition.id}_{chosen_level}_{result.index_date}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
