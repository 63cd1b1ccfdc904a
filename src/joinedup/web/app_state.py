"""The app's settings and stores as one request sees them (made once per app).

Below `web.security` and `web.dependencies`, which both need the care store's sessions.
"""

from __future__ import annotations

from fastapi import Request
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
    factory: sessionmaker[Session] | None = getattr(request.app.state, "care_sessions", None)
    if factory is None:
        factory = session_factory(make_engine(get_settings(request).database_url))
        request.app.state.care_sessions = factory
    return factory
