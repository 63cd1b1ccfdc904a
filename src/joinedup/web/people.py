"""A person's pages (identifiable: legitimate relationship or break-glass, every view audited).

Each page: find the person (404 if unknown), ask the legitimate-relationship rule
(`joinedup.governance.relationships.person_access`), refuse with 403 (and the way to break
glass, for roles that may) or audit the view (`joinedup.governance.audit.record_view`)
*before* anything identifiable is rendered.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.person_scores import PersonNotFound, person_scores
from joinedup.governance.audit import record_view
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.people import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.dependencies import get_population_store, get_sessions, get_settings
from joinedup.web.security import require
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

BASIS_WORDS = {
    "organisation": "The person is registered at a practice in an organisation you work in.",
    "care_team": "You are on the person's care team.",
    "break_glass": "You broke glass to open this record.",
}


def _person(store: PopulationStore, person_id: int) -> PersonIdentity:
    person = find_person(store, person_id)
    if person is None:
        raise HTTPException(status_code=404, detail="There is no person with that number.")
    return person


@router.get("/people/{person_id}/scores", name="person_scores")
def person_scores_page(
    request: Request,
    person_id: int,
    user: Annotated[Principal, Depends(require("record.view"))],
    settings: Annotated[Settings, Depends(get_settings)],
    store: Annotated[PopulationStore, Depends(get_population_store)],
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
) -> Response:
    person = _person(store, person_id)
    access = person_access(sessions, user, person_id, person.practice_code)
    if not access.allowed:
        can_break_glass = user.can("record.break_glass")
        return templates.TemplateResponse(
            request,
            "people/refused.html",
            {
                "can_break_glass": can_break_glass,
                "break_glass_url": f"/people/{person_id}/break-glass",
            },
            status_code=403,
        )
    record_view(sessions, user, person_id=person_id, what="person.scores")
    try:
        scores = person_scores(settings, person_id)
    except PersonNotFound:
        raise HTTPException(
            status_code=404, detail="There is no person with that number."
        ) from None
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
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%B %Y}"
