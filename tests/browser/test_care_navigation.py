"""Care navigation in headless Chromium (issue 19): a care navigator searches the asset map by
need and distance from a practice's postcode, opens the nearest service, records that the
caller was signposted to it, and sees it counted in the report by practice and need.

Seven signposts to the same service and need are recorded beforehand by the service function,
so the eighth (through the pages) takes the count from withheld (1–7) to a shown, rounded 10.
Screenshots: test-artifacts/screenshots/navigation-NN-*.png.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from joinedup.carestore.db import make_engine, session_factory
from joinedup.directory.asset_map import AssetQuery, find_services, needs
from joinedup.directory.navigation import Destination, navigator_practices, record_signposting
from joinedup.directory.synthetic import seed_directory
from joinedup.governance.models import User, UserOrganisation
from joinedup.population.places import practice_locations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.browser.support import DESKTOP, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
WITHIN_KM = "3"


@pytest.fixture(scope="module")
def navigation_server(live_server: str, small_area: Settings) -> tuple[str, str, str]:
    """The session's live server with the small area's directory loaded and seven signposts
    already recorded to the service nearest the navigator's first practice; the URL, that
    practice's postcode and the service's name."""
    sessions = session_factory(make_engine(small_area.database_url))
    seed_directory(sessions, small_area)  # idempotent: a second load changes nothing
    with sessions() as session:
        user = session.scalars(select(User).where(User.role == "care_navigator")).one()
        orgs = tuple(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
            )
        )
    navigator = principal("care_navigator", user_id=user.id, organisations=orgs)
    practice = navigator_practices(sessions, navigator)[0]  # the form's first choice
    place = practice_locations(PopulationStore(small_area.population_dir))[practice.org_code]
    assert place.postcode is not None
    nearest = find_services(sessions, AssetQuery(origin=place.point), dt.date.today()).near[0]
    need = next(n for n in needs(sessions) if n.name == nearest.needs[0])
    for _ in range(7):
        record_signposting(
            sessions,
            navigator,
            practice_code=practice.org_code,
            need_term_id=need.term_id,
            destination=Destination(nearest.name, service_id=nearest.id),
            outcome="signposted",
        )
    return live_server, place.postcode, nearest.name


def test_a_care_navigator_finds_a_service_records_signposting_and_sees_it_counted(
    browser: Browser, navigation_server: tuple[str, str, str], screenshot: Screenshot
) -> None:
    url, postcode, service_name = navigation_server
    context = browser.new_context(  # type: ignore[call-arg]
        viewport=DESKTOP, base_url=url, signed_in_as="care_navigator"
    )
    page = context.new_page()
    problems = PageProblems(page)
    try:
        # 1. The report before: seven signposts to this need are withheld (1–7).
        page.goto("/directory/navigation")
        expect(page.locator("#signposting-report [data-figure='total']")).to_have_text("withheld")
        screenshot(page, "navigation-01-before")

        # 2. The asset map from the header, searched by distance from the practice's postcode.
        page.locator("header").get_by_role("link", name="Directory").click()
        expect(page.locator("h1")).to_have_text("Find a community service")
        page.get_by_label("From postcode (optional)").fill(postcode)
        page.get_by_label("Within (km, optional)").fill(WITHIN_KM)
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#searched-from")).to_contain_text(f"within {WITHIN_KM} km")
        expect(page.locator("#asset-map")).to_be_visible()
        first = page.locator("#results li").first
        expect(first).to_contain_text(service_name)
        screenshot(page, "navigation-02-asset-map")

        # 3. The nearest service, and signposting to it.
        first.get_by_role("link", name=service_name).click()
        expect(page.locator("h1")).to_have_text(service_name)
        expect(page.locator("[data-field='opening']")).not_to_be_empty()
        screenshot(page, "navigation-03-service")
        page.get_by_role("link", name="Record signposting to this service").click()
        expect(page.locator("h1")).to_contain_text(service_name)
        page.get_by_label("Given the service's details to contact it").check()
        screenshot(page, "navigation-04-form")
        page.get_by_role("button", name="Record signposting").click()

        # 4. Counted: eight signposts at the practice for this need show as 10.
        expect(page.locator("#notice")).to_contain_text(f"Signposting to {service_name} recorded")
        expect(page.locator("#recent-signposting tbody tr")).to_have_count(8)
        expect(page.locator("#signposting-report [data-figure='total']")).to_have_text("10")
        screenshot(page, "navigation-05-counted")
        assert problems.errors == []
    finally:
        context.close()
