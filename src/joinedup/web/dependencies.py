"""What routes ask FastAPI for: the app's settings and its stores."""

from __future__ import annotations

from fastapi import Request

from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_population_store(request: Request) -> PopulationStore:
    return PopulationStore(get_settings(request).population_dir)


def is_api_request(request: Request) -> bool:
    """Whether the request is for the JSON API (answered with JSON, errors included)."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == "/api" or path.startswith("/api/") or path in ("/health", "/openapi.json")
