"""Case finding in headless Chromium: the index, one list, the practice filter, the CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from joinedup.analytics import case_finding as cf
from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.objections import active_objectors
from joinedup.governance.pseudonyms import area_key
from joinedup.governance.suppression import suppress_count
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.case_finding import PAGE_ROWS
from joinedup.web.formatting import number
from tests.browser.support import PageProblems, capture

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
LIST_ID = "raised-bp-no-hypertension"


def test_open_a_list_filter_by_practice_and_download_it(
    page: Page,
    problems: PageProblems,
    screenshot: Screenshot,
    small_store: PopulationStore,
    tmp_path: Path,
) -> None:
    whole = cf.run_list(small_store, LIST_ID)
    practice = max(whole.by_practice, key=lambda p: p.found)

    page.goto("/")
    page.locator("header").get_by_role("link", name="Case finding").click()
    expect(page.locator("h1")).to_have_text("Case finding")
    expect(page.locator("header [aria-current]")).to_have_text("Case finding")
    expect(page.locator("[data-list]")).to_have_count(len(cf.list_definitions()))
    expect(page.locator(f'[data-list="{LIST_ID}"] [data-figure="count"]')).to_have_text(
        f"{whole.total:,}"
    )
    expect(page.locator('[data-list="top-risk-not-on-register"]')).to_contain_text(
        "Not available yet"
    )
    screenshot(page, "case-finding-index")

    page.get_by_role("link", name=whole.definition.title).click()
    expect(page.locator("h1")).to_have_text(whole.definition.title)
    expect(page.locator('[data-rule="codelists"]')).to_contain_text("hypertension version 1")
    expect(page.locator("#people-table tbody tr")).to_have_count(whole.total)
    # The demo GP works in the small area's one neighbourhood: named people, for direct care.
    expect(page.locator("#identifiable-notice")).to_be_visible()
    first = whole.people()[0]
    link = page.locator(f'[data-person="{first["person_id"]}"] th a')
    expect(link).to_have_attribute("href", f"/people/{first['person_id']}/scores")
    n = first["nhs_number"]
    # Named, with the NHS number under the name (issue 13: a person, not a number).
    expect(link).not_to_have_text("")
    number = page.locator(f'[data-person="{first["person_id"]}"] th .joinedup-nhs-number')
    expect(number).to_have_text(f"{n[:3]} {n[3:6]} {n[6:]}")
    screenshot(page, "case-finding-list")
    capture(page.locator("#rule"), "case-finding-rule")

    page.evaluate("window.stillTheSamePage = true")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true") as swap:
        page.select_option("#practice", practice.code)
    assert swap.value.status == 200
    expect(page.locator('[data-figure="total"]')).to_have_text(f"{practice.found:,}")
    expect(page.locator("#people-table tbody tr")).to_have_count(practice.found)
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in, not reloaded
    expect(page).to_have_url(re.compile(rf"\?practice={practice.code}$"))
    expect(page.locator("#list-status")).to_contain_text(f"Showing {practice.name}")
    capture(page.locator("#case-finding-list"), "case-finding-list-practice")

    with page.expect_download() as download:
        page.locator("#download-csv").click()
    saved = tmp_path / "list.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == practice.found
    assert {r["practice_code"] for r in rows} == {practice.code}
    assert problems.errors == []


def test_a_filtered_address_opens_as_a_whole_page(
    page: Page, small_store: PopulationStore, screenshot: Screenshot
) -> None:
    hood = cf.run_list(small_store, LIST_ID).by_neighbourhood[-1]
    page.goto(f"/case-finding/{LIST_ID}?neighbourhood={hood.code}")

    expect(page.locator('[data-figure="total"]')).to_have_text(f"{hood.found:,}")
    expect(page.locator("#neighbourhood")).to_have_value(hood.code)
    expect(page.locator("#practice-table tbody tr")).to_have_count(
        len([p for p in cf.run_list(small_store, LIST_ID, neighbourhood=hood.code).by_practice])
    )
    page.goto("/case-finding/top-risk-not-on-register")
    expect(page.locator("#unavailable")).to_contain_text("risk model")
    screenshot(page, "case-finding-unavailable")


def test_a_commissioner_sees_pseudonyms_and_suppressed_counts(
    page_as: Callable[[str | None], Page],
    small_area: Settings,
    small_store: PopulationStore,
    screenshot: Screenshot,
) -> None:
    engine = make_engine(small_area.database_url)
    try:
        objectors = active_objectors(session_factory(engine))
    finally:
        engine.dispose()
    result = cf.run_list(small_store, LIST_ID, excluding=objectors)
    page = page_as("commissioner")

    page.goto(f"/case-finding/{LIST_ID}")

    expect(page.locator("#pseudonymous-notice")).to_contain_text("Counts of 1 to 7 are withheld")
    expect(page.locator('[data-figure="total"]')).to_have_text(number(suppress_count(result.total)))
    # Disclosure control withholds people still in a small group (k-anonymity is measured in
    # tests/integration/test_disclosure_control.py); the page says how many.
    disclosed = cf.disclosed_rows(result.rows, area_key(small_area))
    expect(page.locator("[data-pseudonym]")).to_have_count(min(len(disclosed.rows), PAGE_ROWS))
    expect(page.locator("#disclosure-note")).to_contain_text("5-year bands")
    if disclosed.withheld:
        expect(page.locator('[data-figure="withheld"]')).to_have_text(number(disclosed.withheld))
    expect(page.locator("[data-person]")).to_have_count(0)
    first = page.locator("[data-pseudonym] th").first
    expect(first).to_have_text(re.compile(r"^PX-[A-Z2-7]{12}$"))
    screenshot(page, "case-finding-list-pseudonymised")
