"""The delivery-plan tracker in headless Chromium: a commissioner opens the tracker, records a
quarter for an area through the form, and sees the trajectory update (chart and table)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
QUARTER = "2025-26 Q4"  # a closed quarter no other test records


def test_a_commissioner_records_a_quarter_and_sees_the_trajectory_update(
    page_as: Callable[[str | None], Page], screenshot: Screenshot
) -> None:
    page = page_as("commissioner")
    problems = PageProblems(page)

    page.goto("/commissioning")
    page.get_by_role("link", name="Delivery plan").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delivery plan")
    heat_map = page.locator("#heat-map")
    expect(heat_map.locator("tbody tr")).to_have_count(17)
    area_code = heat_map.locator("thead th[data-area]").first.get_attribute("data-area")
    area_name = heat_map.locator("thead th[data-area]").first.inner_text().splitlines()[0]
    assert area_code
    screenshot(page, "delivery-tracker")

    page.get_by_role("link", name="Record a quarter for an area").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a quarter")
    page.get_by_label("Area").select_option(area_code)
    page.get_by_label("Element").select_option("A3")
    page.get_by_label("Quarter").select_option(QUARTER)
    page.get_by_label("Planned % of population covered").fill("50")
    page.get_by_label("Actual % of population covered").fill("38")
    page.get_by_label("Notes (optional)").fill("Weekend hub opened in March")
    screenshot(page, "delivery-record-quarter")
    page.get_by_role("button", name="Record the quarter").click()

    page.wait_for_url(re.compile(rf"/commissioning/delivery/{area_code}/A3\?recorded="))
    expect(page.locator("#recorded")).to_contain_text(f"{QUARTER} has been recorded")
    row = page.locator(f'#trajectory-table tr[data-quarter="{QUARTER}"]')
    expect(row.locator("[data-planned]")).to_have_text("50%")
    expect(row.locator("[data-actual]")).to_have_text("38%")
    expect(row).to_contain_text("Red")  # 12 points below the plan
    chart = page.locator("svg.joinedup-chart")
    expect(chart.locator(f'[data-point="{QUARTER}: actual 38%"]')).to_have_count(1)
    expect(chart.locator('[data-series="planned"]')).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("Weekend hub opened in March")
    screenshot(page, "delivery-trajectory")

    page.goto(f"/commissioning/delivery?quarter={QUARTER.replace(' ', '+')}")
    cell = page.locator(f'#heat-map td[data-area="{area_code}"][data-element="A3"]')
    expect(cell).to_contain_text("38%")
    expect(cell.locator("[data-rag]")).to_have_attribute("data-rag", "red")
    screenshot(page, "delivery-tracker-after")

    page.get_by_role("link", name=f"Board report for {QUARTER}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(QUARTER)
    expect(page.locator("#red-list")).to_contain_text(f"{area_name}, A3 Routine opening hours")
    screenshot(page, "delivery-board-report")
    assert problems.errors == []
