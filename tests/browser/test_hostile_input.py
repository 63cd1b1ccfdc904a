"""Hostile input in Chromium: script and SQL typed into forms is stored as typed, shown as
text and never run or executed.

A GP records a consent decision whose note is an XSS payload, then reads it back: no dialog
opens, no script runs, the page shows the characters. A governance lead searches the audit
trail with SQL-injection strings: the answers are empty or a clear error, and the page works.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from tests.browser.support import PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
XSS = (
    '<script>window.__xss = 1; alert("xss")</script>'
    '<img src=x onerror="window.__xss = 2"> "quoted" & \'single\''
)


def _registered_person(store: PopulationStore) -> int:
    return next(pid for pid in range(1, 500) if (p := find_person(store, pid)) and p.practice_code)


def test_a_script_in_a_note_is_shown_as_text_and_never_runs(
    page: Page, problems: PageProblems, screenshot: Screenshot, small_store: PopulationStore
) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    person = _registered_person(small_store)

    page.goto(f"/people/{person}/consent")
    page.locator("#decision-given").check()
    page.locator("#note").fill(XSS)
    page.locator("#consent-form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.goto(f"/people/{person}/consent")  # read it back from the store

    note = page.locator("#consent-history tbody tr").first.locator("td").last
    expect(note).to_have_text(XSS)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert page.locator("script", has_text="__xss").count() == 0
    assert page.locator("img[src=x]").count() == 0
    screenshot(page, "hostile-input-consent-note")
    assert problems.errors == []


@pytest.mark.parametrize(
    "username", ["' OR '1'='1", "demo-gp'; DROP TABLE audit_events; --", '" OR ""="']
)
def test_sql_in_the_audit_search_finds_nothing_and_breaks_nothing(
    page_as: Callable[[str | None], Page], username: str
) -> None:
    page = page_as("administrator")
    page.goto("/governance/audit")
    page.locator("#username").fill(username)
    page.locator("#username").press("Enter")

    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#username")).to_have_value(username)
    assert "demo-gp" not in page.locator("main").inner_text().replace(username, "")
    page.goto("/governance/audit?username=demo-gp")  # the table is still there and answers
    expect(page.locator("main table")).to_be_visible()
