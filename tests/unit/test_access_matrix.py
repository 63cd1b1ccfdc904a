"""Every route × every role against the allow/deny matrix, written by hand.

The matrix (`tests/access/`, one fragment per domain) is the decision; `governance/roles.yaml`
and the routes' `require(...)` are the implementation. A route missing from the matrix, or a
role allowed or refused where the matrix says otherwise, fails here. Two checks:

1. statically: each route's declared permissions, applied to each role, give the matrix;
2. by walking: each route is requested as each role through the app, and is refused with 403
   exactly where the matrix says so (401 or the sign-in redirect when signed out).
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from collections.abc import Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import BaseRoute, Route

import tests.access
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import Organisation
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import ROLE_IDS, role_book
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.security import Require
from tests.access.core import PUBLIC
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as, sign_out
from tests.carestore_support import migrated


def _fragments() -> list[dict[tuple[str, str], frozenset[str]]]:
    """`ROUTES` of every module in tests/access/ (one per domain)."""
    modules = [
        importlib.import_module(f"tests.access.{info.name}")
        for info in pkgutil.iter_modules(tests.access.__path__)
    ]
    return [module.ROUTES for module in modules if hasattr(module, "ROUTES")]


#: (method, path) → the roles allowed. Everyone else must be refused.
MATRIX: dict[tuple[str, str], frozenset[str]] = {k: v for f in _fragments() for k, v in f.items()}
assert len(MATRIX) == sum(map(len, _fragments())), "a route is decided in two fragments"


def _api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        included = getattr(route, "original_router", None)  # FastAPI's included-router wrapper
        if included is not None:
            yield from _api_routes(included.routes, prefix + route.include_context.prefix)


def _routes(app: FastAPI) -> dict[tuple[str, str], BaseRoute]:
    found: dict[tuple[str, str], BaseRoute] = {}
    for path, route in _api_routes(app.routes):
        for method in route.methods - {"HEAD"}:
            found[(method, path)] = route
    found.update(
        {(m, r.path): r for r in app.routes if isinstance(r, Route) for m in r.methods or ()}
    )
    return {k: v for k, v in found.items() if k[0] != "HEAD"}


def _requirements(route: BaseRoute) -> list[Require]:
    if not isinstance(route, APIRoute):
        return []
    return [d.call for d in route.dependant.dependencies if isinstance(d.call, Require)] + [
        d.call
        for sub in route.dependant.dependencies
        for d in sub.dependencies
        if isinstance(d.call, Require)
    ]


@pytest.fixture(scope="module")
def app(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("access-matrix")
    url = f"sqlite:///{folder / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    return create_app(Settings(home=small_area.home, database_url=url))


def test_every_route_is_in_the_matrix_or_public(app: FastAPI) -> None:
    routes = set(_routes(app))
    assert sorted(routes - set(MATRIX) - PUBLIC) == [], "routes with no access decision"
    assert sorted(set(MATRIX) - routes) == [], "the matrix names routes that do not exist"


def test_public_routes_require_nothing_and_the_rest_one_requirement(app: FastAPI) -> None:
    for key, route in _routes(app).items():
        requirements = _requirements(route)
        if key in PUBLIC:
            assert requirements == [], f"{key} is public but requires {requirements}"
        else:
            assert len(requirements) >= 1, f"{key} has no require(...)"


@pytest.mark.parametrize("role", ROLE_IDS)
def test_declared_permissions_give_the_matrix(app: FastAPI, role: str) -> None:
    held = role_book().role(role).permissions
    for key, route in _routes(app).items():
        if key in PUBLIC:
            continue
        allowed = all(any(p in held for p in r.permissions) for r in _requirements(route))
        assert allowed == (role in MATRIX[key]), f"{role} on {key}"


def _sample_path(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture(scope="module")
def sample_values(small_area: Settings) -> dict[str, str]:
    store = PopulationStore(small_area.population_dir)
    person = next(
        pid for pid in range(1, 200) if (p := find_person(store, pid)) and p.practice_code
    )
    return {
        "table": "patients",
        "list_id": "raised-bp-no-hypertension",
        "person_id": str(person),
        "grant_id": "1",
        "indicator": "smoking",  # published data is not loaded here: the "not loaded" page
        "practice_code": "A81001",
        # Care and commissioning records that do not exist in this store: the routes answer 404
        # to those allowed, and refuse (403) before any lookup for everyone else.
        "entry_id": "1",
        "meeting_id": "1",
        "action_id": "1",
        "area_code": "SYNN01",
        "element_id": "A1",
        "appointment_id": "1",
        "ward_id": "1",
        "alert_id": "1",
        "onward_id": "1",
        "service_id": "00000000-0000-4000-8000-000000000001",
        "code": "SYNN01",  # the neighbourhood caseload pages: 404 where allowed
        "member_id": "1",
        "hub_code": "HUB01",
        "username": "nobody-here",  # user accounts: 404 where allowed
    }


@pytest.fixture(scope="module")
def users(app: FastAPI, sample_values: dict[str, str], small_area: Settings) -> dict[str, int]:
    """One user per role working in the whole federation and in the sample person's own
    practice, so relationships (and care-plan sharing, which needs the own practice or the
    person's consent) never refuse."""
    person = find_person(
        PopulationStore(small_area.population_dir), int(sample_values["person_id"])
    )
    assert person is not None and person.practice_code is not None
    sessions = session_factory(make_engine(app.state.settings.database_url))
    ids = {}
    with sessions() as session, session.begin():
        federation = session.scalars(
            select(Organisation.org_code).where(Organisation.org_type == "federation")
        ).first()
        assert federation is not None
        for role in ROLE_IDS:
            user = User(
                username=f"matrix-{role}",
                display_name=f"Matrix {role}",
                role=role,
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(user)
            session.flush()
            session.add(UserOrganisation(user_id=user.id, org_code=federation))
            session.add(UserOrganisation(user_id=user.id, org_code=person.practice_code))
            ids[role] = user.id
    return ids


@pytest.mark.parametrize("role", ROLE_IDS)
def test_walking_every_route_as_each_role_matches_the_matrix(
    app: FastAPI, role: str, sample_values: dict[str, str], users: dict[str, int]
) -> None:
    sign_in_as(app, principal(role, user_id=users[role], username=f"matrix-{role}"))
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    try:
        mismatches = []
        for (method, path), allowed_roles in sorted(MATRIX.items()):
            url = _sample_path(path, sample_values)
            response = client.request(method, url, headers={"X-CSRF-Token": CSRF_TOKEN}, data={})
            refused = response.status_code == 403
            if refused == (role in allowed_roles) or response.status_code >= 500:
                mismatches.append((method, url, response.status_code))
        assert mismatches == [], f"{role}: refused where allowed, allowed where refused, or 5xx"
    finally:
        sign_out(app)


def test_signed_out_visitors_are_sent_to_sign_in(
    app: FastAPI, sample_values: dict[str, str]
) -> None:
    client = TestClient(app, follow_redirects=False)
    for (method, path), _ in sorted(MATRIX.items()):
        response = client.request(method, _sample_path(path, sample_values))
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/sign-in?next="), path
