"""Schemathesis against the OpenAPI document, signed in as each role: no server errors.

Schemathesis generates requests for every operation of /openapi.json (valid and invalid
parameters, odd strings); every answer must be an answer (2xx or 4xx), never a 5xx. Each role
sees the API as it is allowed to (403 where refused); a visitor who is not signed in gets 401.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.roles import ROLE_IDS
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.access.core import PUBLIC
from tests.auth_support import sign_in_as, sign_out
from tests.carestore_support import migrated

PUBLIC_PATHS = {path for _, path in PUBLIC}

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def app(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    url = f"sqlite:///{tmp_path_factory.mktemp('api-fuzz') / 'care.db'}"
    migrated(url)
    sync_organisations(
        PopulationStore(small_area.population_dir), session_factory(make_engine(url))
    )
    return create_app(Settings(home=small_area.home, database_url=url))


@pytest.mark.parametrize("role", [*ROLE_IDS, None], ids=[*ROLE_IDS, "signed-out"])
def test_no_server_errors_for_any_role(app: FastAPI, role: str | None) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4  # the overview, the contracts (two) and health
    if role is not None:
        sign_in_as(app, role)
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call()
                where = f"{case.method} {case.formatted_path} as {role or 'nobody'}"
                assert response.status_code < 500, f"{where}: {response.text}"
                public = case.operation.path in PUBLIC_PATHS
                if role is None and case.formatted_path.startswith("/api/") and not public:
                    assert response.status_code == 401, where

            no_server_error()
    finally:
        sign_out(app)
