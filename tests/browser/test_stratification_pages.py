"""Segments and cost, and the risk model card, in headless Chromium.

The session's small area is copied so the run and the model made here stay out of its home
(other tests count the runs and models there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.governance.suppression import suppress_count
from joinedup.settings import Settings
from tests.browser.support import DESKTOP, LiveServer, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def analysed(
    scored_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, StratificationRun]:
    """The session's scored area (a run and a trained model) with a care store of its own."""
    database = tmp_path_factory.mktemp("stratified") / "care.db"
    settings = Settings(home=scored_area.home, database_url=f"sqlite:///{database}")
    run = latest_run(settings)
    assert run is not None
    return settings, run


@pytest.fixture(scope="module")
def server(analysed: tuple[Settings, StratificationRun]) -> Iterator[str]:
    with LiveServer(analysed[0]) as live:
        yield live.url


@pytest.fixture
def analysed_page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=server)
    yield context.new_page()
    context.close()


def test_segments_and_model_card_from_the_population_pages(
    analysed_page: Page,
    analysed: tuple[Settings, StratificationRun],
    screenshot: Screenshot,
) -> None:
    page = analysed_page
    problems = PageProblems(page)
    run = analysed[1]
    summary = run.segment_summary().to_pylist()
    frail = next(r for r in summary if r["segment"] == "intensive_support")

    page.goto("/population/segments")
    expect(page.locator("h1")).to_have_text("Segments and cost")
    expect(page.locator("header [aria-current]")).to_have_text("Population")
    expect(page.locator('[data-run="run_id"]')).to_have_text(run.run_id)
    expect(page.locator("[data-scheme]")).to_have_count(2)
    expect(page.locator("svg.joinedup-chart--paired")).to_have_count(2)
    row = page.locator('#segments-frailty_four_group [data-segment="intensive_support"]')
    expect(row.locator('[data-figure="people"]')).to_have_text(
        f"{suppress_count(frail['people']):,}"
    )
    expect(page.locator("#area-pareto [data-top]")).to_have_count(4)
    screenshot(page, "population-segments")

    page.locator("#population-pages").get_by_role("link", name="Risk model card").click()
    expect(page.locator("h1")).to_have_text("Risk model card")
    expect(page.locator("header [aria-current]")).to_have_text("Population")
    expect(page.locator("#calibration-table [data-decile]")).to_have_count(10)
    expect(page.locator("#chart-calibration")).to_be_visible()
    screenshot(page, "population-model-card")

    page.locator("#population-pages").get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))
    assert problems.errors == []
