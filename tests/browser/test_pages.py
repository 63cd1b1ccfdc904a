"""A person's path through the pages, in headless Chromium, on the session's generated area."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from joinedup.governance.aggregates import aggregate_overview
from joinedup.population.contracts import CONTRACTS
from joinedup.population.overview import PopulationOverview
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.navigation import AREAS
from tests.browser.support import DESKTOP, PHONE, LiveServer, PageProblems, capture

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def area(small_store: PopulationStore) -> PopulationOverview:
    return aggregate_overview(small_store, None, frozenset())


def total(page: Page) -> Locator:
    return page.locator('[data-figure="total"]')


def test_the_overview_shows_the_generated_area(
    page: Page, problems: PageProblems, screenshot: Screenshot, area: PopulationOverview
) -> None:
    page.goto("/")

    expect(page).to_have_title("Population overview – joinedup")
    expect(page.locator("h1")).to_have_text("Population overview")
    expect(page.locator(".nhsuk-caption-l")).to_have_text(area.area_name)
    expect(total(page)).to_have_text(f"{area.total:,}")
    rows = page.locator("#practice-table tbody tr")
    expect(rows).to_have_count(len(area.by_practice))
    for practice in area.by_practice:
        row = page.locator(f'#practice-table tr[data-key="{practice.key}"]')
        expect(row.locator("th")).to_have_text(practice.label)
        expect(row).to_contain_text(f"{practice.count:,}")
    expect(page.locator("svg.joinedup-chart")).to_have_count(3)
    # The NHS.UK frontend's JavaScript and htmx loaded from /static and started.
    expect(page.locator("body")).to_have_class(re.compile(r"\bnhsuk-frontend-supported\b"))
    assert page.evaluate("typeof window.htmx") == "object"
    screenshot(page, "overview")
    capture(page.locator("#age + .nhsuk-grid-row"), "overview-age")
    assert problems.errors == []


def test_the_neighbourhood_filter_swaps_the_figures_in_place(
    page: Page,
    problems: PageProblems,
    screenshot: Screenshot,
    area: PopulationOverview,
    small_store: PopulationStore,
) -> None:
    hood = area.neighbourhoods[-1]
    expected = aggregate_overview(small_store, hood.code, frozenset())
    page.goto("/")
    page.evaluate("window.stillTheSamePage = true")

    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true") as swap:
        page.select_option("#neighbourhood", hood.code)

    assert swap.value.status == 200
    expect(total(page)).to_have_text(f"{expected.total:,}")
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in, not reloaded
    expect(page).to_have_url(re.compile(rf"/\?neighbourhood={re.escape(hood.code)}$"))
    expect(page).to_have_title(f"Population overview: {hood.name} – joinedup")
    expect(page.locator("#overview-status")).to_have_text(
        f"Showing {hood.name}: {expected.total:,} registered people."
    )
    expect(page.locator("#practice-table tbody tr")).to_have_count(len(expected.by_practice))
    expect(page.locator("#neighbourhood")).to_have_value(hood.code)
    # What changes even when the area has a single neighbourhood:
    expect(page.locator(".nhsuk-lede-text")).to_contain_text(f"the practices of {hood.name}")
    expect(page.locator("#practice-table caption")).to_contain_text(f"in {hood.name}")
    expect(page.locator('[data-figure="neighbourhoods"]')).to_have_text(hood.name)
    screenshot(page, "overview-one-neighbourhood")

    page.get_by_role("link", name="Show the whole area").click()

    expect(total(page)).to_have_text(f"{area.total:,}")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".nhsuk-lede-text")).to_contain_text("the area's practices")
    assert page.evaluate("window.stillTheSamePage") is True
    assert problems.errors == []


def test_a_neighbourhood_link_and_the_back_button(
    page: Page, problems: PageProblems, area: PopulationOverview, small_store: PopulationStore
) -> None:
    hood = area.neighbourhoods[0]
    expected = aggregate_overview(small_store, hood.code, frozenset())
    page.goto("/")

    page.locator("#neighbourhood-table").get_by_role("link", name=hood.name).click()

    expect(total(page)).to_have_text(f"{expected.total:,}")
    expect(page.locator("#neighbourhood")).to_have_value(hood.code)
    expect(page.locator(".nhsuk-lede-text")).to_contain_text(f"the practices of {hood.name}")

    page.go_back()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(total(page)).to_have_text(f"{area.total:,}")
    expect(page.locator("#neighbourhood")).to_have_value("")
    expect(page.locator(".nhsuk-lede-text")).to_contain_text("the area's practices")
    assert problems.errors == []


def test_the_filter_works_without_javascript(
    browser: Browser,
    live_server: str,
    screenshot: Screenshot,
    area: PopulationOverview,
    small_store: PopulationStore,
) -> None:
    hood = area.neighbourhoods[0]
    expected = aggregate_overview(small_store, hood.code, frozenset())
    context = browser.new_context(viewport=DESKTOP, base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/")
        page.select_option("#neighbourhood", hood.code)
        page.get_by_role("button", name="Show").click()

        expect(page).to_have_url(re.compile(rf"/\?neighbourhood={re.escape(hood.code)}$"))
        expect(total(page)).to_have_text(f"{expected.total:,}")
        expect(page.locator(".nhsuk-lede-text")).to_contain_text(f"the practices of {hood.name}")
        screenshot(page, "overview-without-javascript")
    finally:
        context.close()


def test_the_data_dictionary(page: Page, problems: PageProblems, screenshot: Screenshot) -> None:
    page.goto("/")

    page.locator("footer").get_by_role("link", name="Data dictionary").click()

    expect(page).to_have_title("Data dictionary – joinedup")
    expect(page.locator("h1")).to_have_text("Data dictionary")
    expect(page.locator("table[data-table]")).to_have_count(len(CONTRACTS))
    screenshot(page, "data-dictionary")

    page.get_by_role("link", name="The patients table on its own page").click()

    expect(page.locator("h1")).to_have_text("patients")
    expect(page.locator("tr[data-column]")).to_have_count(len(CONTRACTS["patients"].columns))
    expect(page.locator('tr[data-column="nhs_number"]')).to_contain_text(
        "valid NHS number check digit"
    )
    screenshot(page, "data-dictionary-patients")
    assert problems.errors == []


def test_on_a_phone_the_header_menu_opens(
    browser: Browser, live_server: str, screenshot: Screenshot, area: PopulationOverview
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server)
    page = context.new_page()
    problems = PageProblems(page)
    try:
        page.goto("/")
        expect(total(page)).to_have_text(f"{area.total:,}")
        screenshot(page, "overview-phone")
        menu = page.locator("#toggle-menu")
        expect(menu).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "false")

        menu.click()

        expect(menu).to_have_attribute("aria-expanded", "true")
        page.locator("header").get_by_role("link", name="Data dictionary").click()
        expect(page.locator("h1")).to_have_text("Data dictionary")
        assert problems.errors == []
    finally:
        context.close()


def test_areas_not_built_are_not_linked_and_unknown_pages(
    page: Page, problems: PageProblems, screenshot: Screenshot, small_area: Settings
) -> None:
    page.goto("/")
    header = page.locator("header")
    expect(header.get_by_role("link", name="Case finding")).to_be_visible()
    built = create_app(small_area).state.areas
    for area in AREAS:
        if area not in built:
            expect(header.get_by_role("link", name=area.title, exact=True)).to_have_count(0)

    response = page.goto("/no/such/page")

    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    screenshot(page, "page-not-found")
    # The only problem is the 404 itself, which the browser reports.
    assert [e for e in problems.errors if "404" not in e] == []


def test_the_api_reference_page(page: Page, problems: PageProblems, screenshot: Screenshot) -> None:
    page.goto("/")
    page.locator("footer").get_by_role("link", name="API reference").click()

    expect(page.locator("h1")).to_have_text("API reference")
    expect(page.locator("#get-api-population-overview")).to_be_visible()
    screenshot(page, "api-reference")
    assert problems.errors == []


def test_without_population_data_the_page_says_what_to_do(
    browser: Browser, tmp_path: Path, screenshot: Screenshot
) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'care.db'}")
    with LiveServer(settings) as server:
        context = browser.new_context(viewport=DESKTOP, base_url=server.url)
        page = context.new_page()
        try:
            response = page.goto("/")

            assert response is not None and response.status == 503
            expect(page.locator("h1")).to_have_text("There is no population data yet")
            expect(page.locator(".nhsuk-code__content")).to_have_text("joinedup generate")
            expect(page.get_by_role("button", name="Copy code")).to_be_visible()
            screenshot(page, "no-population-data")
        finally:
            context.close()
