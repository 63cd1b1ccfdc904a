"""Social prescribing in headless Chromium (issue 19, "Done when"): the demo link worker refers
a person of her neighbourhood, records first contact, what matters and the plan, refers on to a
service of the directory and records that the person attended, records SWEMWBS and ONS4 at the
start and SWEMWBS at the end, and discharges; the caseload and the reports (over the demo's
synthetic referrals, with GP and A&E use before and after referral against matched people not
referred) are looked at too.

Everything happens through the pages and forms. Screenshots:
test-artifacts/screenshots/sp-NN-*.png.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from joinedup.carestore.db import make_engine, session_factory
from joinedup.directory.social_prescribing.models import SocialPrescribingReferral
from joinedup.directory.social_prescribing.synthetic import seed_social_prescribing
from joinedup.directory.synthetic import seed_directory
from joinedup.governance.models import User
from joinedup.governance.relationships import user_practices
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.browser.support import DESKTOP, LiveServer, PageProblems

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
SWEMWBS_START = ("2", "3", "2", "3", "2", "3", "2")  # raw 17 → metric 16.88
SWEMWBS_END = ("3", "4", "3", "4", "3", "4", "3")  # raw 24 → metric 21.54


@pytest.fixture(scope="module")
def sp_server(
    small_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int, str]]:
    """The small area with a care store of this module's own: the synthetic directory and the
    demo's social prescribing referrals, and an adult the demo link worker may see who has no
    referral yet."""
    database = tmp_path_factory.mktemp("sp") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    with LiveServer(settings) as live:
        sessions = session_factory(make_engine(settings.database_url))
        seed_directory(sessions, settings)
        assert seed_social_prescribing(sessions, settings).referrals > 0
        with sessions() as session:
            worker = session.scalars(select(User).where(User.role == "link_worker")).first()
            assert worker is not None
            practices = user_practices(session, worker.id)
            referred = set(session.scalars(select(SocialPrescribingReferral.person_id)))
        store = PopulationStore(settings.population_dir)
        person = next(
            pid
            for pid in range(1, 5_000)
            if pid not in referred
            and (p := find_person(store, pid))
            and p.practice_code in practices
            and p.date_of_death is None
            and p.date_of_birth.year < 1990
        )
        identity = find_person(store, person)
        assert identity is not None
        yield live.url, person, identity.nhs_number


def test_a_link_worker_takes_a_person_from_referral_to_discharge(
    browser: Browser, sp_server: tuple[str, int, str], screenshot: Screenshot
) -> None:
    url, person_id, nhs_number = sp_server
    context = browser.new_context(  # type: ignore[call-arg]
        viewport=DESKTOP, base_url=url, signed_in_as="link_worker"
    )
    page = context.new_page()
    problems = PageProblems(page)
    try:
        # 1. The caseload, from the header: those waiting for first contact first. The person
        # (a self-referral) is not on it: found by NHS number, then "Social prescribing" on
        # their page. (The population overview at "/" is for roles that see aggregates.)
        page.goto("/social-prescribing/reports")
        page.locator("header").get_by_role("link", name="Social prescribing").click()
        expect(page.locator("h1")).to_have_text("Link worker caseload")
        expect(page.locator("#waiting-heading")).to_contain_text("Waiting for first contact")
        screenshot(page, "sp-01-caseload")
        page.get_by_role("link", name="find them by NHS number or name").click()
        page.get_by_label("NHS number").fill(nhs_number)
        page.get_by_role("button", name="Search").click()
        page.locator(f'#search-results tr[data-person="{person_id}"] a').click()
        page.locator("#social-prescribing-link").get_by_role("link").click()
        expect(page.locator("#no-open-referral")).to_be_visible()

        # 2. The referral: a self-referral, with needs and consent.
        page.get_by_label("Referred by").select_option("self")
        page.get_by_label("Loneliness").check()
        page.get_by_label("Physical activity").check()
        page.get_by_label("The person agrees").check()
        screenshot(page, "sp-02-referral-form")
        page.get_by_role("button", name="Refer", exact=True).click()
        expect(page.locator("#notice")).to_contain_text("871731000000106")
        referral_page = page.url
        # The caseload now lists them with those waiting for first contact, not those held.
        row = f'tr[data-person="{person_id}"]'
        page.locator("header").get_by_role("link", name="Social prescribing").click()
        expect(page.locator(f"#waiting {row}")).to_have_count(1)
        expect(page.locator(f"#caseload {row}")).to_have_count(0)
        page.goto(referral_page)

        # 3. First contact: the person takes it up, and moves to the people held.
        page.get_by_label("How").select_option("phone")
        page.get_by_role("button", name="Record first contact").click()
        expect(page.locator("#first-contact")).to_contain_text("0 days after referral")
        page.locator("header").get_by_role("link", name="Social prescribing").click()
        expect(page.locator(f"#caseload {row}")).to_have_count(1)
        expect(page.locator(f"#waiting {row}")).to_have_count(0)
        page.goto(referral_page)

        # 4. What matters and the plan.
        page.get_by_label("What matters to the person").fill("Getting out and meeting people")
        page.get_by_label("Personalised plan").fill("Try the walking group for six weeks")
        page.get_by_role("button", name="Save the plan").click()
        expect(page.locator("#plan")).to_have_text("Try the walking group for six weeks")

        # 5. Start measures: SWEMWBS and ONS4.
        _swemwbs(page, "start", SWEMWBS_START)
        measures = page.locator(".sp-measures")
        expect(measures).to_contain_text("16.88 (raw 17)")
        page.locator("#measure-ons4 summary").click()
        for question, answer in zip(
            ("satisfied", "worthwhile", "happy", "anxious"), "4547", strict=True
        ):
            page.get_by_label(question, exact=False).fill(answer)
        page.get_by_role("button", name="Record ONS4 personal wellbeing").click()
        expect(measures).to_contain_text("anxious 7")

        # 6. Refer on to a service of the directory, and record that the person attended.
        service = page.locator("#service option").first.inner_text()
        page.get_by_role("button", name="Refer on").click()
        onward = page.locator(".sp-onward")
        expect(onward).to_contain_text(service)
        onward.get_by_label("Outcome").select_option("attended")
        screenshot(page, "sp-03-plan-onward-and-start-measures")
        onward.get_by_role("button", name="Record the outcome").click()
        expect(page.locator(".onward-outcome")).to_have_text("Attended")

        # 7. A refused measure comes back with its reasons; nothing is stored.
        page.locator("#measure-swemwbs summary").click()
        page.locator("#swemwbs-q1").fill("9")
        page.get_by_role("button", name="Record SWEMWBS").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("question 1 is answered")
        expect(page.locator(".sp-measures tbody tr")).to_have_count(2)
        screenshot(page, "sp-04-measure-refused")
        assert [e for e in problems.errors if "400" not in e] == []
        problems.errors.clear()

        # 8. End measure, then discharge with goals met.
        _swemwbs(page, "end", SWEMWBS_END)
        expect(page.locator(".sp-measures")).to_contain_text("21.54 (raw 24)")
        page.get_by_label("Reason for discharge").select_option("goals_met")
        page.get_by_role("button", name="Discharge", exact=True).click()
        expect(page.locator("#no-open-referral")).to_be_visible()
        expect(page.locator("#past-referrals")).to_contain_text("Discharged")
        screenshot(page, "sp-05-discharged")

        # 9. The reports over the area's referrals.
        page.goto("/social-prescribing/reports")
        expect(page.locator("h1")).to_have_text("Social prescribing reports")
        expect(page.locator("#by-source")).to_be_visible()
        expect(page.locator("#outcomes")).to_contain_text("WEMWBS")
        # GP and A&E use before and after referral, against matched people not referred.
        expect(page.locator("#use-people")).to_contain_text("follow-up incomplete")
        expect(page.locator("#use-limits")).to_contain_text("Regression to the mean")
        screenshot(page, "sp-06-reports")
        assert problems.errors == []
    finally:
        context.close()


def _swemwbs(page: Page, timepoint: str, answers: tuple[str, ...]) -> None:
    if page.locator("#measure-swemwbs").get_attribute("open") is None:  # a refused one is open
        page.locator("#measure-swemwbs summary").click()
    page.locator("#swemwbs-timepoint").select_option(timepoint)
    for number, answer in enumerate(answers, start=1):
        page.locator(f"#swemwbs-q{number}").fill(answer)
    page.get_by_role("button", name="Record SWEMWBS").click()
