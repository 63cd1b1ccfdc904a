"""Every page of Population and Commissioning links to the area's other pages (issue 13:
sub-navigation within Population and Commissioning), as the commissioner who may open them all."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.navigation import area_titled
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated


@pytest.fixture(scope="module")
def client(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    database = tmp_path_factory.mktemp("subnav") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    migrated(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    sync_organisations(PopulationStore(settings.population_dir), sessions)
    return TestClient(signed_in_app(settings, "commissioner"))


@pytest.mark.parametrize("area", ["Population", "Commissioning"])
def test_each_page_of_an_area_links_to_its_other_pages(client: TestClient, area: str) -> None:
    pages = [child.href for child in area_titled(area).children]
    missing = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        linked = set(re.findall(r'href="([^"#?]+)"', response.text))
        if lacking := [p for p in pages if p != path and p not in linked]:
            missing[path] = lacking
    assert missing == {}
