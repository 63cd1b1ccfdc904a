"""A commissioner opens a capitated contract's shadow ledger, changes the risk-share terms in a
what-if, and reads the evaluation report (issue 18, "done when"), with screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import capture

pytestmark = pytest.mark.browser


def _amount(text: str) -> float:
    sign = -1 if text.strip().startswith("−") else 1
    return sign * float(re.sub(r"[^0-9.]", "", text))


def test_commissioner_reads_ledger_what_if_and_evaluation(
    page_as: Callable[[str | None], Page], screenshot: Callable[[Page, str], Path]
) -> None:
    page = page_as("commissioner")
    page.goto("/commissioning/contracts")
    with page.expect_navigation(wait_until="load", timeout=120_000):  # the ledger is computed
        page.get_by_role("link", name=re.compile("Frailty and complex needs alliance")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Frailty and complex needs")
    expect(page.locator("#ledger-chart svg rect").first).to_be_visible()
    assert page.locator("#ledger-months tbody tr").count() == 36
    screenshot(page, "contract-ledger")
    capture(page.locator("#ledger-chart"), "contract-ledger-chart")

    # A share that is not a number is named, and nothing is recomputed.
    page.fill("#gain_1_share", "lots")
    with page.expect_navigation(wait_until="load"):
        page.click("#recompute")
    expect(page.locator("#what-if-error")).to_contain_text("as a percentage")
    assert page.locator("#statement-1 [data-terms='what-if']").count() == 0

    # What-if: the provider keeps or bears everything up to 10% of the budget, with no caps.
    statement = page.locator("#statement-1")
    variance = _amount(statement.locator("tr[data-line='3'] [data-terms='contract']").inner_text())
    budget = _amount(statement.locator("tr[data-line='1'] [data-terms='contract']").inner_text())
    for kind in ("gain", "loss"):
        page.fill(f"#{kind}_1_up_to", "10")
        page.fill(f"#{kind}_1_share", "100")
        page.fill(f"#{kind}_2_up_to", "20")
        page.fill(f"#{kind}_2_share", "0")
        page.fill(f"#{kind}_cap", "")
    with page.expect_navigation(wait_until="load"):
        page.click("#recompute")
    provider = page.locator("#statement-1 tr[data-line='4'] [data-terms='what-if']").inner_text()
    expected = max(-0.1 * budget, min(0.1 * budget, variance))  # all of it within 10%
    assert _amount(provider) == pytest.approx(expected, abs=0.02)
    screenshot(page, "contract-what-if")
    capture(page.locator("#statement-1"), "contract-what-if-year-1")

    page.get_by_role("link", name="Read the evaluation report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Did it work? Evaluation report")
    expect(page.locator("#evaluation-headline")).not_to_be_empty()
    expect(page.locator("#evaluation-limits li").first).to_contain_text("not a randomised trial")
    screenshot(page, "contract-evaluation")
    with page.expect_download() as download:
        page.click("#download-report")
    assert download.value.suggested_filename == "evaluation-frailty-alliance.html"


def test_an_unknown_contract_is_not_found(page_as: Callable[[str | None], Page]) -> None:
    page = page_as("commissioner")
    response = page.goto("/commissioning/contracts/ledger?contract=no-such-contract")
    assert response is not None and response.status == 404
    expect(page.get_by_text("No contract named 'no-such-contract'")).to_be_visible()
