"""The holistic care plan on both databases: versions, agreement, audit, tracked actions, the
sharing rule (consent outside the person's own practice), conflicts and their pages.

The parallel-save tests run real threads against the database: on PostgreSQL the conditional
version bump is what keeps two saves from the same base from both succeeding.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import func, select, update

from joinedup.analytics import case_finding as cf
from joinedup.care import care_plan as plans
from joinedup.care.demo_plans import seed_demo_plans
from joinedup.care.models import CareAction, CarePlan, CarePlanVersion
from joinedup.care.plan_content import parse_content
from joinedup.carestore.models import AuditEvent
from joinedup.governance.consent import record_consent
from joinedup.governance.models import BreakGlassGrant, CareTeamMember
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import CSRF_TOKEN
from tests.form_support import date_fields
from tests.integration.test_case_finding_governance import (
    LIST,
    World,
    add_user,
    client_as,
    events,
    make_world,
)

HOSTILE = "<script>alert('plan')</script> & \"quotes\""


@pytest.fixture
def world(care_store: str, small_area: Settings, small_store: PopulationStore) -> Iterator[World]:
    with make_world(care_store, small_area, small_store) as made:
        yield made


def person_at(world: World, practice: str) -> int:
    return int(cf.run_list(world.store, LIST, within_practices={practice}).people()[0]["person_id"])


def content(what: str = "Staying at home with my dog", **changes: Any) -> plans.CarePlanContent:
    data: dict[str, Any] = {
        "what_matters": what,
        "goals": [{"id": "g1", "description": "Walk to the park", "target": "Weekly"}],
        "actions": [
            {
                "id": "a1",
                "title": "Falls assessment",
                "owner_name": "Sam Nurse",
                "owner_org": "Community nursing",
                "due_on": "2027-01-15",
            },
            {
                "id": "a2",
                "title": "Benefits check",
                "owner_name": "Ali Link",
                "owner_org": "Social prescribing",
                "due_on": "2027-02-01",
            },
        ],
        "review_due_on": "2027-06-01",
    }
    data.update(changes)
    return parse_content(data)


def plan_rows(world: World) -> tuple[int, int]:
    with world.sessions() as session:
        plans_n = session.scalar(select(func.count()).select_from(CarePlan))
        versions_n = session.scalar(select(func.count()).select_from(CarePlanVersion))
    return int(plans_n or 0), int(versions_n or 0)


# --- versions, agreement, audit ---------------------------------------------------------------


def test_saving_versions_agreeing_and_the_audit_trail(world: World) -> None:
    mine = world.practices[0]
    nurse = add_user(world, "nurse", (mine,), name="nurse-one")
    person = person_at(world, mine)
    assert plans.current_plan(world.sessions, person) is None

    first = plans.save_plan(world.sessions, nurse, person, content(), base_version=0)
    second = plans.save_plan(
        world.sessions, nurse, person, content("My garden"), base_version=1, change_note="typo"
    )
    assert (first.version, second.version) == (1, 2)
    assert second.saved_by == "nurse-one" and second.change_note == "typo"
    assert second.plan_status == "draft" and not second.agreed_by_person

    agreed = plans.agree_plan(world.sessions, nurse, person, version=2, agreed_with="daughter Jo")
    assert agreed.agreed_by_person and agreed.agreement_recorded_by == "nurse-one"
    assert agreed.agreed_with == "daughter Jo" and agreed.plan_status == "agreed"
    with world.sessions() as session:
        row = session.scalar(select(CarePlan).where(CarePlan.person_id == person))
        assert row is not None
        assert (row.status, row.version, row.review_due_on) == ("agreed", 2, dt.date(2027, 6, 1))
    with pytest.raises(plans.PlanError, match="already agreed"):
        plans.agree_plan(world.sessions, nurse, person, version=2)

    third = plans.save_plan(
        world.sessions, nurse, person, content("My garden", review_due_on=None), base_version=2
    )
    assert third.plan_status == "draft"  # a new unagreed version makes the plan a draft again
    history = plans.plan_history(world.sessions, person)
    assert [v.version for v in history] == [3, 2, 1]
    assert [v.agreed_by_person for v in history] == [False, True, False]
    _, _, lines = plans.diff_versions(world.sessions, person, 1, 3)
    assert lines == [
        "What matters to the person changed from “Staying at home with my dog” to “My garden”",
        "Next review of the plan cleared (was “1 June 2027”)",
    ]

    saves = events(world, "care_plan.save")
    assert [e.detail["version"] for e in saves] == [1, 2, 3]
    assert {e.person_id for e in saves} == {person} and {e.actor for e in saves} == {nurse.actor}
    (agree,) = events(world, "care_plan.agree")
    assert agree.detail == {"version": 2, "with_others": True}
    for event in [*saves, agree]:  # no patient values in the audit trail
        text = repr(event.detail)
        assert "garden" not in text and "dog" not in text and "Jo" not in text


def test_a_person_can_only_agree_the_latest_version(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    plans.save_plan(world.sessions, gp, person, content(), base_version=0)
    plans.save_plan(world.sessions, gp, person, content("v2"), base_version=1)
    with pytest.raises(plans.PlanChangedMeanwhile) as caught:
        plans.agree_plan(world.sessions, gp, person, version=1)
    assert caught.value.theirs.version == 2
    assert not any(v.agreed_by_person for v in plans.plan_history(world.sessions, person))


def test_roles_without_care_write_cannot_save(world: World) -> None:
    person = person_at(world, world.practices[0])
    with pytest.raises(plans.PlanNotAllowed):
        plans.save_plan(
            world.sessions, add_user(world, "manager", ()), person, content(), base_version=0
        )
    assert plan_rows(world) == (0, 0)


# --- conflicts ----------------------------------------------------------------------------------


def test_a_stale_save_is_refused_with_both_versions_and_saves_nothing(world: World) -> None:
    mine = world.practices[0]
    first_user = add_user(world, "nurse", (mine,), name="nurse-a")
    second_user = add_user(world, "gp", (mine,), name="dr-b")
    person = person_at(world, mine)
    plans.save_plan(world.sessions, first_user, person, content(), base_version=0)
    plans.save_plan(world.sessions, first_user, person, content("Theirs"), base_version=1)
    before = plan_rows(world)

    with pytest.raises(plans.PlanChangedMeanwhile) as caught:
        plans.save_plan(world.sessions, second_user, person, content("Mine"), base_version=1)

    conflict = caught.value
    assert conflict.theirs.version == 2 and conflict.theirs.saved_by == "nurse-a"
    assert conflict.theirs.content.what_matters == "Theirs"
    assert conflict.base is not None and conflict.base.version == 1
    assert conflict.mine is not None and conflict.mine.what_matters == "Mine"
    assert "changed by nurse-a at" in str(conflict)
    assert conflict.their_changes[0].startswith("What matters to the person changed from")
    assert plan_rows(world) == before
    assert len(events(world, "care_plan.save")) == 2


def test_a_second_first_save_is_a_conflict_not_a_second_plan(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    plans.save_plan(world.sessions, gp, person, content("one"), base_version=0)
    with pytest.raises(plans.PlanChangedMeanwhile) as caught:
        plans.save_plan(world.sessions, gp, person, content("two"), base_version=0)
    assert caught.value.base is None
    assert caught.value.their_changes == ["They wrote the first version of the plan."]
    assert plan_rows(world) == (1, 1)


def test_two_users_changing_different_fields_both_keep_their_change(world: World) -> None:
    mine = world.practices[0]
    nurse, gp = add_user(world, "nurse", (mine,)), add_user(world, "gp", (mine,))
    person = person_at(world, mine)
    start = plans.save_plan(world.sessions, nurse, person, content(), base_version=0).content
    housing = start.needs.model_copy(update={"housing": "Stairs are hard"})
    theirs = start.model_copy(update={"needs": housing, "goals": []})  # and removes the goal
    plans.save_plan(world.sessions, nurse, person, theirs, base_version=1)

    new_goal = plans.Goal(id="g2", description="Cook one meal a day")
    actions = [
        start.actions[0].model_copy(update={"due_on": dt.date(2027, 3, 1)}),
        *start.actions[1:],
    ]
    me = start.model_copy(
        update={"what_matters": "Seeing my grandchildren", "actions": actions,
                "goals": [*start.goals, new_goal]}
    )  # fmt: skip
    saved = plans.save_plan(world.sessions, gp, person, me, base_version=1)

    assert saved.version == 3
    got = saved.content
    assert got.needs.housing == "Stairs are hard"  # theirs
    assert got.what_matters == "Seeing my grandchildren"  # mine
    assert [g.id for g in got.goals] == ["g2"]  # their removal and my addition
    assert got.actions[0].due_on == dt.date(2027, 3, 1) and len(got.actions) == 2
    assert actions_of(world, person)["Falls assessment"].due_on == dt.date(2027, 3, 1)
    assert events(world, "care_plan.save")[-1].detail["merged_with_version"] == 2


def test_two_users_changing_one_field_lose_nothing_without_a_choice(world: World) -> None:
    mine = world.practices[0]
    nurse, gp = add_user(world, "nurse", (mine,)), add_user(world, "gp", (mine,))
    person = person_at(world, mine)
    plans.save_plan(world.sessions, nurse, person, content(), base_version=0)
    plans.save_plan(world.sessions, nurse, person, content("Theirs", goals=[]), base_version=1)
    before = plan_rows(world)

    with pytest.raises(plans.PlanChangedMeanwhile) as caught:
        plans.save_plan(world.sessions, gp, person, content("Mine"), base_version=1)
    assert [(c.key, c.mine, c.theirs) for c in caught.value.conflicts] == [
        ("what_matters", "Mine", "Theirs")
    ]
    assert plan_rows(world) == before  # nothing saved

    # A choice made against an older version than the one now saved is not applied.
    with pytest.raises(plans.PlanChangedMeanwhile):
        plans.save_plan(world.sessions, gp, person, content("Mine"), base_version=1,
                        resolutions={"what_matters": "mine"}, resolved_against=1)  # fmt: skip
    assert plan_rows(world) == before

    saved = plans.save_plan(world.sessions, gp, person, content("Mine"), base_version=1,
                            resolutions={"what_matters": "mine"}, resolved_against=2)  # fmt: skip
    assert saved.content.what_matters == "Mine"  # the explicit choice
    assert saved.content.goals == []  # their removal of the goal, which I did not touch


# --- tracked actions ----------------------------------------------------------------------------


def actions_of(world: World, person: int) -> dict[str, CareAction]:
    with world.sessions() as session:
        rows = session.scalars(select(CareAction).where(CareAction.person_id == person))
        return {r.title: r for r in rows}


def test_plan_actions_are_tracked_actions_kept_in_step(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    saved = plans.save_plan(world.sessions, gp, person, content(), base_version=0)
    rows = actions_of(world, person)
    assert set(rows) == {"Falls assessment", "Benefits check"}
    assert {(r.source, r.care_plan_id, r.status) for r in rows.values()} == {
        ("care_plan", saved.plan_id, "open")
    }
    ids = {a.id: a.care_action_id for a in saved.content.actions}
    assert ids == {"a1": rows["Falls assessment"].id, "a2": rows["Benefits check"].id}

    # The falls assessment is completed from a worklist meanwhile; the plan still says "open".
    with world.sessions() as session, session.begin():
        session.execute(
            update(CareAction)
            .where(CareAction.id == ids["a1"])
            .values(status="done", completed_at=dt.datetime.now(dt.UTC), completed_by=gp.user_id)
        )
    edited = saved.content.model_copy(
        update={
            "actions": [
                saved.content.actions[0].model_copy(update={"title": "Falls assessment at home"})
            ]
        }
    )  # the benefits check is removed from the plan
    third = plans.save_plan(world.sessions, gp, person, edited, base_version=1)

    rows = actions_of(world, person)
    assert rows["Falls assessment at home"].status == "done"  # never undone
    assert rows["Benefits check"].status == "cancelled"  # removed: cancelled, not deleted
    assert rows["Benefits check"].outcome == plans.REMOVED_OUTCOME
    assert [a.status for a in third.content.actions] == ["done"]
    assert len(rows) == 2


def test_an_action_owned_by_a_joinedup_user_is_on_their_worklist(world: World) -> None:
    from joinedup.care.actions import open_actions

    gp = add_user(world, "gp", (world.practices[0],))
    nurse = add_user(world, "nurse", (world.practices[0],))
    person = person_at(world, world.practices[0])
    plan = content()
    owned = plan.actions[0].model_copy(update={"owner_user_id": nurse.user_id})
    plan = plan.model_copy(update={"actions": [owned, *plan.actions[1:]]})
    plans.save_plan(world.sessions, gp, person, plan, base_version=0)

    assert [a.title for a in open_actions(world.sessions, owner_user_id=nurse.user_id)] == [
        owned.title
    ]
    ghost = owned.model_copy(update={"owner_user_id": 999_999})
    with pytest.raises(plans.PlanError, match="no active joinedup account"):
        plans.save_plan(
            world.sessions, gp, person, plan.model_copy(update={"actions": [ghost]}), base_version=1
        )


def test_an_action_of_another_plan_is_refused(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    people = cf.run_list(world.store, LIST, within_practices={world.practices[0]}).people()
    one, two = int(people[0]["person_id"]), int(people[1]["person_id"])
    theirs = plans.save_plan(world.sessions, gp, one, content(), base_version=0)
    stolen = content(actions=[theirs.content.actions[0].model_dump(mode="json")])
    with pytest.raises(plans.PlanError, match="belongs to no action of this plan"):
        plans.save_plan(world.sessions, gp, two, stolen, base_version=0)
    assert plans.current_plan(world.sessions, two) is None


# --- sharing with consent -----------------------------------------------------------------------


def test_the_sharing_rule(world: World) -> None:
    mine, other = world.practices
    person = person_at(world, mine)
    practice_gp = add_user(world, "gp", (mine,))
    neighbourhood_gp = add_user(world, "gp", (world.neighbourhood,))
    social_worker = add_user(world, "social_worker", ())
    stranger = add_user(world, "nurse", (other,))
    with world.sessions() as session, session.begin():
        session.add(
            CareTeamMember(
                person_id=person,
                user_id=social_worker.user_id,
                team_role="social worker",
                added_at=dt.datetime.now(dt.UTC),
            )
        )

    def access(user: Principal) -> plans.PlanAccess:
        return plans.plan_access(world.sessions, user, person, mine)

    assert access(practice_gp) == plans.PlanAccess(True, True, "own_practice")
    assert access(stranger).refusal == "no_relationship"
    for user in (neighbourhood_gp, social_worker):
        assert access(user) == plans.PlanAccess(False, False, None, "no_consent")

    record_consent(world.sessions, practice_gp, person, decision="given")
    for user in (neighbourhood_gp, social_worker):
        assert access(user) == plans.PlanAccess(True, True, "consent", consent_decision="given")

    record_consent(world.sessions, practice_gp, person, decision="withdrawn")
    assert access(social_worker).refusal == "no_consent"
    assert access(social_worker).consent_decision == "withdrawn"
    assert access(practice_gp).can_edit  # the person's own practice always

    now = dt.datetime.now(dt.UTC)
    with world.sessions() as session, session.begin():
        session.add(
            BreakGlassGrant(
                user_id=stranger.user_id,
                person_id=person,
                reason="Called to them at night",
                granted_at=now,
                expires_at=now + dt.timedelta(hours=8),
            )
        )
    assert access(stranger) == plans.PlanAccess(
        True, False, "break_glass", consent_decision="withdrawn"
    )


def test_the_pages_refuse_without_consent_and_say_why(world: World) -> None:
    mine = world.practices[0]
    person = person_at(world, mine)
    plans.save_plan(
        world.sessions, add_user(world, "gp", (mine,)), person, content(), base_version=0
    )
    client = client_as(world, add_user(world, "gp", (world.neighbourhood,)))
    before = len(events(world))

    for url in ("", "/versions", "/print", "/edit", "/diff"):
        response = client.get(f"/people/{person}/care-plan{url}")
        assert response.status_code == 403, url
        assert 'data-refusal="no_consent"' in response.text
        assert "Staying at home" not in response.text
    posted = client.post(
        f"/people/{person}/care-plan/edit",
        data={"csrf_token": CSRF_TOKEN, "base_version": "1", "what_matters": "x"},
    )
    assert posted.status_code == 403
    assert len(events(world)) == before  # nothing shown, nothing audited, nothing saved


def test_the_person_page_offers_the_plan_only_when_allowed_and_consent_in_place(
    world: World,
) -> None:
    person = person_at(world, world.practices[0])
    coordinator = client_as(world, add_user(world, "care_coordinator", (world.neighbourhood,)))
    page = coordinator.get(f"/people/{person}").text
    assert "Start the care plan" not in page  # the plan's route would answer 403
    assert coordinator.get(f"/people/{person}/care-plan").status_code == 403
    assert 'id="plan-consent"' in page

    recorded = coordinator.post(
        f"/people/{person}/consent",
        data={"csrf_token": CSRF_TOKEN, "action": "consent", "decision": "given", "then": "person"},
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    assert recorded.headers["location"].startswith(f"/people/{person}?notice=")
    page = coordinator.get(f"/people/{person}").text
    assert "Start the care plan" in page and 'id="plan-consent"' not in page
    assert coordinator.get(f"/people/{person}/care-plan/edit").status_code == 200


# --- the pages -----------------------------------------------------------------------------------


def form_of(html: str) -> dict[str, str]:
    """The plan form's fields as the browser would send them (text, hidden, select, textarea)."""
    fields: dict[str, str] = {}
    html = re.sub(r'<input[^>]*type="radio"[^>]*>', "", html)  # none is chosen on arrival
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[name] = str(value)
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        fields[name] = value
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = chosen[1] if chosen else re.findall(r'value="([^"]*)"', options)[0]
    fields.pop("carer_is_main_carer", None)
    return {k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
            .replace("&lt;", "<").replace("&gt;", ">") for k, v in fields.items()}  # fmt: skip


def test_writing_a_plan_through_the_pages_and_a_conflict(world: World) -> None:
    mine = world.practices[0]
    person = person_at(world, mine)
    alice = client_as(world, add_user(world, "nurse", (mine,), name="alice"))
    bob = client_as(world, add_user(world, "care_coordinator", (mine,), name="bob"))
    base = f"/people/{person}/care-plan"

    empty = alice.get(f"{base}/edit")
    assert empty.status_code == 200 and 'name="base_version" value="0"' in empty.text
    form = form_of(empty.text)
    form.update({"what_matters": HOSTILE, "goal-0-description": "Walk to the shop"})
    form.update({"action-0-title": "Falls check", "action-0-owner_name": "Sam"})
    form.update({"action-0-owner_org": "Community nursing"})
    form.update(date_fields("action-0-due_on", dt.date(2027, 1, 15)))
    saved = alice.post(f"{base}/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{base}?saved=1"

    view = alice.get(base)
    assert str(escape(HOSTILE)) in view.text and HOSTILE not in view.text
    assert 'data-version="1"' in view.text and "Walk to the shop" in view.text

    # Both open the form at version 1; Alice saves first, then Bob, who changed another field:
    # the two saves merge and both changes are kept.
    alice_form, bob_form = (
        form_of(alice.get(f"{base}/edit").text),
        form_of(bob.get(f"{base}/edit").text),
    )
    alice_form["what_matters"] = "Alice's words"
    assert alice.post(f"{base}/edit", data=alice_form, follow_redirects=False).status_code == 303
    bob_form["goal-0-target"] = "Twice a week, typed by Bob"
    merged = bob.post(f"{base}/edit", data=bob_form, follow_redirects=False)

    assert merged.status_code == 303
    assert merged.headers["location"] == f"{base}?saved=3&merged=1"
    assert 'id="merged"' in bob.get(merged.headers["location"]).text
    latest = plans.current_plan(world.sessions, person)
    assert latest is not None and latest.version == 3 and latest.saved_by == "bob"
    assert latest.content.goals[0].target == "Twice a week, typed by Bob"
    assert latest.content.what_matters == "Alice's words"
    diff = bob.get(f"{base}/diff?from=1&to=3").text
    assert "Goal 1 target set to “Twice a week, typed by Bob”" in diff
    versions = bob.get(f"{base}/versions").text
    assert re.findall(r"data-saved-by>(\w+)<", versions) == ["bob", "alice", "alice"]

    # Both change the same field: nothing is saved until Bob chooses, and what he typed stays.
    alice_form, bob_form = (
        form_of(alice.get(f"{base}/edit").text),
        form_of(bob.get(f"{base}/edit").text),
    )
    alice_form.update({"needs_housing": "Alice: stairlift fitted", "self_management": "Diary"})
    assert alice.post(f"{base}/edit", data=alice_form, follow_redirects=False).status_code == 303
    bob_form.update({"needs_housing": "Bob: damp in the bedroom", "crisis_escalation": "Call 111"})
    conflict = bob.post(f"{base}/edit", data=bob_form, follow_redirects=False)
    assert conflict.status_code == 409
    html = conflict.text
    assert "data-changed-by>alice<" in html and 'id="side-by-side"' in html
    assert 'data-conflict="needs.housing"' in html and html.count("data-conflict=") == 1
    assert "Bob: damp in the bedroom" in html and "Alice: stairlift fitted" in html
    assert 'name="base_version" value="3"' in html and 'name="theirs_version" value="4"' in html
    assert plans.current_plan(world.sessions, person).version == 4  # type: ignore[union-attr]

    unchosen = bob.post(f"{base}/edit", data=form_of(html), follow_redirects=False)
    assert unchosen.status_code == 409 and 'href="#choice-1-mine"' in unchosen.text
    assert plans.current_plan(world.sessions, person).version == 4  # type: ignore[union-attr]

    chosen = {**form_of(html), "resolve-needs.housing": "theirs"}
    assert bob.post(f"{base}/edit", data=chosen, follow_redirects=False).status_code == 303
    latest = plans.current_plan(world.sessions, person)
    assert latest is not None and latest.version == 5
    assert latest.content.needs.housing == "Alice: stairlift fitted"  # Bob's explicit choice
    assert latest.content.self_management == "Diary"  # Alice's other change kept
    assert latest.content.crisis_plan.escalation == "Call 111"  # and Bob's
    agree = bob.post(
        f"{base}/agree", data={"csrf_token": CSRF_TOKEN, "version": "5"}, follow_redirects=False
    )
    assert agree.status_code == 303
    printed = bob.get(f"{base}/print").text
    assert "My care plan" in printed and "I agreed it on" in printed
    assert "nhsuk-header" not in printed  # no navigation chrome
    views = {e.action for e in events(world) if e.action.startswith("view.care_plan")}
    assert views >= {
        "view.care_plan", "view.care_plan.edit", "view.care_plan.conflict",
        "view.care_plan.diff", "view.care_plan.versions", "view.care_plan.print",
    }  # fmt: skip


def test_bad_input_comes_back_with_every_problem_and_saves_nothing(world: World) -> None:
    mine = world.practices[0]
    person = person_at(world, mine)
    client = client_as(world, add_user(world, "gp", (mine,)))
    form = form_of(client.get(f"/people/{person}/care-plan/edit").text)
    form.update({"what_matters": "", "action-0-title": "Call"})
    form.update(
        {"review_due_on-day": "31", "review_due_on-month": "2", "review_due_on-year": "2027"}
    )
    response = client.post(f"/people/{person}/care-plan/edit", data=form)
    assert response.status_code == 400
    assert 'href="#what_matters"' in response.text and 'href="#review_due_on"' in response.text
    assert "The date of the next review of this plan must be a real date" in response.text
    assert "Enter the organisation for action 1" in response.text
    assert (
        'id="review_due_on-day" name="review_due_on-day" type="text" inputmode="numeric" value="31"'
        in response.text
    )
    assert 'href="#action-0-owner_name"' in response.text
    assert 'value="Call"' in response.text  # what was typed is kept
    assert plan_rows(world) == (0, 0)

    added = client.post(f"/people/{person}/care-plan/edit", data={**form, "add": "goals"})
    assert added.status_code == 200 and 'name="goal-1-description"' in added.text
    assert plan_rows(world) == (0, 0)


# --- demo plans ---------------------------------------------------------------------------------


def test_demo_plans_are_varied_valid_and_written_once(world: World) -> None:
    author = add_user(world, "care_coordinator", (world.practices[0],))
    people = [
        int(p["person_id"])
        for p in cf.run_list(world.store, LIST, within_practices={world.practices[0]}).people()[:6]
    ]
    assert seed_demo_plans(world.sessions, world.settings, people, author.user_id) == people
    latest = [plans.current_plan(world.sessions, p) for p in people]
    assert all(p is not None for p in latest)
    assert len({p.content.what_matters for p in latest if p}) == 5  # five stories, cycled
    assert [p.plan_status for p in latest if p] == ["agreed", "draft"] * 3
    assert [p.version for p in latest if p] == [2, 1] * 3
    assert all(a.care_action_id for p in latest if p for a in p.content.actions)
    assert seed_demo_plans(world.sessions, world.settings, people, author.user_id) == []


# --- parallel saves ------------------------------------------------------------------------------


def _run_threads(count: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_three_users_racing_on_different_fields_lose_no_update(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    start = plans.save_plan(world.sessions, gp, person, content(), base_version=0).content
    edits = {
        0: {"what_matters": "Racing: what matters"},
        1: {"self_management": "Racing: self-management"},
        2: {"needs": start.needs.model_copy(update={"housing": "Racing: housing"})},
    }
    results = _run_threads(
        3,
        lambda i: plans.save_plan(
            world.sessions, gp, person, start.model_copy(update=edits[i]), base_version=1
        ),
    )
    assert all(isinstance(r, plans.PlanVersion) for r in results), results
    latest = plans.current_plan(world.sessions, person)
    assert latest is not None and latest.version == 4 == plan_rows(world)[1]
    got = latest.content
    assert (got.what_matters, got.self_management, got.needs.housing) == (
        "Racing: what matters", "Racing: self-management", "Racing: housing",
    )  # fmt: skip


def test_three_users_racing_on_one_field_lose_nothing(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    plans.save_plan(world.sessions, gp, person, content(), base_version=0)
    results = _run_threads(
        3,
        lambda i: plans.save_plan(
            world.sessions, gp, person, content(f"Racer {i}"), base_version=1
        ),
    )
    winners = [r for r in results if isinstance(r, plans.PlanVersion)]
    losers = [r for r in results if isinstance(r, plans.PlanChangedMeanwhile)]
    assert len(winners) == 1 and len(losers) == 2, results
    for lost in losers:  # each refused save still holds what its user typed, and the conflict
        assert lost.mine is not None and lost.mine.what_matters.startswith("Racer ")
        assert [c.key for c in lost.conflicts] == ["what_matters"]
    assert plan_rows(world) == (1, 2)


def test_parallel_saves_from_one_base_never_both_succeed(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    threads = 6

    firsts = _run_threads(
        threads,
        lambda i: plans.save_plan(
            world.sessions, gp, person, content(f"first {i}"), base_version=0
        ),
    )
    assert sum(isinstance(r, plans.PlanVersion) for r in firsts) == 1
    assert all(isinstance(r, (plans.PlanVersion, plans.PlanChangedMeanwhile)) for r in firsts)
    assert plan_rows(world) == (1, 1)

    for base in (1, 2, 3):
        results = _run_threads(
            threads,
            lambda i, b=base: plans.save_plan(
                world.sessions, gp, person, content(f"v{b + 1} by {i}"), base_version=b
            ),
        )
        winners = [r for r in results if isinstance(r, plans.PlanVersion)]
        assert len(winners) == 1, results
        assert all(isinstance(r, plans.PlanChangedMeanwhile) for r in results if r not in winners)
        latest = plans.current_plan(world.sessions, person)
        assert latest is not None and latest.version == base + 1
        assert latest.content.what_matters == winners[0].content.what_matters
    assert plan_rows(world) == (1, 4)
    assert len(events(world, "care_plan.save")) == 4


def test_retrying_after_a_conflict_loses_no_one_s_change(world: World) -> None:
    gp = add_user(world, "gp", (world.practices[0],))
    person = person_at(world, world.practices[0])
    plans.save_plan(world.sessions, gp, person, content(goals=[]), base_version=0)
    threads, conflicts = 5, [0]
    lock = threading.Lock()

    def add_my_goal(i: int) -> int:
        while True:
            latest = plans.current_plan(world.sessions, person)
            assert latest is not None
            goal = plans.Goal(id=f"t{i}", description=f"Goal from thread {i}")
            edited = latest.content.model_copy(update={"goals": [*latest.content.goals, goal]})
            try:
                return plans.save_plan(
                    world.sessions, gp, person, edited, base_version=latest.version
                ).version
            except plans.PlanChangedMeanwhile:
                with lock:
                    conflicts[0] += 1

    results = _run_threads(threads, add_my_goal)
    assert all(isinstance(r, int) for r in results), results
    latest = plans.current_plan(world.sessions, person)
    assert latest is not None
    assert sorted(g.id for g in latest.content.goals) == [f"t{i}" for i in range(threads)]
    assert latest.version == threads + 1 == plan_rows(world)[1]
    assert sorted(results) == list(range(2, threads + 2))
    with world.sessions() as session:
        saves = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "care_plan.save")
        )
    assert saves == threads + 1
