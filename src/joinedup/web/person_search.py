"""Find a person (``/people/search``): a thin page over `governance.person_search`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.governance.person_search import SearchError, find_people, person_query
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import age_on, organisation_names
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
        **{f"dob-{part}": request.query_params.get(f"dob-{part}", "") for part in DOB_PARTS},
    }
    context: dict[str, Any] = {"form": form, "error": "", "error_field": "", "result": None}
    if any(value.strip() for value in form.values()):
        try:
            born = _date_of_birth(form)
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


DOB_PARTS = ("day", "month", "year")


def _date_of_birth(form: dict[str, str]) -> dt.date | None:
    """The NHS date input's three boxes as a date (None when all are empty)."""
    parts = [form[f"dob-{part}"].strip() for part in DOB_PARTS]
    if not any(parts):
        return None
    if not all(p.isdigit() for p in parts):
        raise SearchError("Date of birth must include a day, month and year", "dob-day")
    day, month, year = (int(p) for p in parts)
    try:
        born = dt.date(year, month, day)
    except ValueError:
        raise SearchError("Date of birth must be a real date", "dob-day") from None
    if year < 1880 or born > dt.date.today():
        raise SearchError("Date of birth must be in the past, with a 4-digit year", "dob-year")
    return born


def _shown(store: Any, people: list[Any]) -> dict[str, Any]:
    today = dt.date.today()
    return {
        "nhs_numbers": {p.person_id: format_nhs_number(p.nhs_number) for p in people},
        "ages": {p.person_id: age_on(p.date_of_birth, today) for p in people},
        "practices": organisation_names(store),
    }
