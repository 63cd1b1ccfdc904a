"""Fictional, varied care plans for the demo: a handful of register people, written as a care
coordinator would with them. Every name, phone number and story is invented.

Plans are saved through `joinedup.care.care_plan.save_plan` (versions, tracked actions and
audit events as for any save); some get a second version and the person's agreement, so the
demo shows history, diffs and both plan states. Dates are relative to the day the plans are
written (today, for the demo): goals, actions and reviews all fall due after it, as in a plan
just written, never in the past (issue 13).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.care_plan import agree_plan, current_plan, parse_content, save_plan
from joinedup.governance.models import User
from joinedup.governance.roles import Principal
from joinedup.settings import Settings

# (what matters, goals, needs, actions, contacts, carer, crisis, choices, self-management)
_STORIES: tuple[dict[str, Any], ...] = (
    {
        "what_matters": "Staying in my own flat and getting to chapel on Sundays.",
        "goals": [
            (
                "Walk to the end of the road and back",
                "Walks without stopping",
                "Three times a week",
                60,
            ),
            ("No more falls at home", "Falls in a month", "None", 90),
        ],
        "needs": {
            "physical_health": "Heart failure and arthritis in both knees; breathless on stairs.",
            "housing": "Lives alone on the first floor; no rail on the stairs.",
            "carers": "Daughter visits twice a week.",
        },
        "actions": [
            ("Home falls assessment and grab rails", "Priya Shah", "Community therapy", 14),
            ("Heart failure nurse review of water tablets", "Tom Ellis", "Community nursing", 21),
        ],
        "contacts": [("Dr Anna Morgan", "GP", "0113 496 0001")],
        "carer": ("Lucy Green", "daughter", "07700 900101", True),
        "crisis": (
            "If more breathless or ankles swell quickly, weigh yourself and call the surgery.",
            "Surgery in hours; NHS 111 out of hours.",
            "Heart failure nurse same day; 999 if chest pain.",
        ),
        "preferred_place_of_care": "At home",
        "self_management": "Daily weights written in the diary; fluid limit agreed with the nurse.",
    },
    {
        "what_matters": "Looking after my wife, who has dementia, for as long as I can.",
        "goals": [("Get a regular break from caring", "Hours of respite a week", "Four", 45)],
        "needs": {
            "physical_health": "COPD; two chest infections this winter.",
            "mental_health": "Feeling low and tired; not sleeping well.",
            "social_care": "Carer's assessment not done yet.",
            "finances": "Not claiming carer's allowance.",
        },
        "actions": [
            ("Carer's assessment", "Mark Hughes", "Adult social care", 28),
            ("Benefits check with the link worker", "Sara Patel", "Social prescribing", 21),
            ("COPD rescue pack and inhaler check", "Dr Anna Morgan", "Mill Lane Surgery", 7),
        ],
        "contacts": [("Sara Patel", "Link worker", "0113 496 0022")],
        "carer": None,
        "crisis": (
            "Start the rescue pack if phlegm changes colour; tell the surgery the same day.",
            "Surgery; NHS 111 out of hours.",
            "If he is unwell, who looks after his wife: the crisis carer service (0113 496 0099).",
        ),
        "self_management": "Pulmonary rehabilitation class on Tuesdays.",
    },
    {
        "what_matters": "Not going back into hospital. I want to stay at home with my cat.",
        "goals": [
            ("Understand my medicines", "Can say what each tablet is for", "All of them", 30),
        ],
        "needs": {
            "physical_health": "Diabetes, kidney disease, 14 regular medicines.",
            "mental_health": "Worried about memory.",
        },
        "actions": [
            ("Structured medication review", "Omar Siddiqui", "PCN pharmacy team", 14),
            ("Memory assessment referral", "Dr Anna Morgan", "Mill Lane Surgery", 30),
        ],
        "contacts": [("Omar Siddiqui", "Clinical pharmacist", "0113 496 0044")],
        "carer": ("Dev Kumar", "son", "07700 900202", False),
        "crisis": (
            "If blood sugar is under 4, follow the hypo card; if very drowsy call 999.",
            "District nurses on 0113 496 0055 (8am to 8pm).",
            "Out of hours GP through NHS 111.",
        ),
        "ceilings_of_treatment": "Would want hospital treatment for anything reversible.",
        "self_management": "Blood sugar diary; dosette box filled by the pharmacy.",
    },
    {
        "what_matters": "Being comfortable and at home with my family around me.",
        "goals": [("Pain under control", "Pain score", "3 out of 10 or less", 14)],
        "needs": {
            "physical_health": "Advanced lung cancer; pain and breathlessness.",
            "carers": "Husband is main carer and is exhausted.",
        },
        "actions": [
            ("Palliative care team visit", "Helen Price", "Hospice at home", 3),
            ("Night sitting service for two nights a week", "Mark Hughes", "Adult social care", 10),
        ],
        "contacts": [("Helen Price", "Palliative care nurse", "0113 496 0066")],
        "carer": ("George Baker", "husband", "07700 900303", True),
        "crisis": (
            "Use the anticipatory medicines in the house; call the hospice advice line.",
            "Hospice advice line 0113 496 0077, day and night.",
            "Do not call 999 for expected changes: the plan is care at home.",
        ),
        "ceilings_of_treatment": "Comfort care at home; does not want to go to hospital.",
        "preferred_place_of_care": "Home",
        "preferred_place_of_death": "Home",
        "self_management": (
            "Breathlessness fan and pacing; husband knows how to use the syringe driver alarm."
        ),
    },
    {
        "what_matters": "Getting back to my allotment and seeing my friends at the club.",
        "goals": [
            ("Back to the allotment", "Visits a week", "Two", 120),
            ("Feel less lonely", "Days a week with company", "Three", 60),
        ],
        "needs": {
            "mental_health": "Low mood since his wife died last year.",
            "social_care": "Managing alone; meals are a struggle.",
        },
        "actions": [
            ("Introduce to the men's shed and lunch club", "Sara Patel", "Social prescribing", 21),
            ("Talking therapies self-referral together", "Jo Adams", "Care coordination", 14),
        ],
        "contacts": [("Jo Adams", "Care coordinator", "0113 496 0088")],
        "carer": None,
        "crisis": (
            "If he feels he cannot go on, call the crisis line straight away.",
            "Mental health crisis line 0800 000 0000 (24 hours).",
            "999 if in immediate danger.",
        ),
        "self_management": "Walks with the club on Thursdays.",
    },
)


def _document(story: dict[str, Any], written: dt.date, number: int) -> dict[str, Any]:
    def on(days: int) -> str:
        return (written + dt.timedelta(days=days)).isoformat()

    goals = [
        {
            "id": f"g{number}-{i}",
            "description": d,
            "measure": m,
            "target": t,
            "target_date": on(days),
        }
        for i, (d, m, t, days) in enumerate(story["goals"], start=1)
    ]
    actions = [
        {"id": f"a{number}-{i}", "title": t, "owner_name": o, "owner_org": org, "due_on": on(days)}
        for i, (t, o, org, days) in enumerate(story["actions"], start=1)
    ]
    contacts = [
        {"id": f"c{number}-{i}", "name": n, "role": r, "phone": p}
        for i, (n, r, p) in enumerate(story["contacts"], start=1)
    ]
    carer = story["carer"]
    what_to_do, who_to_call, escalation = story["crisis"]
    return {
        "what_matters": story["what_matters"],
        "goals": goals,
        "needs": story["needs"],
        "actions": actions,
        "key_contacts": contacts,
        "carer": None
        if carer is None
        else dict(zip(("name", "relationship", "phone", "is_main_carer"), carer, strict=True)),
        "crisis_plan": {
            "what_to_do": what_to_do,
            "who_to_call": who_to_call,
            "escalation": escalation,
        },
        "ceilings_of_treatment": story.get("ceilings_of_treatment"),
        "preferred_place_of_care": story.get("preferred_place_of_care"),
        "preferred_place_of_death": story.get("preferred_place_of_death"),
        "medication_review_due_on": on(30 + 7 * number),
        "self_management": story["self_management"],
        "review_due_on": on(90),
    }


def _author(sessions: sessionmaker[Session], user_id: int) -> Principal:
    with sessions() as session:
        user = session.get(User, user_id)
        if user is None:
            raise ValueError(f"there is no user {user_id} to write the demo plans")
        return Principal(user.id, user.username, user.display_name, user.role)


def seed_demo_plans(
    sessions: sessionmaker[Session],
    settings: Settings,
    person_ids: Sequence[int],
    author_user_id: int,
    *,
    today: dt.date | None = None,
) -> list[int]:
    """Write a demo plan for each of `person_ids` that has none yet; the people given plans.
    Its dates count from `today` (default: the real today).

    Plans cycle through five fictional stories. Every other plan gets a second version (a
    review that changes a goal) and the person's agreement, so the demo shows draft and agreed
    plans, history and a diff. Safe to run again: people with a plan are left alone.
    """
    author = _author(sessions, author_user_id)
    written_on = today or dt.date.today()
    written: list[int] = []
    for number, person_id in enumerate(person_ids):
        if current_plan(sessions, person_id) is not None:
            continue
        story = _STORIES[number % len(_STORIES)]
        content = parse_content(_document(story, written_on, number))
        first = save_plan(
            sessions,
            author,
            person_id,
            content,
            base_version=0,
            change_note="First plan, written with the person",
        )
        if number % 2 == 0:
            goals = list(first.content.goals)
            goals[0] = goals[0].model_copy(
                update={"status": "achieved" if number % 4 == 0 else "active"}
            )
            revised = first.content.model_copy(
                update={
                    "goals": goals,
                    "self_management": first.content.self_management + " Reviewed together.",
                }
            )
            second = save_plan(
                sessions,
                author,
                person_id,
                revised,
                base_version=first.version,
                change_note="Reviewed at home",
            )
            carer = revised.carer.name if revised.carer else None
            agree_plan(sessions, author, person_id, version=second.version, agreed_with=carer)
        written.append(person_id)
    return written
