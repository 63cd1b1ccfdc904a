"""A person's scores page, and the words every person page uses for the basis of access.

Identifiable: behind the person gate (`joinedup.web.person_gate`), which finds the person,
checks the legitimate relationship (or refuses, offering break-glass) and audits the view
before this renders.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.analytics.person_scores import PersonNotFound, person_scores
from joinedup.governance.relationships import Access
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.web.dependencies import AppSettings
from joinedup.web.formatting import uk_datetime
from joinedup.web.person_gate import NOT_FOUND, OpenedPerson, person_gate
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

BASIS_WORDS = {
    "organisation": "The person is registered at a practice in an organisation you work in.",
    "care_team": "You are on the person's care team.",
    "break_glass": "You broke glass to open this record.",
}


@router.get("/people/{person_id}/scores", name="person_scores")
def person_scores_page(
    request: Request,
    opened: Annotated[OpenedPerson[Access], Depends(person_gate("person.scores"))],
    settings: AppSettings,
) -> Response:
    person, access = opened.person, opened.access
    try:
        scores = person_scores(settings, person.person_id)
    except PersonNotFound:
        raise HTTPException(status_code=404, detail=NOT_FOUND) from None
    return templates.TemplateResponse(
        request,
        "people/scores.html",
        {
            "page_title": "Scores and what produced them",
            "person": person,
            "nhs_number": format_nhs_number(person.nhs_number),
            "age": person.age_on(scores.index_date),
            "access": access,
            "basis_words": BASIS_WORDS.get(access.basis or "", ""),
            "expires": _expiry_text(access.break_glass_expires_at),
            "scores": scores,
        },
    )


def _expiry_text(moment: dt.datetime | None) -> str:
    """When break-glass access ends, on UK clocks (stored in UTC)."""
    return uk_datetime(moment)
