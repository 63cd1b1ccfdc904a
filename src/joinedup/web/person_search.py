"""Find a person (``/people/search``): a thin page over `governance.person_search`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.governance.person_search import SearchError, find_people, person_query
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import age_on, organisation_names
from joinedup.web.date_input import PARTS, DateInputError, read_date, typed_date
from joinedup.web.dependencies import Sessions, Store, Viewer
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/people/search", name="person_search")
def search_page(
    request: Request,
    user: Viewer,
    sessions: Sessions,
    store: Store,
    family_name: str = "",
    given_name: str = "",
    nhs_number: str = "",
) -> Response:
    form = {
        "family_name": family_name,
        "given_name": given_name,
        "nhs_number": nhs_number,
        **{f"dob-{part}": request.query_params.get(f"dob-{part}", "") for part in PARTS},
    }
    context: dict[str, Any] = {"form": form, "error": "", "error_field": "", "result": None}
    context["typed_dob"] = typed_date(form, "dob")
    if any(value.strip() for value in form.values()):
        try:
            born = read_date_of_birth(form)
            query = person_query(family_name, given_name, born, nhs_number)
            context["result"] = find_people(sessions, store, user, query)
        except SearchError as exc:
            context.update(error=str(exc), error_field=exc.field)
        else:
            context.update(_shown(store, context["result"].people))
    return templates.TemplateResponse(
        request,
        "people/search.html",
        {"page_title": "Find a person", **context},
        status_code=400 if context["error"] else 200,
        headers={"Cache-Control": "no-store"},  # the answer names people
    )


def read_date_of_birth(form: Mapping[str, str]) -> dt.date | None:
    """The date of birth typed in a search's NHS date input `dob` (None when all three boxes
    are empty), or a `SearchError` saying what to fix."""
    try:
        born = read_date(form, "dob", "date of birth", when="past")
    except DateInputError as exc:
        raise SearchError(str(exc), exc.field) from None
    if born is not None and born.year < 1880:
        raise SearchError("Date of birth must be a real date", "dob-year")
    return born


def _shown(store: Any, people: list[Any]) -> dict[str, Any]:
    today = dt.date.today()
    return {
        "nhs_numbers": {p.person_id: format_nhs_number(p.nhs_number) for p in people},
        "ages": {p.person_id: age_on(p.date_of_birth, today) for p in people},
        "practices": organisation_names(store),
    }
