"""A commissioner opens the funnel plot on the real published data and clicks through to a
practice page (issue 7, "done when")."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from joinedup.commissioning.published import PAYMENTS_DIR, STRUCTURES_DIR, load_published
from joinedup.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def published(small_area: Settings, shared_dir: Path) -> Settings:
    """The live server's home with the published practice data loaded into it."""
    data = shared_dir / "data"
    load_published(small_area, [data / PAYMENTS_DIR, data / STRUCTURES_DIR])
    return small_area


def test_commissioner_opens_funnel_and_clicks_through_to_a_practice(
    published: Settings,
    page_as: Callable[[str | None], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = page_as("commissioner")
    page.goto("/commissioning/published")
    expect(page.get_by_role("heading", name="Published practice data")).to_be_visible()
    link = page.get_by_role("link", name=re.compile("Smoking prevalence"))
    with page.expect_navigation(wait_until="load", timeout=90_000):  # ~6,300 points, twice
        link.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Smoking prevalence"))
    plot = page.get_by_test_id("funnel-plot")
    expect(plot).to_be_visible()
    assert plot.locator("circle").count() > 6_000
    expect(page.get_by_role("link", name=re.compile("Download data"))).to_be_visible()

    point = plot.locator("a").last  # drawn last, so on top of every other point
    href = point.get_attribute("href")
    assert href and href.startswith("practices/")
    code = href.rsplit("/", 1)[1]
    point.locator("circle").click()
    page.wait_for_url(f"**/commissioning/published/practices/{code}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_role("rowheader", name="Same primary care network").first).to_be_visible()
    expect(page.get_by_text("Same deprivation quintile").first).to_be_visible()
    screenshot(page, "published-practice")

    # A full-page capture of ~6,300 linked points outlasts the screenshot timeout on a busy
    # 2-core runner, so the funnel screenshot is the PCN roll-up (about 1,270 points).
    page.goto("/commissioning/published/smoking?level=pcn")
    expect(page.get_by_test_id("funnel-plot")).to_be_visible()
    screenshot(page, "published-funnel-smoking-pcn")
