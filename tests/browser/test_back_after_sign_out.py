"""Back after sign-out shows no record: every signed-in answer is ``Cache-Control: no-store``
(issue 14), so Chromium asks the server again on Back, and the server asks for a sign-in.

The worklist is not behind the person gate (it lists many people), so it proves the rule
covers every signed-in response, not only the gated ones.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore

pytestmark = pytest.mark.browser


def _registered_person(store: PopulationStore) -> int:
    return next(pid for pid in range(1, 500) if (p := find_person(store, pid)) and p.practice_code)


def test_back_after_signing_out_shows_the_sign_in_page_not_the_record(
    page: Page, small_store: PopulationStore
) -> None:
    person = _registered_person(small_store)
    worklist = page.goto("/care-coordination/worklist")
    assert worklist is not None and worklist.headers["cache-control"] == "no-store"
    record = page.goto(f"/people/{person}")
    assert record is not None and record.headers["cache-control"] == "no-store"
    expect(page.locator("h1")).to_be_visible()

    page.locator("form.nhsuk-header__account-form button").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=1"))

    for _ in range(2):  # back to the person page, then to the worklist
        page.go_back()
        page.wait_for_load_state("load")
        expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        expect(page.locator("h1")).to_have_text("Sign in")
