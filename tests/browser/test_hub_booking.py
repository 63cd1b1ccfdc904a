"""Booking a hub appointment in headless Chromium as the demo receptionist (issue 17, "Done
when"): find a patient of the federation by NHS number, book the first free slot, move it to
another (rebook), cancel it. Everything through the pages and forms. Screenshots:
test-artifacts/screenshots/hub-booking-NN-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.models import User, UserOrganisation
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.access_support import load_small_rota
from tests.browser.support import DESKTOP, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def hub_server(small_area: Settings, live_server: str) -> Iterator[tuple[str, str]]:
    """The session's live server with the small rota loaded (through the rota service) at a hub
    of the demo receptionist's neighbourhood, and the NHS number of a patient registered there.
    The test leaves the booking cancelled, so the slots are free again for any later test."""
    engine = make_engine(small_area.database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        neighbourhood = session.scalar(
            select(UserOrganisation.org_code)
            .join(User, User.id == UserOrganisation.user_id)
            .where(User.role == "receptionist")
        )
    assert neighbourhood is not None
    load_small_rota(sessions, pcn=neighbourhood)
    store = PopulationStore(small_area.population_dir)
    person = next(
        p
        for pid in range(1, 5_000)
        if (p := find_person(store, pid))
        and p.neighbourhood_code == neighbourhood
        and p.date_of_death is None
    )
    yield live_server, person.nhs_number
    engine.dispose()


def test_a_receptionist_books_rebooks_and_cancels(
    browser: Browser, hub_server: tuple[str, str], screenshot: Screenshot
) -> None:
    url, nhs_number = hub_server
    context = browser.new_context(  # type: ignore[call-arg]
        viewport=DESKTOP, base_url=url, signed_in_as="receptionist"
    )
    page = context.new_page()
    problems = PageProblems(page)
    try:
        # 1. The Access area; find the patient by NHS number (the light identity only).
        page.goto("/access")
        expect(page.locator("h1")).to_have_text("Extended access")
        # Each hub's network by its name, as the receptionist knows it, not its code.
        network = page.locator("#hubs tbody tr").first.locator("td").nth(2)
        expect(network).not_to_have_text(re.compile(r"^[A-Z0-9]+$"))
        screenshot(page, "hub-booking-01-access")
        page.get_by_role("link", name="Find a patient to book for").click()
        page.get_by_label("NHS number").fill(nhs_number)
        page.get_by_role("button", name="Search").click()
        rows = page.locator("#patients tbody tr")
        expect(rows).to_have_count(1)
        screenshot(page, "hub-booking-02-found")
        rows.first.get_by_role("link").click()
        expect(page.locator("#patient-identity")).to_contain_text("NHS number")
        expect(page.locator("#no-appointments")).to_be_visible()

        # 2. Book the first free slot.
        first = page.locator("#free-slots tbody tr").first
        when = first.locator("td").first.inner_text()
        first.get_by_role("button", name="Book").click()
        expect(page.locator("#booking-notice")).to_contain_text("Booked")
        expect(page.locator("#appointments tbody tr")).to_have_count(1)
        expect(page.locator("#appointments tbody tr").first).to_contain_text(when)
        screenshot(page, "hub-booking-03-booked")

        # 3. Rebook: move it to the last free slot offered.
        last = page.locator("#free-slots tbody tr").last
        new_when = last.locator("td").first.inner_text()
        last.get_by_role("button", name="Move here").click()
        expect(page.locator("#booking-notice")).to_contain_text("Moved to")
        expect(page.locator("#appointments tbody tr")).to_have_count(1)
        expect(page.locator("#appointments tbody tr").first).to_contain_text(new_when)
        screenshot(page, "hub-booking-04-rebooked")

        # 4. Cancel it.
        page.locator("#appointments").get_by_role("button", name="Cancel").click()
        expect(page.locator("#booking-notice")).to_contain_text("Cancelled")
        expect(page.locator("#no-appointments")).to_be_visible()
        screenshot(page, "hub-booking-05-cancelled")
        assert problems.errors == []
    finally:
        context.close()
