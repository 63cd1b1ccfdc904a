"""A refused social prescribing form comes back with the user's answers still filled (issue 19):
the referral, an outcome measure and a follow-up, each posted invalid through the web app."""

from __future__ import annotations

import html

from tests.auth_support import CSRF_TOKEN
from tests.integration.test_person_page import Setup, _as, setup  # noqa: F401 (fixture)


def _page(response_text: str) -> str:
    return html.unescape(response_text)


def test_a_refused_form_keeps_the_users_answers(setup: Setup) -> None:  # noqa: F811
    app, _sessions, users, _practice, person = setup
    gp = _as(app, users, "gp", "gp")
    url = f"/social-prescribing/people/{person}"

    refused = gp.post(
        url + "/referral",
        data={
            "csrf_token": CSRF_TOKEN,
            "source": "professional",
            "needs": ["loneliness", "housing"],
            "reason": "Lives alone since the flood",
        },  # no consent: refused
    )
    page = _page(refused.text)
    assert "consent" in page.lower() and "nhsuk-error-summary" in page
    assert 'value="Lives alone since the flood"' in page
    assert 'value="loneliness" checked' in page and 'value="housing" checked' in page
    assert 'value="money_and_debt" checked' not in page

    referred = gp.post(
        url + "/referral",
        data={"csrf_token": CSRF_TOKEN, "source": "professional", "needs": ["loneliness"],
              "reason": "Lives alone", "consent": "yes"},
    )  # fmt: skip
    assert referred.status_code == 303

    link = _as(app, users, "coord", "link_worker")
    contacted = link.post(
        url + "/first-contact",
        data={"csrf_token": CSRF_TOKEN, "mode": "phone", "accepted": "yes"},
    )
    assert contacted.status_code == 303
    bad_measure = link.post(
        url + "/measures",
        data={"csrf_token": CSRF_TOKEN, "instrument": "swemwbs", "timepoint": "review",
              "answers": ["2", "3", "9", "3", "2", "3", "2"]},
    )  # fmt: skip
    page = _page(bad_measure.text)
    assert "nhsuk-error-summary" in page
    assert 'id="measure-swemwbs" open' in page and 'id="measure-wemwbs" open' not in page
    assert 'id="swemwbs-q3" name="answers" type="number" min="1" max="5" value="9"' in page
    assert '<option value="review" selected>' in page

    bad_follow_up = link.post(
        url + "/follow-up",
        data={"csrf_token": CSRF_TOKEN, "follow-up-at-day": "4", "follow-up-at-month": "12",
              "follow-up-at-year": "2026", "follow-up-at-time": "2pm", "mode": "video",
              "note": "Rang about the walking group"},
    )  # fmt: skip
    page = _page(bad_follow_up.text)
    assert "nhsuk-error-summary" in page
    assert "The date and time of the contact must be a real time on the 24-hour clock" in page
    assert 'value="Rang about the walking group"' in page
    assert 'name="follow-up-at-month" type="text" inputmode="numeric" value="12"' in page
    assert 'value="2pm"' in page
    assert '<option value="video" selected>' in page
