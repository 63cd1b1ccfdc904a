"""A neighbourhood's day of home visits in headless Chromium (issue 16, "Done when"): the demo
nurse plans the day from the seeded caseload and rota, sees both options with their figures and
takes one, records an outcome on a phone-sized screen, then a colleague goes off sick and the
rest of the day is replanned, showing what changed and who must be told.

Screenshots: test-artifacts/screenshots/visits-NN-*.png.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.models import User
from joinedup.governance.relationships import user_practices
from joinedup.neighbourhood.caseload_demo import demo_principal, seed_demo_caseloads
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import caseload as caseload_pages
from joinedup.web.formatting import UK_TIME_ZONE
from tests.browser.support import DESKTOP, LiveServer, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
DAY = dt.datetime.now(UK_TIME_ZONE).date()
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def visits_server(
    small_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The small area with a care store of this module's own and the demo nurse's neighbourhood
    seeded with a small team, caseload and rota (12 people, so each solve is quick)."""
    database = tmp_path_factory.mktemp("visits") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    solve_seconds = caseload_pages.SOLVE_SECONDS
    caseload_pages.SOLVE_SECONDS = 1.0  # the server runs in this process: keep solves short
    with LiveServer(settings) as live:
        sessions = session_factory(make_engine(settings.database_url))
        store = PopulationStore(settings.population_dir)
        with sessions() as session:
            nurse = session.scalars(select(User).where(User.username == "demo-nurse")).one()
            practice = sorted(user_practices(session, nurse.id))[0]
        hood = organisations(store)[practice].parent_code
        assert hood is not None
        seeded = seed_demo_caseloads(
            sessions,
            store,
            demo_principal(sessions),
            first_day=DAY,
            people_per_neighbourhood=12,
            only=[hood],
        )
        assert seeded == 1
        yield live.url, hood
    caseload_pages.SOLVE_SECONDS = solve_seconds


def test_a_day_is_planned_worked_and_replanned_when_a_nurse_goes_off_sick(
    browser: Browser, visits_server: tuple[str, str], screenshot: Screenshot
) -> None:
    url, hood = visits_server
    context = browser.new_context(  # type: ignore[call-arg]
        viewport=DESKTOP, base_url=url, signed_in_as="nurse"
    )
    page = context.new_page()
    problems = PageProblems(page)
    try:
        # 1. The caseload and team, from every organisation.
        page.goto(f"/neighbourhood/caseload/{hood}")
        expect(page.locator("#caseload tbody tr")).to_have_count(12)
        expect(page.locator("#team")).to_contain_text("Social worker")
        screenshot(page, "visits-01-caseload")

        # 2. Plan the day: two options with both figures; take least travel.
        # The day is chosen in the NHS date input; "Next day" and "Previous day" step either side.
        page.goto(f"/neighbourhood/caseload/{hood}/visits")
        for part, value in (("day", DAY.day), ("month", DAY.month), ("year", DAY.year)):
            page.locator(f"#day-{part}").fill(str(value))
        page.get_by_role("button", name="Show", exact=True).click()
        expect(page.locator("h1")).to_contain_text(f"{DAY.day} {DAY:%B %Y}")
        page.locator("#next-day").click()
        expect(page.locator("#day-day")).to_have_value(str((DAY + dt.timedelta(days=1)).day))
        page.locator("#previous-day").click()
        expect(page.locator("#day-day")).to_have_value(str(DAY.day))
        expect(page.locator("#no-plan")).to_be_visible()
        page.get_by_role("button", name="Plan the day").click()
        options = page.locator("#options tbody tr")
        expect(options).to_have_count(2)
        expect(page.locator('#options tr[data-key="most_continuity"]')).to_contain_text("of")
        screenshot(page, "visits-02-two-options")
        page.locator("#adopt-least_travel").click()
        expect(page.locator("#current-plan")).to_have_attribute("data-kind", "least_travel")
        expect(page.locator("#route-map polyline").first).to_be_attached()
        screenshot(page, "visits-03-plan-with-map")

        # 3. The first nurse's day on a phone: record the next visit as done.
        page.locator("a", has_text="day on a phone").first.click()
        page.set_viewport_size(PHONE)
        expect(page.locator("#next-visit")).to_be_visible()
        first_visit = page.locator('#outcome-form input[name="visit_id"]').input_value()
        screenshot(page, "visits-04-nurse-phone")
        page.get_by_role("button", name="Record outcome").click()
        expect(page.locator("#notice")).to_contain_text("Recorded: Done")
        expect(page.locator(f'#stops li[data-visit="{first_visit}"]')).to_contain_text("Done")
        screenshot(page, "visits-05-outcome-recorded")

        # 4. Another nurse rings in sick at the start of the day: replan.
        page.set_viewport_size(DESKTOP)
        page.goto(f"/neighbourhood/caseload/{hood}/visits?day={DAY.isoformat()}")
        sick = page.locator("#off-member option").nth(1)
        sick_name, sick_id = sick.inner_text(), sick.get_attribute("value")
        page.locator("#off-member").select_option(sick_id)
        page.get_by_label("Off from (HH:MM)").fill("08:00")
        page.get_by_role("button", name="Replan the day").click()
        expect(page.locator("#current-plan")).to_have_attribute("data-kind", "replan")
        expect(page.locator("#changes")).to_be_visible()
        expect(page.locator("#nurses-to-tell")).not_to_contain_text(sick_name)
        expect(page.locator(f"#route-N{sick_id} tbody")).to_contain_text("No visits.")
        expect(page.locator(f'tr[data-key="{first_visit}"]')).to_contain_text("Done")  # kept
        screenshot(page, "visits-06-replanned")

        # 5. Capacity against demand, with the thresholds cited.
        page.goto(f"/neighbourhood/caseload/{hood}/capacity?day={DAY.isoformat()}")
        expect(page.locator("#per-wte")).to_contain_text("caution above 150")
        screenshot(page, "visits-07-capacity")
        assert problems.errors == []
    finally:
        context.close()
