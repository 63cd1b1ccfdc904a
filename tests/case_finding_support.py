"""Helpers for the case-finding page tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.models import User, UserOrganisation
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import migrated


def area_gp_client(area: Settings, url: str) -> TestClient:
    """The web app for `area`'s home with the care store at `url` (migrated here), signed in
    as a GP working across the whole commissioning area."""
    migrated(url)
    store = PopulationStore(area.population_dir)
    sessions = session_factory(make_engine(url))
    sync_organisations(store, sessions)
    orgs = pd.read_parquet(store.path("organisations"))
    root = orgs.org_code[orgs.org_type == "commissioning_area"].item()
    with sessions() as session, session.begin():
        user = User(
            username="area-gp",
            display_name="Area GP",
            role="gp",
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=root))
        user_id = user.id
    app = create_app(Settings(home=area.home, database_url=url))
    sign_in_as(app, principal("gp", user_id=user_id, username="area-gp"))
    return TestClient(app)
