"""Browser tests: the real app under uvicorn on a free localhost port, driven in Debian's
Chromium by Playwright. Playwright's own browser downloads are never used.

Screenshots go to test-artifacts/screenshots/ (gitignored) when ``JOINEDUP_SCREENSHOTS=1``: take
and look at them after a change to the pages or to the vendored NHS.UK frontend.

Every page needs a signed-in user, so the tests sign in through the real form: `browser` is a
`SigningInBrowser`, whose contexts on a `LiveServer` start signed in as the demo GP (who works
in a neighbourhood of the small area); `page_as("manager")` gives a page signed in as another
role, and ``browser.new_context(..., signed_in_as=None)`` one that is signed out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from joinedup.settings import Settings
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    LiveServer,
    PageProblems,
    SigningInBrowser,
    capture,
)


@pytest.fixture(scope="session")
def live_server(small_area: Settings) -> Iterator[str]:
    with LiveServer(small_area) as server:
        yield server.url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Debian's Chromium is missing at {CHROMIUM}: the browser tests drive it. Install it "
            "with `apt-get update && apt-get install -y chromium` (as root), or run `make test`, "
            "which installs it when missing."
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield SigningInBrowser(browser)  # type: ignore[misc]
    browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A desktop-sized page on the live server, signed in as the demo GP."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_as(browser: Browser, live_server: str) -> Iterator[Callable[[str | None], Page]]:
    """`page_as("manager")`: a desktop-sized page on the live server signed in as that role's
    demo user (`page_as(None)`: signed out)."""
    contexts: list[BrowserContext] = []

    def open_page(role: str | None) -> Page:
        context = browser.new_context(  # type: ignore[call-arg]
            viewport=DESKTOP, base_url=live_server, signed_in_as=role
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def problems(page: Page) -> PageProblems:
    """What went wrong in `page` (console errors, script errors, failed requests)."""
    return PageProblems(page)


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as test-artifacts/screenshots/NAME.png (when wanted)."""

    def take(page: Page, name: str) -> Path:
        return capture(page, name, full_page=True)

    return take
