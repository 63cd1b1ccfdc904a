"""The coordinated care loop in headless Chromium, walked as a care coordinator would (issue 6,
"Done when"; issue 13: the person found by name, their banner, the action marked new on the
owner's worklist): a case-finding list → find the person by name → add them to the register →
record consent → assign a named professional → write the care plan with the person and record
their agreement → schedule the neighbourhood's MDT and open its generated agenda → record a
decision whose action a nurse owns → the nurse sees it on "My worklist" and completes it → it
shows as done.

Everything happens through the real pages and forms; services only set up the store. The
session's scored area (a stratification run with risk) gives the top-risk list; the care store is
this module's own, so the register starts empty. The demo care coordinator and the demo nurse
both work in the area's first neighbourhood (`joinedup.governance.users.DEMO_PLACES`).
Screenshots: test-artifacts/screenshots/care-loop-NN-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from joinedup.analytics import case_finding as cf
from joinedup.settings import Settings
from tests.browser.support import DESKTOP, LiveServer, PageProblems, capture

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
LIST_ID = "top-risk-not-on-register"
ACTION_TITLE = "Home visit to review falls risk and medicines"


@pytest.fixture(scope="module")
def server(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scored area (latest run has a risk) with an empty care store of this module's own."""
    database = tmp_path_factory.mktemp("care-loop") / "care.db"
    with LiveServer(Settings(home=scored_area.home, database_url=f"sqlite:///{database}")) as live:
        yield live.url


@pytest.fixture
def signed_in(browser: Browser, server: str) -> Iterator[Callable[[str], Page]]:
    """`signed_in("nurse")`: a page in a context of its own, signed in as that role's demo user."""
    contexts: list[BrowserContext] = []

    def open_page(role: str) -> Page:
        context = browser.new_context(  # type: ignore[call-arg]
            viewport=DESKTOP, base_url=server, signed_in_as=role
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _nav(page: Page, area: str, child: str) -> None:
    """Follow the header link to an area, then one of its pages."""
    page.locator("header").get_by_role("link", name=area, exact=True).click()
    page.get_by_role("link", name=child, exact=True).first.click()


def test_a_coordinator_walks_the_loop_and_a_nurse_closes_the_action(
    signed_in: Callable[[str], Page], screenshot: Screenshot
) -> None:
    today = dt.date.today()
    meeting_day = today + dt.timedelta(days=7)
    title = cf.get_definition(LIST_ID).title

    coordinator = signed_in("care_coordinator")
    problems = PageProblems(coordinator)

    # 1. The case-finding list: the top-risk people of the coordinator's practices.
    coordinator.goto("/")
    coordinator.locator("header").get_by_role("link", name="Case finding").click()
    coordinator.get_by_role("link", name=title).click()
    expect(coordinator.locator("h1")).to_have_text(title)
    expect(coordinator.locator("#identifiable-notice")).to_be_visible()
    row = coordinator.locator("#people-table tbody tr").first
    person_id = int(row.get_attribute("data-person") or "0")
    name = row.locator("th a").inner_text()
    nhs_number = row.locator("th .joinedup-nhs-number").inner_text()
    assert person_id and name and re.fullmatch(r"\d{3} \d{3} \d{4}", nhs_number)
    at_viewport(coordinator, "care-loop-01-case-finding", row)

    # 2. Found by name with "Find a person" (issue 13); the banner says who this is; onto the
    #    register, saying the list it came from.
    family, given = name.split(", ", 1) if ", " in name else (name, "")
    coordinator.locator("header").get_by_role("link", name="Find a person").click()
    coordinator.get_by_label("Last name").fill(family.title())
    coordinator.get_by_label("First name").fill(given.split(" ")[0])
    coordinator.get_by_role("button", name="Search").click()
    found = coordinator.locator("#search-results tbody tr").filter(has_text=nhs_number)
    expect(found).to_have_count(1)
    at_viewport(coordinator, "care-loop-02a-found-by-name", found)
    found.get_by_role("link").first.click()
    expect(coordinator).to_have_url(re.compile(rf"/people/{person_id}"))
    expect(coordinator.locator("h1")).to_have_text("Care record")
    expect(coordinator.locator('[data-banner="nhs_number"]')).to_have_text(nhs_number)
    expect(coordinator.locator('[data-banner="name"]')).to_have_text(name)
    expect(coordinator.locator("#not-on-register")).to_have_text(
        "Not on the coordinated care register."
    )
    coordinator.locator("#source").select_option("case_finding")
    coordinator.locator("#source_detail").fill(LIST_ID)
    coordinator.get_by_label("Why add them").fill("Top 2% admission risk; lives alone, two falls")
    coordinator.get_by_role("button", name="Add to the register").click()
    expect(coordinator.locator("#notice")).to_have_text("Added to the coordinated care register.")
    entry = coordinator.locator("#register-entry")
    expect(entry).to_have_attribute("data-status", "identified")
    expect(entry).to_contain_text(f"from case-finding list ({LIST_ID})")
    at_viewport(coordinator, "care-loop-02-added-to-register", entry)

    # 3. Invited, then consented, recording their consent to share the plan in the same step.
    _move(coordinator, "Invited")
    expect(coordinator.locator("#notice")).to_have_text("Register entry moved to invited.")
    _move(coordinator, "Consented", record_consent=True)
    expect(coordinator.locator("#notice")).to_have_text("Register entry moved to consented.")
    expect(entry).to_have_attribute("data-status", "consented")
    expect(coordinator.locator("#consent")).not_to_have_text("Not recorded")
    at_viewport(coordinator, "care-loop-03-consented", entry)

    # 4. A named professional: the coordinator takes the person on.
    coordinator.locator("#assign-named-professional").click()
    expect(coordinator.locator("h1")).to_have_text("Assign a named professional")
    coordinator.get_by_label("Demo Care coordinator as Care coordinator").check()
    coordinator.get_by_label("Note (optional)").fill("First contact by phone this week")
    coordinator.get_by_role("button", name="Assign").click()
    expect(coordinator.locator("#notice")).to_have_text("Named professional recorded.")
    expect(coordinator.locator("#named-professional")).to_contain_text(
        "Demo Care coordinator (Care coordinator)"
    )
    at_viewport(coordinator, "care-loop-04-named-professional", entry)

    # 5. The care plan, written with the person and their carer, then their agreement.
    coordinator.get_by_role("link", name="Start the care plan").click()
    coordinator.locator("#start-plan").click()
    expect(coordinator.locator("h1")).to_have_text("Start a care plan")
    _fill_plan(coordinator, today)
    screenshot(coordinator, "care-loop-05-care-plan-form")
    coordinator.locator("#save").click()
    expect(coordinator.locator("#saved")).to_contain_text("Version 1 of the plan has been saved")
    expect(coordinator.locator("main")).to_contain_text("Getting to my granddaughter's wedding")
    expect(coordinator.locator("main")).to_contain_text("Order a perching stool")
    coordinator.get_by_label("Record that the person agrees this plan").fill(
        "their daughter Jo, main carer"
    )
    coordinator.get_by_role("button", name="The person agrees version 1").click()
    expect(coordinator.locator("#agreed")).to_contain_text("agreement to version 1")
    expect(coordinator.locator("#agreement")).to_contain_text("Agreed")
    expect(coordinator.locator("#agreement")).to_contain_text("their daughter Jo, main carer")
    screenshot(coordinator, "care-loop-06-plan-agreed")

    # 6. The neighbourhood's MDT, the demo nurse invited; its agenda built from the register.
    _nav(coordinator, "Care coordination", "MDT meetings")
    expect(coordinator.locator("h1")).to_have_text("MDT meetings")
    _fill_date(coordinator, "day", meeting_day)
    coordinator.get_by_label("Start time").fill("13:30")
    coordinator.get_by_label("Where (optional)").fill("Health centre, room 2")
    coordinator.get_by_label("Demo Nurse (Nurse)").check()
    coordinator.get_by_role("button", name="Schedule meeting").click()
    expect(coordinator.locator("#notice")).to_contain_text("The meeting has been scheduled")
    coordinator.get_by_role("button", name="Build the agenda from the register").click()
    expect(coordinator.locator("#notice")).to_contain_text(
        "The agenda has been built from the register."
    )
    agenda_row = coordinator.locator(f'#agenda-table tr[data-person="{person_id}"]')
    expect(agenda_row).to_contain_text(nhs_number)
    expect(agenda_row).to_contain_text("New on the register")
    screenshot(coordinator, "care-loop-07-mdt-agenda")

    # 7. The person's summary at the meeting; a decision whose action the nurse owns.
    agenda_row.get_by_role("link", name=re.compile(re.escape(nhs_number))).click()
    expect(coordinator.locator("h1")).to_have_text(name)
    expect(coordinator.locator("#reasons")).to_contain_text("New on the register")
    expect(coordinator.locator("#plan-status")).to_contain_text("Agreed")
    coordinator.get_by_label("Record a decision").fill(
        "Falls and frailty: community nurse to visit at home before the next meeting."
    )
    coordinator.get_by_label("Action 1").fill(ACTION_TITLE)
    nurse_option = coordinator.locator("#owner_1 option", has_text="Demo Nurse")
    coordinator.locator("#owner_1").select_option(nurse_option.get_attribute("value"))
    _fill_date(coordinator, "due_1", meeting_day)
    screenshot(coordinator, "care-loop-08-mdt-decision-form")
    coordinator.get_by_role("button", name="Record decision").click()
    expect(coordinator.locator("#notice")).to_contain_text("The decision and its actions")
    decided = coordinator.locator("#decision-actions tbody tr").filter(has_text=ACTION_TITLE)
    expect(decided).to_contain_text("Demo Nurse")
    expect(decided).to_have_attribute("data-status", "open")
    screenshot(coordinator, "care-loop-09-mdt-decision")
    assert problems.errors == []

    # 8. The nurse finds the action on "My worklist" and completes it.
    nurse = signed_in("nurse")
    nurse_problems = PageProblems(nurse)
    nurse.goto("/")
    _nav(nurse, "Care coordination", "My worklist")
    expect(nurse.locator("h1")).to_have_text("My worklist")
    mine = nurse.locator("#actions-table tbody tr").filter(has_text=ACTION_TITLE)
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(nhs_number)
    expect(mine.locator("[data-new-action]")).to_have_text("New")  # assigned by the coordinator
    expect(nurse.locator("#new-actions")).to_contain_text("new action")  # counted in the header
    screenshot(nurse, "care-loop-10-nurse-worklist")
    mine.get_by_role("link", name=ACTION_TITLE).click()
    expect(nurse.locator("#action-title")).to_have_text(ACTION_TITLE)
    expect(nurse.locator("#action-status")).to_have_text("Open")
    back = nurse.locator("#back-to-worklist")
    expect(back).to_have_attribute("href", "/care-coordination/worklist")
    nurse.get_by_label("What came of it").fill(
        "Visited at home: two trip hazards removed, referred to the falls clinic."
    )
    nurse.get_by_role("button", name="Mark as done").click()
    expect(nurse.locator("#notice")).to_contain_text("The action is complete.")
    expect(nurse.locator("#action-status")).to_contain_text("Done")
    expect(nurse.locator("#action-outcome")).to_contain_text("referred to the falls clinic")
    screenshot(nurse, "care-loop-11-action-done")
    _nav(nurse, "Care coordination", "My worklist")
    expect(nurse.locator("#actions-table tbody tr").filter(has_text=ACTION_TITLE)).to_have_count(0)
    assert nurse_problems.errors == []

    # 9. Back at the meeting, the coordinator sees the action done.
    coordinator.reload()
    done = coordinator.locator("#decision-actions tbody tr").filter(has_text=ACTION_TITLE)
    expect(done).to_have_attribute("data-status", "done")
    expect(done).to_contain_text("Done")
    screenshot(coordinator, "care-loop-12-action-done-at-mdt")
    assert problems.errors == []


def at_viewport(page: Page, name: str, around: Locator) -> Path:
    """A screenshot of the window around `around`: the list and the person page run to tens
    of thousands of pixels (hundreds of rows, a long timeline), too big to read whole."""
    around.scroll_into_view_if_needed()
    return capture(page, name)


def _move(page: Page, to: str, *, record_consent: bool = False) -> None:
    """Move the register entry through the person page's "Change the register state" form."""
    page.locator("#move-entry summary").click()
    page.get_by_label("Move to").select_option(label=to)
    if record_consent:
        page.get_by_label("Record their consent to share their care plan now").check()
    page.locator("#move-submit").click()


def _fill_date(page: Page, field_id: str, day: dt.date) -> None:
    """Type `day` into the NHS date input `field_id` (day, month and year boxes)."""
    for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
        page.locator(f"#{field_id}-{part}").fill(str(value))


def _fill_plan(page: Page, today: dt.date) -> None:
    """What matters, a goal, an action with its owner, the carer and the crisis plan."""
    page.get_by_label("What matters to them, in their own words").fill(
        "Getting to my granddaughter's wedding in June and staying in my own home."
    )
    page.get_by_label("What they want to achieve").fill("Walk to the shops with a stick")
    page.get_by_label("How we will know").fill("Walks there and back twice a week")
    page.get_by_label("Target", exact=True).fill("Twice a week")
    page.get_by_label("What will be done").fill("Order a perching stool for the kitchen")
    page.get_by_label("Who will do it").fill("Sam Okafor")
    page.get_by_label("Their organisation").fill("Adult social care")
    _fill_date(page, "action-0-due_on", today + dt.timedelta(days=14))
    page.get_by_label("Carer's name (leave blank if they have no carer)").fill("Jo Smith")
    page.get_by_label("Relationship to the person").fill("Daughter")
    page.get_by_label("Carer's phone").fill("07700 900123")
    page.get_by_label("They are the main carer").check()
    page.get_by_label("What to do if things get worse").fill(
        "If short of breath or after a fall, call the practice; out of hours, call 111."
    )
    page.get_by_label("Who to call").fill("Jo Smith, then the practice nurse")
    page.get_by_label("Escalation").fill("999 if chest pain or cannot get up")
    _fill_date(page, "review_due_on", today + dt.timedelta(days=90))
