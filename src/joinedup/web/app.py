"""The web app: FastAPI serving the HTML pages, the JSON API and the vendored static assets.

    from joinedup.settings import Settings
    from joinedup.web.app import create_app
    app = create_app(Settings.from_env())

Everything the pages need is served by the app itself (/static), so they render with no
internet, and no page has inline script or style, so a strict Content-Security-Policy applies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from anyio.to_thread import current_default_thread_limiter
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from joinedup import __version__
from joinedup.errors import UserError
from joinedup.population.overview import NeighbourhoodNotFound
from joinedup.population.store import StoreError
from joinedup.settings import Settings
from joinedup.web import (
    access_pages,
    api,
    asset_map,
    auth,
    care_plans,
    case_finding,
    consent,
    contracts,
    delivery,
    directory,
    fhir,
    fhir_booking,
    fhir_ward,
    governance_pages,
    inequalities,
    mdt,
    pages,
    people,
    person_search,
    register,
    scores,
    social_prescribing,
    stratification,
    user_accounts,
    variation,
    ward,
    workforce,
)
from joinedup.web import caseload as caseload_pages
from joinedup.web import caseload_team as caseload_team_pages
from joinedup.web.audit_sealer import sealing
from joinedup.web.health import default_health_checks
from joinedup.web.navigation import built_areas, route_paths
from joinedup.web.person_gate import IDENTIFIABLE, GateAnswer
from joinedup.web.security import PasswordChangeRequired, SignInRequired, is_api_request
from joinedup.web.templating import STATIC_DIR, templates
from joinedup.web.warm import BackgroundWarm, warm_caches

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

STATIC_PREFIX = "/static"

DESCRIPTION = (
    "joinedup's JSON API: the population overview and the population-store data dictionary. "
    "All figures come from the same service functions as the web pages."
)


#: When the app reads what the busiest pages read first (`joinedup.web.warm`): never (tests,
#: embedded apps), before it serves (each of several workers: /health answers only when warm),
#: or in the background once serving (one process, the demo's: it answers at once).
Warm = Literal["no", "before", "background"]


def create_app(settings: Settings, *, warm: Warm = "no") -> FastAPI:
    """The joinedup web app for the stores that `settings` names, warmed as `warm` says."""
    app = FastAPI(
        title="joinedup",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # /api/docs is our own offline page (see web/api_reference.py)
        redoc_url=None,
        lifespan=_lifespan,
        openapi_tags=[
            {"name": "population", "description": "The registered population."},
            {"name": "data dictionary", "description": "The population-store table contracts."},
            {"name": "service", "description": "The service itself."},
            {
                "name": "Open Referral UK",
                "description": "The community-services directory, public, in Open Referral UK v3.",
            },
        ],
    )
    app.state.settings = settings
    app.state.warm = warm
    # Named checks behind /health; each store adds its own (see web/health.py).
    app.state.health_checks = default_health_checks()
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(api.service_router)
    app.include_router(case_finding.router)
    app.include_router(stratification.router)
    app.include_router(scores.router)
    app.include_router(person_search.router)  # before /people/{person_id}
    app.include_router(people.router)
    app.include_router(consent.router)
    app.include_router(governance_pages.router)
    app.include_router(user_accounts.router)
    for domain in (register, care_plans, mdt, delivery, variation, workforce, fhir, fhir_booking):
        app.include_router(domain.router)
    app.include_router(fhir_ward.router)
    app.include_router(ward.router)
    app.include_router(social_prescribing.router)
    app.include_router(caseload_pages.router)
    app.include_router(access_pages.router)
    app.include_router(caseload_team_pages.router)
    app.include_router(inequalities.router)
    app.include_router(contracts.router)
    app.include_router(directory.router)  # public: Open Referral UK needs no sign-in
    app.include_router(asset_map.router)
    app.include_router(auth.router)
    app.include_router(pages.router)
    _add_error_handlers(app)
    auth.install(app)  # who is signed in: sets request.state.principal for every request
    # The header links only the areas that have pages.
    app.state.areas = built_areas(route_paths(app.routes))
    return app


def create_app_from_env() -> FastAPI:
    """The app for the environment's settings: what each `joinedup serve --workers` process
    builds (uvicorn imports it by name in every worker), warmed before it serves."""
    return create_app(Settings.from_env(), warm="before")


#: Requests a serving process works on at once, unless JOINEDUP_REQUEST_THREADS says otherwise.
DEFAULT_REQUEST_THREADS = 1
MAX_REQUEST_THREADS = 64


class RequestThreadsSettingError(UserError):
    """JOINEDUP_REQUEST_THREADS is not a whole number in range."""


def request_threads(settings: Settings) -> int:
    """How many requests one serving process works on at once (its worker threads).

    One by default, not AnyIO's 40 (ADR 0041): a process runs Python on one core at a time,
    so requests interleaved in threads finish no sooner than one after another, each only
    later, and each time one comes back from the care store it waits for Python's lock behind
    the others' work. One at a time, first come first served, as a classic synchronous worker
    does; concurrency comes from worker processes (`joinedup serve --workers N`).
    """
    text = settings.request_threads
    if text is None:
        return DEFAULT_REQUEST_THREADS
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if not 1 <= threads <= MAX_REQUEST_THREADS:
        raise RequestThreadsSettingError(
            f"JOINEDUP_REQUEST_THREADS is a whole number from 1 to {MAX_REQUEST_THREADS}, "
            f"not {text!r}"
        )
    return threads


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the caches (when asked) before taking connections, then seal audit events into
    the hash chain while serving (ADR 0028)."""
    if app.state.warm != "no":  # a serving process (tests keep AnyIO's default)
        current_default_thread_limiter().total_tokens = request_threads(app.state.settings)
    if app.state.warm == "before":
        warm_caches(app.state.settings)
    background = BackgroundWarm(app.state.settings) if app.state.warm == "background" else None
    if background is not None:
        background.start()
    try:
        async with sealing(app):
            yield
    finally:
        if background is not None:
            await run_in_threadpool(background.stop)


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and related headers to every response, and
    ``Cache-Control: no-store`` to every response but the static assets (ADR 0007).

    No-store for everything rather than only for what looks identifiable: pages, HTMX fragments,
    JSON, FHIR, downloads and even error and redirect answers of a signed-in user may hold a
    person's data, and one rule cannot miss a new route. Only /static (the same bytes for
    everyone) may be cached; the person gate's flag (`IDENTIFIABLE`) is thereby always honoured.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Decided before routing: a mount (/static) rewrites the scope's root_path in place.
        cacheable = _is_static(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if scope.get("state", {}).get(IDENTIFIABLE) or not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_static(scope: Scope) -> bool:
    """Whether the request is for a vendored static asset (the only cacheable answers)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith(STATIC_PREFIX + "/")


def _error_page(request: Request, status_code: int, heading: str, message: str = "") -> Response:
    if is_api_request(request):
        return JSONResponse({"detail": message or heading}, status_code=status_code)
    return templates.TemplateResponse(
        request,
        "errors/error.html",
        {"status_code": status_code, "heading": heading, "message": message},
        status_code=status_code,
    )


HEADINGS = {
    400: "There is a problem with the web address",
    403: "You cannot open this page",
    404: "Page not found",
    405: "This page cannot do that",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is busy or restarting",
}

#: The care store could not be reached or answered "try later" (a restart, a dropped
#: connection, SQLite's write lock held too long): a retry page, not a server error.
STORE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def _add_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if fhir_booking.is_fhir_request(request):
            return fhir_booking.http_error_outcome(exc.status_code, str(exc.detail), exc.headers)
        if is_api_request(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        heading = HEADINGS.get(exc.status_code, "Sorry, there is a problem")
        detail = exc.detail if isinstance(exc.detail, str) else ""
        # Starlette's own 404 says only "Not Found": the page already says that in words.
        message = "" if detail in ("Not Found", "Method Not Allowed") else detail
        return _error_page(request, exc.status_code, heading, message)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if fhir_booking.is_fhir_request(request):
            return fhir_booking.http_error_outcome(400, "Check the request's parameters.", None)
        if is_api_request(request):
            return await request_validation_exception_handler(request, exc)
        return _error_page(request, 400, HEADINGS[400], "Check the web address and try again.")

    async def no_store(request: Request, exc: Exception) -> Response:
        message = "There is no population data yet: run `joinedup generate` to create an area."
        if is_api_request(request):
            return JSONResponse({"detail": message}, status_code=503)
        return templates.TemplateResponse(
            request, "population/no_store.html", {"reason": str(exc)}, status_code=503
        )

    async def no_neighbourhood(request: Request, exc: Exception) -> Response:
        return _error_page(
            request,
            404,
            "Neighbourhood not found",
            "This area has no neighbourhood with that code.",
        )

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(exc.next_url, status_code=303)

    async def password_change_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PasswordChangeRequired)
        return RedirectResponse(exc.change_url, status_code=303)

    async def gate_answer(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GateAnswer)
        return exc.response

    async def store_unavailable(request: Request, exc: Exception) -> Response:
        # Any transaction in flight was rolled back by the database: nothing half-done, but
        # whether a save that was committing got through is unknown, so the page says to check.
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        # The page must not touch the store again: no patient banner (it reads the care store).
        request.state.opened_person = None
        if fhir_booking.is_fhir_request(request):
            return fhir_booking.http_error_outcome(503, HEADINGS[503], headers)
        response = _error_page(request, 503, HEADINGS[503], "Try again in a few seconds.")
        response.headers.update(headers)
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, STORE_UNAVAILABLE):  # raised outside the routes (a middleware)
            return await store_unavailable(request, exc)
        if fhir_booking.is_fhir_request(request):
            return fhir_booking.http_error_outcome(500, HEADINGS[500], None)
        return _error_page(request, 500, HEADINGS[500])

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StoreError, no_store)
    app.add_exception_handler(NeighbourhoodNotFound, no_neighbourhood)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(PasswordChangeRequired, password_change_required)
    app.add_exception_handler(GateAnswer, gate_answer)
    for unavailable in STORE_UNAVAILABLE:
        app.add_exception_handler(unavailable, store_unavailable)
    app.add_exception_handler(Exception, server_error)
