"""Three-way merge of care plan versions, so a stale save loses no one's change.

A save that started from version *base* while someone else saved *theirs* is merged field by
field against the base the user started from (the classic three-way rule, as in
``diff3``/``git merge``): a field changed by one side only takes that side's value; a field
both sides changed to different values is a `FieldConflict` that the user must resolve
("keep mine" or "keep theirs"); nothing is saved over the other's change without that choice.

Repeatable rows (goals, actions, key contacts) are matched by their item id, so a row added on
either side is kept, a row removed on one side and untouched on the other is removed, and a
row removed on one side but changed on the other is a conflict (keep the change or remove).
The carer is merged field by field while both sides have one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from joinedup.care.plan_content import (
    ACTION_FIELDS,
    CARER_FIELDS,
    CONTACT_FIELDS,
    CRISIS_FIELDS,
    GOAL_FIELDS,
    NEED_DOMAINS,
    SCALAR_FIELDS,
    CarePlanContent,
    parse_content,
    shown,
)

Choice = Literal["mine", "theirs"]
#: The repeatable sections, matched by item id, with the field that names a row.
ROW_SECTIONS = {"goals": "description", "actions": "title", "key_contacts": "name"}
_ROW_WORDS = {"goals": "Goal", "actions": "Action", "key_contacts": "Key contact"}
_ROW_FIELDS = {"goals": GOAL_FIELDS, "actions": ACTION_FIELDS, "key_contacts": CONTACT_FIELDS}


class _Missing:
    """A row or value one side does not have (removed, or never added)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldConflict:
    """One field (or row) both sides changed differently: the user chooses which to keep."""

    key: str  # the path joined by dots, e.g. "needs.housing" or "goals.g1.target"
    label: str  # what the pages call it
    mine: str  # the value shown in words ("" blank, "(removed)" for a removed row)
    theirs: str


@dataclass
class MergeResult:
    """The merged plan document, conflicts resolved by `resolutions` or not yet resolved."""

    document: dict[str, Any]
    conflicts: list[FieldConflict] = field(default_factory=list)
    unresolved: list[FieldConflict] = field(default_factory=list)

    def content(self) -> CarePlanContent:
        return parse_content(self.document)


def merge_plans(
    base: Mapping[str, Any],
    mine: Mapping[str, Any],
    theirs: Mapping[str, Any],
    resolutions: Mapping[str, Choice] | None = None,
) -> MergeResult:
    """Merge `mine` and `theirs` (plan documents) against `base`, the version both started from.

    `resolutions` maps a conflict's key to the side the user chose; a conflict it does not
    cover stays unresolved (its value is theirs in `document`, which must then not be saved).
    """
    chosen = resolutions or {}
    conflicts: list[FieldConflict] = []
    trees = [_keyed(dict(doc)) for doc in (base, mine, theirs)]
    for side in trees[1:]:
        _keep_tracking_ids(trees[0], side)
    merged = _merge(trees[0], trees[1], trees[2], (), conflicts, trees)
    for conflict in conflicts:
        if chosen.get(conflict.key) == "mine":
            _put(merged, conflict.key.split("."), _get(trees[1], conflict.key.split(".")))
    unresolved = [c for c in conflicts if chosen.get(c.key) not in ("mine", "theirs")]
    return MergeResult(_document(merged, trees[1], trees[2]), conflicts, unresolved)


# --- rows keyed by id, and back -------------------------------------------------------------


def _row_key(index: int, row: Mapping[str, Any]) -> str:
    return str(row.get("id") or f"row{index}")


def _keyed(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each repeatable section as a mapping of item id to row."""
    keyed = dict(document)
    for section in ROW_SECTIONS:
        rows = document.get(section) or []
        keyed[section] = {_row_key(i, dict(r)): dict(r) for i, r in enumerate(rows)}
    return keyed


def _keep_tracking_ids(base: dict[str, Any], side: dict[str, Any]) -> None:
    """A plan action keeps the tracked action the base saved for it when a side omits it.

    The tracked action's id is the store's, not something either user changed, so leaving it
    out is no change (and must not be a conflict).
    """
    for key, row in side["actions"].items():
        earlier = base["actions"].get(key)
        if earlier and row.get("care_action_id") is None:
            row["care_action_id"] = earlier.get("care_action_id")


def _document(
    merged: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> dict[str, Any]:
    """The merged tree as a plan document: rows in their order, then my new ones in mine."""
    document = dict(merged)
    for section in ROW_SECTIONS:
        rows = merged[section]
        order = [*theirs[section], *(k for k in mine[section] if k not in theirs[section])]
        document[section] = [rows[k] for k in order if k in rows]
    return document


# --- the three-way rule ----------------------------------------------------------------------


def _merge(
    base: Any,
    mine: Any,
    theirs: Any,
    path: tuple[str, ...],
    conflicts: list[FieldConflict],
    trees: list[dict[str, Any]],
) -> Any:
    if mine == theirs or theirs == base:
        return mine
    if mine == base:
        return theirs
    if all(isinstance(v, dict) for v in (mine, theirs)) and isinstance(base, dict | _Missing):
        before = base if isinstance(base, dict) else {}
        merged: dict[str, Any] = {}
        for key in [*theirs, *(k for k in mine if k not in theirs)]:
            value = _merge(
                before.get(key, MISSING),
                mine.get(key, MISSING),
                theirs.get(key, MISSING),
                (*path, key),
                conflicts,
                trees,
            )
            if value is not MISSING:
                merged[key] = value
        return merged
    conflicts.append(_conflict(path, mine, theirs, trees))
    return theirs


def _get(tree: Mapping[str, Any], parts: list[str]) -> Any:
    node: Any = tree
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def _put(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is MISSING:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


# --- conflicts in words ----------------------------------------------------------------------


def _conflict(
    path: tuple[str, ...], mine: Any, theirs: Any, trees: list[dict[str, Any]]
) -> FieldConflict:
    return FieldConflict(".".join(path), _label(path, trees), _words(mine), _words(theirs))


def _words(value: Any) -> str:
    if value is MISSING:
        return "(removed)"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {shown(v)}" for k, v in value.items() if shown(v))
    return shown(value)


def _label(path: tuple[str, ...], trees: list[dict[str, Any]]) -> str:
    head = path[0]
    if head in ROW_SECTIONS and len(path) >= 2:
        rows = (t[head][path[1]] for t in reversed(trees) if path[1] in t.get(head, {}))
        row: Mapping[str, Any] = next(rows, {})
        words = f"{_ROW_WORDS[head]} “{row.get(ROW_SECTIONS[head], '')}”"
        if len(path) >= 3:
            words += " " + _ROW_FIELDS[head].get(path[2], path[2].replace("_", " "))
        return words
    if head == "needs" and len(path) >= 2:
        return f"Needs: {NEED_DOMAINS.get(path[1], path[1]).lower()}"
    if head == "crisis_plan" and len(path) >= 2:
        return f"Crisis plan: {CRISIS_FIELDS.get(path[1], path[1])}"
    if head == "carer":
        return f"Carer's {CARER_FIELDS.get(path[1], path[1])}" if len(path) >= 2 else "Carer"
    return SCALAR_FIELDS.get(head, head.replace("_", " "))
