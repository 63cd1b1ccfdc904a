"""The app's settings and stores as one request sees them (made once per app).

Below `web.security` and `web.dependencies`, which both need the care store's sessions.

Each has two forms: a plain function for code that has the request (`get_sessions(request)`),
and an async twin that routes depend on (`settings_dependency`, …). FastAPI hands a plain
function dependency to a worker thread; under load, each hand-over waits for Python's lock
behind other requests' work, which costs far more than these attribute reads. The async twin
runs on the event loop with no hand-over.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_population_store(request: Request) -> PopulationStore:
    return PopulationStore(get_settings(request).population_dir)


def get_sessions(request: Request) -> sessionmaker[Session]:
    """The care store's session factory, made once per app from the settings' database URL."""
    return app_sessions(request.app)


def app_sessions(app: FastAPI) -> sessionmaker[Session]:
    """`get_sessions` for code that has the app rather than a request (the audit sealer)."""
    factory: sessionmaker[Session] | None = getattr(app.state, "care_sessions", None)
    if factory is None:
        settings: Settings = app.state.settings
        factory = session_factory(make_engine(settings.database_url))
        app.state.care_sessions = factory
    return factory


async def settings_dependency(request: Request) -> Settings:
    return get_settings(request)


async def population_store_dependency(request: Request) -> PopulationStore:
    return get_population_store(request)


async def sessions_dependency(request: Request) -> sessionmaker[Session]:
    return get_sessions(request)
