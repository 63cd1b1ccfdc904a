"""The virtual ward in headless Chromium (issue 15, "Done when"): a nurse opens a ward, admits a
person of her neighbourhood, enters a calm set and then one that scores NEWS2 8, sees the alert
on the board and in the queue, acknowledges and closes it, and discharges the person home.

Everything happens through the pages and forms. Screenshots:
test-artifacts/screenshots/ward-NN-*.png.
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
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.formatting import UK_TIME_ZONE
from tests.browser.support import DESKTOP, LiveServer, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def ward_server(
    small_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The small area with a care store of this module's own, and a person the demo nurse may
    see (registered at one of her neighbourhood's practices)."""
    database = tmp_path_factory.mktemp("ward") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    with LiveServer(settings) as live:
        sessions = session_factory(make_engine(settings.database_url))
        with sessions() as session:
            nurse = session.scalars(select(User).where(User.role == "nurse")).first()
            assert nurse is not None
            practices = user_practices(session, nurse.id)
        store = PopulationStore(settings.population_dir)
        person = next(
            pid
            for pid in range(1, 5_000)
            if (p := find_person(store, pid))
            and p.practice_code in practices
            and p.date_of_death is None
        )
        identity = find_person(store, person)
        assert identity is not None
        yield live.url, format_nhs_number(identity.nhs_number)


def test_a_nurse_admits_escalates_closes_and_discharges(
    browser: Browser, ward_server: tuple[str, str], screenshot: Screenshot
) -> None:
    url, nhs_number = ward_server
    context = browser.new_context(  # type: ignore[call-arg]
        viewport=DESKTOP, base_url=url, signed_in_as="nurse"
    )
    page = context.new_page()
    problems = PageProblems(page)
    try:
        # 1. The Neighbourhood area, and a new ward.
        page.goto("/")
        page.locator("header").get_by_role("link", name="Neighbourhood").click()
        expect(page.locator("h1")).to_have_text("Virtual wards")
        page.get_by_label("Name", exact=True).fill("North virtual ward")
        page.get_by_label("Capacity (beds)").fill("20")
        page.get_by_role("button", name="Open the ward").click()
        expect(page.locator("#ward-name")).to_have_text("North virtual ward")
        screenshot(page, "ward-01-empty-board")

        # 2. Admit the person, with a 6-hourly schedule of SpO2 and pulse.
        # First a slip: the board says what to fix and keeps what was typed.
        page.get_by_label("NHS number").fill("943 476 591")
        page.get_by_role("button", name="Find and admit").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("10 digits")
        expect(page.get_by_label("NHS number")).to_have_value("943 476 591")
        page.get_by_label("NHS number").fill(nhs_number)
        page.get_by_role("button", name="Find and admit").click()
        expect(page.locator("h1")).to_have_text("Admit to a virtual ward")
        page.get_by_label("Reason for admission").fill("Chest infection, antibiotics at home")
        page.get_by_label("SpO2", exact=True).check()
        page.get_by_label("Pulse", exact=True).check()
        screenshot(page, "ward-02-admit-form")
        page.get_by_role("button", name="Admit", exact=True).click()
        expect(page.locator("h1")).to_have_text("Virtual ward observations")

        # 3. A calm set, then one scoring NEWS2 8 (high; RCP 2017 Chart 1).
        _enter_set(page, resp="18", spo2="97", bp="125", pulse="72", temp="36.8")
        expect(page.locator("#readings")).to_contain_text("0 low")
        _enter_set(page, resp="25", spo2="93", bp="125", pulse="115", temp="38.5")
        expect(page.locator("#readings")).to_contain_text("8 high")
        expect(page.locator("#news2-chart circle")).to_have_count(2)
        screenshot(page, "ward-03-chart-after-deterioration")

        # 4. An impossible value is refused with its reason, nothing stored.
        _enter_set(page, resp="18", spo2="130", bp="125", pulse="72", temp="36.8")
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("SpO2 130")
        expect(page.locator("#readings tbody tr")).to_have_count(2)
        screenshot(page, "ward-04-impossible-value-refused")
        # A time typed wrong in the NHS date input and its time box: the manual's message, kept.
        _enter_set(page, resp="18", spo2="97", bp="125", pulse="72", temp="36.8", at="25:00")
        expect(page.locator(".nhsuk-error-summary")).to_contain_text(
            "must be a real time on the 24-hour clock, like 14:30"
        )
        expect(page.locator("#taken-at-time")).to_have_value("25:00")
        expect(page.locator("#readings tbody tr")).to_have_count(2)
        # The refused form comes back as 400 (Bad Request), which Chromium logs; nothing else.
        assert [e for e in problems.errors if "400" not in e] == []
        problems.errors.clear()

        # 5. The board shows the high score, rising, with an open alert.
        page.get_by_role("link", name="Back to the board").click()
        row = page.locator("#board tbody tr").first
        expect(row).to_contain_text("8 high")
        expect(row).to_contain_text("rising")
        screenshot(page, "ward-05-board-with-alert")

        # 6. The queue: acknowledge, then close with an outcome.
        page.get_by_role("link", name="Alert queue").click()
        alert = page.locator(".ward-alert").first
        expect(alert).to_contain_text("NEWS2 8")
        alert.get_by_role("button", name="Acknowledge").click()
        alert = page.locator(".ward-alert").first
        expect(alert.locator(".alert-state")).to_have_text("acknowledged")
        alert.get_by_label("Action taken").select_option("visit")
        alert.get_by_role("button", name="Record the action").click()
        alert = page.locator(".ward-alert").first
        expect(alert.locator(".alert-state")).to_have_text("actioned")
        alert.get_by_label("Outcome").fill("Seen at home; antibiotics changed")
        alert.get_by_label("It changed the person's management").check()
        screenshot(page, "ward-06-alert-actioned")
        alert.get_by_role("button", name="Close the alert").click()
        expect(page.locator("#queue-empty")).to_be_visible()

        # 7. Discharge home.
        page.get_by_role("link", name="Back to the board").click()
        page.locator("#board tbody tr").first.get_by_role("link").click()
        page.get_by_label("Discharged to").select_option("home")
        page.get_by_role("button", name="Discharge", exact=True).click()
        expect(page.locator("#discharged")).to_contain_text("home")
        screenshot(page, "ward-07-discharged")
        assert problems.errors == []
    finally:
        context.close()


def _enter_set(
    page: Page, *, resp: str, spo2: str, bp: str, pulse: str, temp: str, at: str = ""
) -> None:
    """One set of observations; `at`: a time typed for today (blank: taken now)."""
    if at:
        today = dt.datetime.now(UK_TIME_ZONE).date()
        for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
            page.locator(f"#taken-at-{part}").fill(str(value))
        page.get_by_label("Time (UK time)").fill(at)
    page.get_by_label("Respiration rate (/min)").fill(resp)
    page.get_by_label("SpO2 (%)").fill(spo2)
    page.get_by_label("Air or oxygen").select_option("air")
    page.get_by_label("Systolic BP (mmHg)").fill(bp)
    page.get_by_label("Pulse (/min)").fill(pulse)
    page.get_by_label("Consciousness (ACVPU)").select_option("A")
    page.get_by_label("Temperature (°C)").fill(temp)
    page.get_by_role("button", name="Record the set").click()
