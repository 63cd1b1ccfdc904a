"""Core pages fit a 375 px phone without sideways scrolling, and long unbroken text wraps
(issue 13: a 3,990-character word made a page 52,000 px wide).

Measured in Chromium: the document's scrollWidth must not exceed the viewport's width. Wide
tables scroll inside themselves on phones (joinedup.css), so they do not count. Screenshots:
test-artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.browser.support import PageProblems
from tests.browser.test_person_search_banner import _first_neighbourhood_person

pytestmark = pytest.mark.browser

PHONE_375: ViewportSize = {"width": 375, "height": 740}
LONG_WORD = "x" * 3_990

#: Core pages by role, each as the demo user of that role opens it ({person}: someone they may see).
CORE_PAGES = {
    "gp": ["/people/{person}", "/care-coordination/register", "/care-coordination/mdt"],
    "commissioner": ["/commissioning/delivery"],
}
#: The pages whose phone screenshots are kept (a full-page screenshot costs seconds).
SCREENSHOT = {"/people/{person}", "/commissioning/delivery"}


@pytest.fixture
def phone_as(browser: Browser, live_server: str) -> Iterator[Callable[[str], Page]]:
    contexts: list[BrowserContext] = []

    def open_page(role: str) -> Page:
        context = browser.new_context(  # type: ignore[call-arg]
            viewport=PHONE_375, base_url=live_server, signed_in_as=role
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0 when it fits)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return int(width) - PHONE_375["width"]


def test_core_pages_fit_a_375_px_phone(
    phone_as: Callable[[str], Page],
    small_area: Settings,
    screenshot: Callable[[Page, str], Path],
) -> None:
    person = _first_neighbourhood_person(PopulationStore(small_area.population_dir)).person_id
    too_wide, errors = {}, []
    for role, paths in CORE_PAGES.items():
        page = phone_as(role)
        problems = PageProblems(page)
        for path in paths:
            url = path.format(person=person)
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            if _overflow(page) > 0:
                too_wide[url] = _overflow(page)
            if path in SCREENSHOT:
                name = path.strip("/").replace("/", "-").replace("{person}", "person")
                screenshot(page, f"phone-{role}-{name}")
        errors += problems.errors
    assert too_wide == {}, f"pages wider than {PHONE_375['width']} px (extra px): {too_wide}"
    assert errors == []


def test_a_long_unbroken_word_wraps_in_text_and_tables(phone_as: Callable[[str], Page]) -> None:
    page = phone_as("gp")
    page.goto("/care-coordination/register")
    page.evaluate(
        """word => {
            const main = document.querySelector('main');
            const p = document.createElement('p');
            p.textContent = word;
            const table = document.createElement('table');
            table.className = 'nhsuk-table';
            table.innerHTML = '<tbody><tr><td class="nhsuk-table__cell"></td></tr></tbody>';
            table.querySelector('td').textContent = word;
            main.append(p, table);
        }""",
        LONG_WORD,
    )
    assert _overflow(page) <= 0
