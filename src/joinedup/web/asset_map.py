"""The directory's pages: the asset map, a service, the gaps, and care navigation at first
contact. Thin routes over `joinedup.directory.asset_map` and `joinedup.directory.navigation`.

* ``/directory`` — find services by need (words), taxonomy term and distance from a postcode;
  the results with contact, opening times, eligibility and cost; the map (server-side SVG)
  and the table of what it shows. Any signed-in user (the directory itself is public).
* ``/people/{person_id}/asset-map`` — the same, from the person's home (person gate).
* ``/directory/services/{service_id}`` — one service, with "record signposting" for those who
  may.
* ``/directory/gaps`` — each neighbourhood's needs with no service within a distance.
* ``/directory/navigation`` — the practice's own services, the signposting recorded at the
  user's practices, and the report by practice and need (suppressed counts);
  ``/directory/navigation/record`` — the form to record one signposting.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.directory import asset_map as assets
from joinedup.directory import navigation
from joinedup.governance.relationships import Access
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.population.places import Point, person_home, place_postcode
from joinedup.population.store import StoreError
from joinedup.web import flash
from joinedup.web.asset_map_chart import asset_map_chart
from joinedup.web.dependencies import (
    NavigationRecorder,
    NavigationViewer,
    ServiceUser,
    Sessions,
    Store,
)
from joinedup.web.person_gate import OpenedPerson, person_gate
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MAX_WITHIN_KM = 100.0


def _page(request: Request, name: str, user: Principal, **context: Any) -> Response:
    status = 400 if context.get("error") else 200
    return templates.TemplateResponse(
        request,
        name,
        {"csrf_token": user.csrf_token, "error": None, "notice": "", **context},
        status_code=status,
    )


def _within(text: str) -> tuple[float | None, str]:
    """The distance asked for (km) and an error, from the form's text."""
    if not text.strip():
        return None, ""
    try:
        km = float(text)
    except ValueError:
        return None, f"{text!r} is not a distance in km"
    if not 0 < km <= MAX_WITHIN_KM:
        return None, f"give a distance above 0 and up to {MAX_WITHIN_KM:g} km"
    return km, ""


def _places(store: Store) -> assets.AreaPlaces:
    try:
        return assets.area_places(store)
    except StoreError:  # no population yet: the directory still works, with no practices
        return assets.AreaPlaces((), ())


def _map_page(
    request: Request,
    user: Principal,
    sessions: Sessions,
    store: Store,
    *,
    need: str,
    term_id: str,
    within_km: str,
    origin: Point | None,
    origin_label: str,
    error: str = "",
    **context: Any,
) -> Response:
    km, km_error = _within(within_km)
    error = error or km_error
    query = assets.AssetQuery(need.strip(), term_id, origin, km if origin else None)
    found = assets.find_services(sessions, query, dt.date.today())
    places = _places(store)
    results = [*found.near, *found.remote]
    return _page(
        request,
        "directory/asset_map.html",
        user,
        needs=assets.needs(sessions),
        need=need,
        term_id=term_id,
        within_km=within_km,
        origin=origin,
        origin_label=origin_label,
        found=found,
        chart=asset_map_chart(places, results, origin, origin_label),
        places=places,
        can_signpost=user.can(navigation.RECORD_PERMISSION),
        error=error or None,
        **context,
    )


@router.get("/directory", name="asset_map")
def asset_map_page(
    request: Request,
    user: ServiceUser,
    sessions: Sessions,
    store: Store,
    need: str = "",
    term_id: str = "",
    postcode: str = "",
    within_km: str = "",
) -> Response:
    placed = None
    if postcode.strip():
        try:
            placed = place_postcode(store, postcode)
        except StoreError:
            placed = None
    return _map_page(
        request,
        user,
        sessions,
        store,
        need=need,
        term_id=term_id,
        within_km=within_km,
        origin=placed.point if placed else None,
        origin_label=placed.postcode if placed else "",
        error=(
            f"{postcode.strip()!r} cannot be placed: check it, or search without it"
            if postcode.strip() and placed is None
            else ""
        ),
        postcode=postcode,
        placed_by=placed.basis if placed else None,
    )


@router.get("/people/{person_id}/asset-map", name="person_asset_map")
def person_asset_map_page(
    request: Request,
    opened: Annotated[OpenedPerson[Access], Depends(person_gate("person.asset_map"))],
    sessions: Sessions,
    store: Store,
    need: str = "",
    term_id: str = "",
    within_km: str = "",
) -> Response:
    home, postcode = person_home(store, opened.person_id)
    return _map_page(
        request,
        opened.user,
        sessions,
        store,
        need=need,
        term_id=term_id,
        within_km=within_km,
        origin=home,
        origin_label=f"the person's home ({postcode})" if postcode else "the person's home",
        error="" if home else "this person's home is not placed: the list is not by distance",
        person_id=opened.person_id,
    )


@router.get("/directory/services/{service_id}", name="directory_service")
def service_page(
    request: Request, user: ServiceUser, sessions: Sessions, service_id: str
) -> Response:
    card = assets.get_card(sessions, service_id, dt.date.today())
    if card is None:
        raise HTTPException(404, "There is no such service in the directory.")
    return _page(
        request,
        "directory/service.html",
        user,
        card=card,
        can_signpost=user.can(navigation.RECORD_PERMISSION),
    )


@router.get("/directory/gaps", name="directory_gaps")
def gaps_page(
    request: Request, user: ServiceUser, sessions: Sessions, store: Store, within_km: str = ""
) -> Response:
    km, error = _within(within_km)
    distance = km or assets.DEFAULT_GAP_KM
    try:
        gaps = assets.find_gaps(sessions, store, distance)
    except StoreError:
        gaps = []
    return _page(
        request,
        "directory/gaps.html",
        user,
        gaps=gaps,
        within_km=within_km or f"{distance:g}",
        distance=distance,
        error=error or None,
    )


# --- care navigation ---


@router.get("/directory/navigation", name="care_navigation")
def navigation_page(request: Request, user: NavigationViewer, sessions: Sessions) -> Response:
    practices = navigation.navigator_practices(sessions, user)
    messages = flash.take(request, user)
    return _page(
        request,
        "directory/navigation.html",
        user,
        practice_services=navigation.PRACTICE_SERVICES,
        practices=practices,
        recent=navigation.recent_signposting(sessions, [p.org_code for p in practices]),
        outcomes=navigation.OUTCOMES,
        report=navigation.signposting_report(sessions),
        suppression_note=SUPPRESSION_NOTE,
        can_signpost=user.can(navigation.RECORD_PERMISSION),
        notice=messages["notice"],
        error=messages["error"] or None,
    )


def _form_page(
    request: Request,
    user: Principal,
    sessions: Sessions,
    *,
    service_id: str,
    practice_service: str,
    chosen: dict[str, str] | None = None,
    error: str = "",
) -> Response:
    destination = _destination(sessions, service_id, practice_service)
    if destination is None:
        raise HTTPException(404, "There is no such service to signpost to.")
    return _page(
        request,
        "directory/signpost.html",
        user,
        destination=destination,
        practices=navigation.navigator_practices(sessions, user),
        needs=assets.needs(sessions),
        outcomes=navigation.OUTCOMES,
        chosen=chosen or {"need_term_id": _default_need(sessions, service_id, practice_service)},
        error=error or None,
    )


def _destination(
    sessions: Sessions, service_id: str, practice_service: str
) -> navigation.Destination | None:
    if practice_service:
        found = navigation.PRACTICE_SERVICE_KEYS.get(practice_service)
        return navigation.Destination(found.name, practice_service=found.key) if found else None
    card = assets.get_card(sessions, service_id, dt.date.today()) if service_id else None
    return navigation.Destination(card.name, service_id=card.id) if card else None


def _default_need(sessions: Sessions, service_id: str, practice_service: str) -> str:
    """The term id of the destination's first need, to preselect in the form."""
    named = navigation.PRACTICE_SERVICE_KEYS.get(practice_service)
    card = assets.get_card(sessions, service_id, dt.date.today()) if service_id else None
    wanted = named.need if named else (card.needs[0] if card and card.needs else "")
    return next((n.term_id for n in assets.needs(sessions) if n.name == wanted), "")


@router.get("/directory/navigation/record", name="signposting_form")
def signposting_form(
    request: Request,
    user: NavigationRecorder,
    sessions: Sessions,
    service_id: str = "",
    practice_service: str = "",
) -> Response:
    return _form_page(
        request, user, sessions, service_id=service_id, practice_service=practice_service
    )


@router.post("/directory/navigation/record", name="signposting_record")
def record_signposting(
    request: Request,
    user: NavigationRecorder,
    sessions: Sessions,
    service_id: Annotated[str, Form()] = "",
    practice_service: Annotated[str, Form()] = "",
    practice_code: Annotated[str, Form()] = "",
    need_term_id: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
) -> Response:
    destination = _destination(sessions, service_id, practice_service)
    try:
        navigation.record_signposting(
            sessions,
            user,
            practice_code=practice_code,
            need_term_id=need_term_id,
            destination=destination or navigation.Destination(""),
            outcome=outcome,
        )
    except navigation.SignpostingError as exc:
        chosen = {"practice_code": practice_code, "need_term_id": need_term_id, "outcome": outcome}
        if destination is None:
            raise HTTPException(404, "There is no such service to signpost to.") from None
        return _form_page(
            request,
            user,
            sessions,
            service_id=service_id,
            practice_service=practice_service,
            chosen=chosen,
            error="; ".join(exc.problems).capitalize() + ".",
        )
    name = destination.name if destination else ""
    return flash.redirect_with(
        request,
        user,
        request.url_for("care_navigation").path,
        notice=f"Signposting to {name} recorded.",
    )
