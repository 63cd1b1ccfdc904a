"""The three-way merge of care plan documents (joinedup.care.plan_merge), case by case.

Each expectation is written out by hand from the three-way rule (one side changed: take it;
both changed alike: take it; both changed differently: a conflict), not computed by the code.
"""

from __future__ import annotations

from typing import Any

from joinedup.care.care_plan import blank_content
from joinedup.care.plan_merge import merge_plans


def doc(**changes: Any) -> dict[str, Any]:
    base = blank_content("At home")
    base["goals"] = [{"id": "g1", "description": "Walk", "measure": "", "target": "Weekly",
                      "target_date": None, "status": "active"}]  # fmt: skip
    base["key_contacts"] = [{"id": "c1", "name": "Sam", "role": "", "organisation": "",
                             "phone": "01632 960001"}]  # fmt: skip
    base.update(changes)
    return base


def goal(**changes: Any) -> dict[str, Any]:
    return {**doc()["goals"][0], **changes}


def test_one_sided_changes_are_taken_from_that_side() -> None:
    base = doc()
    mine = doc(what_matters="My dog", needs={**base["needs"], "housing": "Damp"})
    theirs = doc(self_management="Diary", goals=[goal(target="Daily")])
    result = merge_plans(base, mine, theirs)
    assert result.conflicts == []
    assert result.document["what_matters"] == "My dog"
    assert result.document["needs"]["housing"] == "Damp"
    assert result.document["self_management"] == "Diary"
    assert result.document["goals"] == [goal(target="Daily")]
    assert result.content().what_matters == "My dog"


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    result = merge_plans(doc(), doc(what_matters="Same"), doc(what_matters="Same"))
    assert result.conflicts == [] and result.document["what_matters"] == "Same"


def test_fields_of_one_row_merge_and_a_clash_inside_a_row_is_one_field() -> None:
    mine = doc(goals=[goal(target="Daily", measure="Steps")])
    theirs = doc(goals=[goal(target="Twice a week", status="achieved")])
    result = merge_plans(doc(), mine, theirs)
    assert [(c.key, c.label, c.mine, c.theirs) for c in result.unresolved] == [
        ("goals.g1.target", "Goal “Walk” target", "Daily", "Twice a week")
    ]
    row = result.document["goals"][0]
    assert (row["measure"], row["status"]) == ("Steps", "achieved")
    chosen = merge_plans(doc(), mine, theirs, {"goals.g1.target": "mine"})
    assert chosen.unresolved == [] and chosen.document["goals"][0]["target"] == "Daily"


def test_rows_added_on_both_sides_are_all_kept_in_order() -> None:
    mine = doc(goals=[goal(), goal(id="m1", description="Mine")])
    theirs = doc(goals=[goal(), goal(id="t1", description="Theirs")])
    result = merge_plans(doc(), mine, theirs)
    assert [g["id"] for g in result.document["goals"]] == ["g1", "t1", "m1"]


def test_removed_on_one_side_changed_on_the_other_is_a_choice() -> None:
    mine = doc(key_contacts=[])
    theirs = doc(key_contacts=[{**doc()["key_contacts"][0], "phone": "01632 960002"}])
    result = merge_plans(doc(), mine, theirs)
    [conflict] = result.unresolved
    assert (conflict.key, conflict.label, conflict.mine) == (
        "key_contacts.c1", "Key contact “Sam”", "(removed)",
    )  # fmt: skip
    assert "01632 960002" in conflict.theirs
    assert (
        merge_plans(doc(), mine, theirs, {"key_contacts.c1": "mine"}).document["key_contacts"] == []
    )
    kept = merge_plans(doc(), mine, theirs, {"key_contacts.c1": "theirs"})
    assert kept.document["key_contacts"][0]["phone"] == "01632 960002"


def test_removed_on_one_side_untouched_on_the_other_is_removed() -> None:
    result = merge_plans(doc(), doc(goals=[]), doc(what_matters="Theirs"))
    assert result.conflicts == [] and result.document["goals"] == []
    assert result.document["what_matters"] == "Theirs"


def test_a_carer_added_differently_on_both_sides_is_one_choice() -> None:
    ann = {"name": "Ann", "relationship": "", "phone": "", "is_main_carer": False}
    bob = {**ann, "name": "Bob"}
    result = merge_plans(doc(), doc(carer=ann), doc(carer=bob))
    assert [(c.key, c.label) for c in result.unresolved] == [("carer", "Carer")]
    base = doc(carer=ann)
    phoned, main = doc(carer={**ann, "phone": "1"}), doc(carer={**ann, "is_main_carer": True})
    both = merge_plans(base, phoned, main)
    assert both.conflicts == []
    assert both.document["carer"] == {**ann, "phone": "1", "is_main_carer": True}
