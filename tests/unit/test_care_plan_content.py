"""The care plan's content model (validation in plain words) and the diff between versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from joinedup.care.plan_content import (
    CarePlanContent,
    PlanContentError,
    diff_contents,
    parse_content,
)


def plan(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "what_matters": "Staying in my own home and seeing my grandchildren on Sundays",
        "goals": [
            {
                "id": "g1",
                "description": "Walk to the corner shop",
                "measure": "Walks without stopping",
                "target": "Twice a week",
                "target_date": "2027-03-01",
                "status": "active",
            },
            {
                "id": "g2",
                "description": "Fewer falls",
                "measure": "Falls a month",
                "target": "None",
                "target_date": None,
                "status": "proposed",
            },
        ],
        "needs": {"physical_health": "COPD, heart failure", "housing": "Stairs are hard"},
        "actions": [
            {
                "id": "a1",
                "title": "Falls assessment",
                "owner_name": "Sam Nurse",
                "owner_org": "Community nursing",
                "due_on": "2027-01-15",
                "status": "open",
                "care_action_id": None,
            }
        ],
        "key_contacts": [{"id": "c1", "name": "Dr Patel", "role": "GP", "phone": "0113 000 0000"}],
        "carer": {"name": "Jo", "relationship": "daughter", "phone": "", "is_main_carer": True},
        "crisis_plan": {
            "what_to_do": "Use the rescue pack",
            "who_to_call": "111",
            "escalation": "",
        },
        "self_management": "Breathing exercises",
        "review_due_on": "2027-06-01",
    }
    base.update(changes)
    return base


def test_a_whole_plan_round_trips_to_the_agreed_document_shape() -> None:
    content = parse_content(plan())
    document = content.document()
    assert document["goals"][0]["target_date"] == "2027-03-01"
    assert document["actions"][0]["due_on"] == "2027-01-15"
    assert set(document) == {
        "what_matters", "goals", "needs", "actions", "key_contacts", "carer", "crisis_plan",
        "ceilings_of_treatment", "preferred_place_of_care", "preferred_place_of_death",
        "medication_review_due_on", "self_management", "review_due_on",
    }  # fmt: skip
    assert set(document["needs"]) == {
        "physical_health", "mental_health", "social_care", "housing", "finances", "carers",
    }  # fmt: skip
    assert CarePlanContent.model_validate(document) == content
    assert document["ceilings_of_treatment"] is None  # not recorded unless the person chose to


def test_blank_optional_choices_are_not_recorded_and_text_is_trimmed() -> None:
    content = parse_content(plan(preferred_place_of_death="  ", what_matters="  my garden  "))
    assert content.preferred_place_of_death is None
    assert content.what_matters == "my garden"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"what_matters": "  "}, "what_matters", "Enter what matters to the person"),
        ({"review_due_on": "2027-02-30"}, "review_due_on", "must be a real date"),
        (
            {"review_due_on": "1890-01-01"},
            "review_due_on",
            "The date of the next review of this plan must be between 2000 and 2099",
        ),
        ({"self_management": "x" * 4001}, "self_management", "must be 4,000 characters or fewer"),
    ],
)
def test_a_bad_field_is_named_in_plain_words(
    changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(PlanContentError) as caught:
        parse_content(plan(**changes))
    ((where, message),) = caught.value.problems
    assert where == field
    assert words in message


def test_every_problem_in_rows_is_reported_with_its_row_and_form_field() -> None:
    goals = plan()["goals"]
    goals[1] = {**goals[1], "description": "", "target_date": "soon"}
    actions = [{**plan()["actions"][0], "owner_org": "", "due_on": None}]
    with pytest.raises(PlanContentError) as caught:
        parse_content(plan(goals=goals, actions=actions))
    problems = dict(caught.value.problems)
    assert problems["goal-1-description"] == "Enter the description for goal 2"
    assert problems["goal-1-target_date"] == "The target date for goal 2 must be a real date"
    assert problems["action-0-owner_org"] == "Enter the organisation for action 1"
    assert problems["action-0-due_on"] == "Enter the due date for action 1"
    assert len(problems) == 4


def test_duplicate_goal_ids_are_refused() -> None:
    goals = plan()["goals"]
    goals[1]["id"] = "g1"
    with pytest.raises(PlanContentError, match="two goals have the same id"):
        parse_content(plan(goals=goals))


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(PlanContentError):
        parse_content(plan(secret_field="x"))


# --- diff ---------------------------------------------------------------------------------------


def test_no_change_is_no_difference() -> None:
    assert diff_contents(parse_content(plan()), parse_content(plan())) == []


def test_the_diff_says_field_by_field_what_changed() -> None:
    old = parse_content(plan())
    data = plan(
        what_matters="Staying at home",
        ceilings_of_treatment="No intubation",
        review_due_on=None,
    )
    data["goals"][1]["target"] = "At most one"
    data["goals"][0]["status"] = "achieved"
    data["needs"]["housing"] = ""
    data["needs"]["finances"] = "Attendance allowance claim"
    data["actions"][0]["due_on"] = "2027-02-01"
    data["carer"]["is_main_carer"] = False
    data["crisis_plan"]["escalation"] = "Call the rapid response team"
    lines = diff_contents(old, parse_content(data))
    assert lines == [
        "What matters to the person changed from “Staying in my own home and seeing my "
        "grandchildren on Sundays” to “Staying at home”",
        "Goal 1 status changed from “active” to “achieved”",
        "Goal 2 target changed from “None” to “At most one”",
        "Needs: housing cleared (was “Stairs are hard”)",
        "Needs: finances set to “Attendance allowance claim”",
        "Action 1 due date changed from “15 January 2027” to “1 February 2027”",
        "Carer's main carer changed from “yes” to “no”",
        "Crisis plan: escalation set to “Call the rapid response team”",
        "Ceilings of treatment set to “No intubation”",
        "Next review of the plan cleared (was “1 June 2027”)",
    ]


def test_items_are_matched_by_id_not_position() -> None:
    old = parse_content(plan())
    data = plan()
    first, second = data["goals"]
    new_goal = {**first, "id": "g3", "description": "Sleep through the night"}
    data["goals"] = [second, new_goal]  # g1 removed, g2 moved up, g3 added
    data["key_contacts"] = []
    data["carer"] = None
    lines = diff_contents(old, parse_content(data))
    assert lines == [
        "Goal 2 added: “Sleep through the night”",
        "Goal “Walk to the corner shop” removed",
        "Key contact “Dr Patel” removed",
        "Carer “Jo” removed",
    ]


def test_dates_in_the_diff_are_written_the_nhs_way() -> None:
    old = parse_content(plan(medication_review_due_on=None))
    new = parse_content(plan(medication_review_due_on=dt.date(2027, 4, 9).isoformat()))
    assert diff_contents(old, new) == ["Medication review date set to “9 April 2027”"]
