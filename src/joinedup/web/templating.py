"""The Jinja2 environment the pages render with: layout globals, filters and static URLs."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from joinedup import __version__
from joinedup.care.banner import BannerFacts, PatientBanner, patient_banner
from joinedup.care.worklist import new_action_count
from joinedup.web import formatting
from joinedup.web.app_state import get_sessions
from joinedup.web.charts import bar_chart
from joinedup.web.date_input import date_parts, typed_date
from joinedup.web.navigation import current_area, visible_areas

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


#: Left on ``request.state`` by a page: what the patient banner would otherwise read again.
BANNER_FACTS = "banner_facts"


def banner_already_read(request: Request, person_id: int, facts: BannerFacts) -> None:
    """The banner's facts about `person_id` as the page read them in this request: the banner
    shows these rather than asking the care store again (issue 14)."""
    setattr(request.state, BANNER_FACTS, (person_id, facts))


#: How many route paths an app remembers (`_page_context`'s `url_path`).
URL_PATHS_KEPT = 4096


def _page_context(request: Request) -> dict[str, Any]:
    # ``request.url_for(name, **params).path``, remembered by the app: Starlette finds a route by
    # trying every route in turn (about 0.2 ms, a dozen times a page for the header, footer and
    # links), and the answer never changes for an app and its root path.
    app_state = request.app.state
    known: dict[Hashable, str] | None = getattr(app_state, "url_paths", None)
    if known is None:
        known = app_state.url_paths = {}
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))

    def url_path(name: str, params: dict[str, Any]) -> str:
        try:
            key: Hashable = (root, name, tuple(sorted(params.items())))
            found = known.get(key)
        except TypeError:  # a parameter that cannot be a key: ask Starlette each time
            return request.url_for(name, **params).path
        if found is None:
            found = request.url_for(name, **params).path
            if len(known) >= URL_PATHS_KEPT:
                known.clear()
            known[key] = found
        return found

    def static_url(path: str) -> str:
        """Path of a static file, under the app's mount point (works behind a path prefix)."""
        return url_path("static", {"path": path})

    def page_url(name: str, /, **params: Any) -> str:
        return url_path(name, params)

    def banner() -> PatientBanner | None:
        """The patient banner of the person the gate opened (None on other pages)."""
        opened = getattr(request.state, "opened_person", None)  # person_gate.OPENED
        if opened is None:
            return None
        if not hasattr(request.state, "patient_banner"):
            about, facts = getattr(request.state, BANNER_FACTS, (None, None))
            request.state.patient_banner = patient_banner(
                opened.sessions,
                opened.person,
                opened.user.user_id,
                date.today(),
                facts if about == opened.person.person_id else None,  # never another's
            )
        return request.state.patient_banner  # type: ignore[no-any-return]

    def new_actions() -> int:
        """Open actions others assigned to the signed-in user lately (the header's count)."""
        if principal is None or not principal.can("record.view"):
            return 0
        try:
            return new_action_count(get_sessions(request), principal.user_id, date.today())
        except (AttributeError, SQLAlchemyError):
            return 0  # a care store not set up yet: the page itself says so

    principal = getattr(request.state, "principal", None)
    # Signed out, the header shows no areas; signed in, only those the role may open.
    areas = visible_areas(principal.can, request.app.state.areas) if principal else []
    return {
        "areas": areas,
        "current_area": current_area(request.url.path, areas),
        # The logo's link: the first area the user may open (where sign-in lands them).
        "home_url": areas[0].href if areas else page_url("overview"),
        "static_url": static_url,
        "page_url": page_url,
        "patient_banner": banner,
        "new_actions": new_actions,
        "version": __version__,
        # The signed-in user (or None), for the header only: pages decide what to show from
        # the permission booleans their route passes, never from the role.
        "principal": principal,
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = formatting.number
    env.filters["decimal"] = formatting.decimal
    env.filters["signed_percent"] = formatting.signed_percent
    env.filters["nhs_date"] = formatting.nhs_date
    env.filters["month_year"] = formatting.month_year
    env.filters["uk_time"] = formatting.uk_time
    env.filters["uk_datetime"] = formatting.uk_datetime
    env.globals["percent"] = formatting.percent
    env.globals["date_parts"] = date_parts
    env.globals["typed_date"] = typed_date
    env.globals["timedelta"] = timedelta
    env.globals["bar_chart"] = bar_chart
    return env


templates = Jinja2Templates(env=_environment(), context_processors=[_page_context])
