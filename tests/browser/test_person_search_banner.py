"""Find a person by name in headless Chromium, open them, and see the patient banner (issue 13):
the demo GP (who works in the small area's first neighbourhood) uses the header's "Find a
person". Screenshots: test-artifacts/screenshots/person-search-*.png and person-banner-*.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

pytestmark = pytest.mark.browser


def _first_neighbourhood_person(store: PopulationStore) -> PersonIdentity:
    orgs = pd.read_parquet(store.path("organisations"))
    first = orgs[orgs.org_type == "neighbourhood"].sort_values("org_code").org_code.iloc[0]
    regs = pd.read_parquet(store.path("registrations"))
    for person_id in sorted(regs[regs.end_date.isna()].person_id.unique()):
        person = find_person(store, int(person_id))
        if person and person.family_name and person.neighbourhood_code == first:
            return person
    raise AssertionError("no named person in the first neighbourhood")


def test_a_gp_finds_a_person_by_name_and_sees_the_banner(
    page: Page, small_area: Settings, screenshot: Callable[[Page, str], Path]
) -> None:
    person = _first_neighbourhood_person(PopulationStore(small_area.population_dir))
    page.goto("/")
    page.locator("header").get_by_role("link", name="Find a person").click()
    page.get_by_label("Last name").fill(str(person.family_name))
    page.get_by_label("First name").fill(str(person.given_name))
    page.get_by_role("button", name="Search").click()
    results = page.locator("#search-results")
    expect(results).to_contain_text(format_nhs_number(person.nhs_number))
    screenshot(page, "person-search-results")

    results.get_by_role("link", name=str(person.display_name)).first.click()
    banner = page.locator("#patient-banner")
    expect(banner).to_contain_text(str(person.display_name))
    expect(banner).to_contain_text(format_nhs_number(person.nhs_number))
    expect(banner).to_contain_text(f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}")
    screenshot(page, "person-banner-person-page")
