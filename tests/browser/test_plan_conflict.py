"""Two people change the same care plan at once in two browsers: nothing is lost (issue 13).

The GP and the nurse both open the plan's form at version 1. The GP saves first; the nurse's
save then comes back with both versions side by side and a choice for the one field both
changed (housing); her other change and the GP's other change are kept without asking. She
keeps hers, and the saved plan holds all three changes while the GP's version stays in the
history. Screenshots: test-artifacts/screenshots/plan-conflict-*.png.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from joinedup.care import care_plan as plans
from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.consent import record_consent
from joinedup.governance.models import User, UserOrganisation
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.browser.support import DESKTOP, LiveServer

pytestmark = pytest.mark.browser

LIST_ID = "top-risk-not-on-register"


@pytest.fixture(scope="module")
def server(
    scored_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    database = tmp_path_factory.mktemp("plan-conflict") / "care.db"
    settings = Settings(home=scored_area.home, database_url=f"sqlite:///{database}")
    with LiveServer(settings) as live:
        yield live.url, settings


@pytest.fixture
def signed_in(browser: Browser, server: tuple[str, Settings]) -> Iterator[Callable[[str], Page]]:
    contexts: list[BrowserContext] = []

    def open_page(role: str) -> Page:
        context = browser.new_context(  # type: ignore[call-arg]
            viewport=DESKTOP, base_url=server[0], signed_in_as=role
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _start_plan(settings: Settings, person_id: int) -> None:
    """The person's consent to share their plan and a first version, written by the demo GP."""
    sessions = session_factory(make_engine(settings.database_url))
    with sessions() as session:
        user = session.scalars(select(User).where(User.username == "demo-gp")).one()
        orgs = tuple(
            session.scalars(
                select(UserOrganisation.org_code).where(UserOrganisation.user_id == user.id)
            )
        )
    gp = principal("gp", user_id=user.id, username=user.username, organisations=orgs)
    record_consent(sessions, gp, person_id, "share_care_plan", "given")
    first = plans.parse_content({"what_matters": "Staying at home", "self_management": "Diary"})
    plans.save_plan(sessions, gp, person_id, first, base_version=0)


def test_two_people_saving_one_plan_lose_nothing(
    signed_in: Callable[[str], Page],
    server: tuple[str, Settings],
    screenshot: Callable[[Page, str], Path],
) -> None:
    gp, nurse = signed_in("gp"), signed_in("nurse")
    gp.goto(f"/case-finding/{LIST_ID}")
    person_id = int(gp.locator("#people-table tbody tr").first.get_attribute("data-person") or 0)
    assert person_id
    _start_plan(server[1], person_id)
    edit = f"/people/{person_id}/care-plan/edit"

    gp.goto(edit)
    nurse.goto(edit)  # both at version 1
    gp.get_by_label("Housing").fill("GP: stairlift ordered")
    gp.get_by_label("What matters to them, in their own words").fill("Seeing my grandchildren")
    gp.locator("#save").click()
    expect(gp.locator("#saved")).to_contain_text("Version 2 of the plan has been saved")

    nurse.get_by_label("Housing").fill("Nurse: damp in the bedroom")
    nurse.get_by_label("Escalation").fill("Call 111 out of hours")
    nurse.locator("#save").click()
    expect(nurse.locator("#conflict")).to_contain_text("Someone changed this plan")
    expect(nurse.locator("#side-by-side #theirs")).to_contain_text("GP: stairlift ordered")
    expect(nurse.locator("#side-by-side #yours")).to_contain_text("Nurse: damp in the bedroom")
    choices = nurse.locator("[data-conflict]")
    expect(choices).to_have_count(1)
    expect(choices).to_have_attribute("data-conflict", "needs.housing")
    screenshot(nurse, "plan-conflict-01-choose")

    nurse.locator("#save").click()  # without choosing: refused again, nothing saved
    expect(nurse.locator(".nhsuk-error-summary")).to_contain_text("Choose whether to keep")
    nurse.get_by_label("Keep mine: “Nurse: damp in the bedroom”").check()
    nurse.locator("#save").click()
    expect(nurse.locator("#saved")).to_contain_text("Version 3 of the plan has been saved")
    main = nurse.locator("main")
    expect(main).to_contain_text("Nurse: damp in the bedroom")  # her explicit choice
    expect(main).to_contain_text("Seeing my grandchildren")  # the GP's other change
    expect(main).to_contain_text("Call 111 out of hours")  # her other change
    screenshot(nurse, "plan-conflict-02-saved")

    nurse.goto(f"/people/{person_id}/care-plan/versions")
    expect(nurse.locator("main")).to_contain_text("Demo GP")  # the GP's version stays
