"""What a holistic care plan holds: its content model, its validation, and the diff in words.

`CarePlanVersion.content` is one JSON document of the shape agreed between helpers (and read
by the FHIR export): what matters to the person in their own words; goals with measures;
needs across physical and mental health, social care, housing, finances and carers; actions
with owner, organisation and due date; key contacts and the carer; the urgent/crisis plan;
ceilings of treatment and preferred places of care and death (only where the person chose to
record them); the medication review date; self-management support; the next review date.

The sections follow the personalised care and support planning guidance (NHS England,
"Personalised care and support planning guidance: guidance for local health and care
systems", 2019) and the "what matters to me" approach of the Comprehensive Model of
Personalised Care (NHS England, 2019).

`parse_content` turns untrusted input into a `CarePlanContent` or raises `PlanContentError`
with every problem in plain words; `diff_contents` says field by field what changed between
two versions, matching goals, actions and contacts by their id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from joinedup.errors import UserError

SHORT = 200  # names, phone numbers, titles
MEDIUM = 1_000  # a goal, a measure, a target
LONG = 4_000  # free text in the person's words, a need, the crisis plan
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)

GOAL_STATES = ("proposed", "active", "achieved", "cancelled")
ACTION_STATES = ("open", "done", "cancelled")
NEED_DOMAINS: dict[str, str] = {
    "physical_health": "Physical health",
    "mental_health": "Mental health",
    "social_care": "Social care",
    "housing": "Housing",
    "finances": "Finances",
    "carers": "Carers",
}
GOAL_FIELDS = {
    "description": "description",
    "measure": "measure",
    "target": "target",
    "target_date": "target date",
    "status": "status",
}
ACTION_FIELDS = {
    "title": "title",
    "owner_name": "owner",
    "owner_org": "organisation",
    "due_on": "due date",
    "status": "status",
}
CONTACT_FIELDS = {
    "name": "name",
    "role": "role",
    "organisation": "organisation",
    "phone": "phone",
}
CARER_FIELDS = {
    "name": "name",
    "relationship": "relationship",
    "phone": "phone",
    "is_main_carer": "main carer",
}
CRISIS_FIELDS = {
    "what_to_do": "what to do",
    "who_to_call": "who to call",
    "escalation": "escalation",
}
#: The plan's single-value fields, as the pages and the diff name them.
SCALAR_FIELDS = {
    "what_matters": "What matters to the person",
    "ceilings_of_treatment": "Ceilings of treatment",
    "preferred_place_of_care": "Preferred place of care",
    "preferred_place_of_death": "Preferred place of death",
    "medication_review_due_on": "Medication review date",
    "self_management": "Self-management support",
    "review_due_on": "Next review of the plan",
}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _in_range(day: dt.date | None) -> dt.date | None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return day


class Goal(_Part):
    id: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=MEDIUM)
    measure: str = Field(default="", max_length=MEDIUM)
    target: str = Field(default="", max_length=MEDIUM)
    target_date: dt.date | None = None
    status: Literal["proposed", "active", "achieved", "cancelled"] = "active"

    _dates = field_validator("target_date")(_in_range)


class Needs(_Part):
    physical_health: str = Field(default="", max_length=LONG)
    mental_health: str = Field(default="", max_length=LONG)
    social_care: str = Field(default="", max_length=LONG)
    housing: str = Field(default="", max_length=LONG)
    finances: str = Field(default="", max_length=LONG)
    carers: str = Field(default="", max_length=LONG)


class PlanAction(_Part):
    id: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=MEDIUM)
    owner_name: str = Field(min_length=1, max_length=SHORT)
    owner_org: str = Field(min_length=1, max_length=SHORT)
    # The owner's joinedup account, when they have one: the action is then on their worklist.
    owner_user_id: int | None = None
    due_on: dt.date
    status: Literal["open", "done", "cancelled"] = "open"
    # The tracked action (care_actions.id) the save created for this plan action.
    care_action_id: int | None = None

    _dates = field_validator("due_on")(_in_range)


class KeyContact(_Part):
    name: str = Field(min_length=1, max_length=SHORT)
    role: str = Field(default="", max_length=SHORT)
    organisation: str = Field(default="", max_length=SHORT)
    phone: str = Field(default="", max_length=40)
    # Contacts are matched by id between versions; the brief's shape has none, so it is
    # optional and filled in by the save (older documents without one still parse).
    id: str = Field(default="", max_length=40)


class Carer(_Part):
    name: str = Field(min_length=1, max_length=SHORT)
    relationship: str = Field(default="", max_length=SHORT)
    phone: str = Field(default="", max_length=40)
    is_main_carer: bool = False


class CrisisPlan(_Part):
    what_to_do: str = Field(default="", max_length=LONG)
    who_to_call: str = Field(default="", max_length=LONG)
    escalation: str = Field(default="", max_length=LONG)


class CarePlanContent(_Part):
    """The whole plan, as one version holds it (see the module docstring)."""

    what_matters: str = Field(min_length=1, max_length=LONG)
    goals: list[Goal] = Field(default_factory=list, max_length=30)
    needs: Needs = Field(default_factory=Needs)
    actions: list[PlanAction] = Field(default_factory=list, max_length=50)
    key_contacts: list[KeyContact] = Field(default_factory=list, max_length=30)
    carer: Carer | None = None
    crisis_plan: CrisisPlan = Field(default_factory=CrisisPlan)
    ceilings_of_treatment: str | None = Field(default=None, max_length=LONG)
    preferred_place_of_care: str | None = Field(default=None, max_length=SHORT)
    preferred_place_of_death: str | None = Field(default=None, max_length=SHORT)
    medication_review_due_on: dt.date | None = None
    self_management: str = Field(default="", max_length=LONG)
    review_due_on: dt.date | None = None

    _dates = field_validator("medication_review_due_on", "review_due_on")(_in_range)

    @field_validator("ceilings_of_treatment", "preferred_place_of_care", "preferred_place_of_death")
    @classmethod
    def _blank_is_not_recorded(cls, value: str | None) -> str | None:
        # Recorded only where the person chose to: an empty answer is "not recorded".
        return value or None

    @model_validator(mode="after")
    def _ids_are_unique(self) -> CarePlanContent:
        for name, items in (("goals", self.goals), ("actions", self.actions)):
            ids = [item.id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"two {name} have the same id: reload the plan and try again")
        contact_ids = [c.id for c in self.key_contacts if c.id]
        if len(contact_ids) != len(set(contact_ids)):
            raise ValueError("two key contacts have the same id: reload the plan and try again")
        return self

    def document(self) -> dict[str, Any]:
        """The JSON document stored in `CarePlanVersion.content` (dates as YYYY-MM-DD)."""
        return self.model_dump(mode="json")


# --- validation in plain words ----------------------------------------------------------------


class PlanContentError(UserError, ValueError):
    """The plan cannot be saved as written; `problems` lists (form field id, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


_SECTION_WORDS = {"goals": "goal", "actions": "action", "key_contacts": "key contact"}
_ROW_PREFIX = {"goals": "goal", "actions": "action", "key_contacts": "contact"}
#: Each field as messages name it, after "Enter" (NHS service manual, "Error messages":
#: "Enter the organisation for action 1", "The next review date must be a real date").
_FIELD_WORDS: dict[str, str] = {
    **{f"needs.{k}": f"their {v.lower()} needs" for k, v in NEED_DOMAINS.items()},
    **{f"crisis_plan.{k}": f"{v} in the crisis plan" for k, v in CRISIS_FIELDS.items()},
    **{f"carer.{k}": f"the carer's {v}" for k, v in CARER_FIELDS.items()},
    "what_matters": "what matters to the person",
    "ceilings_of_treatment": "the ceilings of treatment",
    "preferred_place_of_care": "the preferred place of care",
    "preferred_place_of_death": "the preferred place of death",
    "medication_review_due_on": "the medication review date",
    "self_management": "the self-management support",
    "review_due_on": "the date of the next review of this plan",
}


def new_item_id() -> str:
    """A fresh id for a new goal, action or contact (short, random, stable across versions)."""
    return uuid.uuid4().hex[:10]


def field_id(location: Sequence[int | str]) -> str:
    """The form field id of a pydantic error location (goals.1.target -> goal-1-target)."""
    parts = [str(p) for p in location]
    if parts and parts[0] in _ROW_PREFIX and len(parts) >= 3:
        return f"{_ROW_PREFIX[parts[0]]}-{parts[1]}-{parts[2]}"
    if parts and parts[0] in ("needs", "crisis_plan", "carer") and len(parts) >= 2:
        prefix = {"needs": "needs", "crisis_plan": "crisis", "carer": "carer"}[parts[0]]
        return f"{prefix}_{parts[1]}"
    return parts[0] if parts else "what_matters"


def _field_words(location: Sequence[int | str]) -> str:
    """The field as a message names it, lower case: "the organisation for action 1"."""
    parts = [str(p) for p in location]
    if parts and parts[0] in _SECTION_WORDS and len(parts) >= 2 and parts[1].isdigit():
        row = f"{_SECTION_WORDS[parts[0]]} {int(parts[1]) + 1}"
        if len(parts) < 3:
            return row
        names = {"goals": GOAL_FIELDS, "actions": ACTION_FIELDS}.get(parts[0], CONTACT_FIELDS)
        return f"the {names.get(parts[2], parts[2].replace('_', ' '))} for {row}"
    key = ".".join(parts[:2])
    return _FIELD_WORDS.get(key) or _FIELD_WORDS.get(parts[0] if parts else "", "the plan")


def _message(error: Mapping[str, Any], what: str) -> str:
    """One problem in the service manual's pattern: "Enter …", "… must be a real date"."""
    kind, ctx = error["type"], error.get("ctx") or {}
    subject = what[:1].upper() + what[1:]
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return f"Enter {what}"
    if error.get("input") in (None, "") and kind != "value_error":
        return f"Enter {what}"
    if kind == "string_too_long":
        return f"{subject} must be {ctx.get('max_length'):,} characters or fewer"
    if kind == "too_long":
        return f"{subject} must have {ctx.get('max_length')} rows or fewer"
    if kind.startswith("date"):
        return f"{subject} must be a real date"
    if kind == "literal_error":
        return f"Choose {what}: " + str(ctx.get("expected", "")).replace("'", "")
    if kind == "value_error":
        return f"{subject} {ctx.get('error', error['msg'])}"
    return f"{subject}: {str(error['msg']).lower()}"


def _problems(exc: ValidationError) -> Iterator[tuple[str, str]]:
    for error in exc.errors():
        location = error["loc"]
        if not location:  # a rule over the whole plan
            ctx = error.get("ctx") or {}
            yield "what_matters", f"This plan cannot be saved: {ctx.get('error', error['msg'])}"
            continue
        yield field_id(location), _message(error, _field_words(location))


def parse_content(data: Mapping[str, Any]) -> CarePlanContent:
    """`data` as a plan, or `PlanContentError` naming every problem in plain words."""
    try:
        return CarePlanContent.model_validate(dict(data))
    except ValidationError as exc:
        raise PlanContentError(list(_problems(exc))) from None


# --- the difference between two versions, in words ----------------------------------------


def shown(value: object) -> str:
    """A field's value as the pages and the diff show it ("" for blank)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def _change(what: str, old: object, new: object) -> str | None:
    before, after = shown(old), shown(new)
    if before == after:
        return None
    if not before:
        return f"{what} set to “{after}”"
    if not after:
        return f"{what} cleared (was “{before}”)"
    return f"{what} changed from “{before}” to “{after}”"


def _field_changes(
    what: str, old: BaseModel, new: BaseModel, names: Mapping[str, str]
) -> list[str]:
    found = (
        _change(f"{what} {label}", getattr(old, n), getattr(new, n)) for n, label in names.items()
    )
    return [line for line in found if line]


def _item_changes(
    word: str,
    old: Sequence[Any],
    new: Sequence[Any],
    names: Mapping[str, str],
    title: str,
) -> list[str]:
    """Added, removed and changed items of a list, matched by id (position when id-less)."""
    key = lambda i, item: item.id or f"#{i}"  # noqa: E731 - a tiny local key function
    before = {key(i, item): item for i, item in enumerate(old)}
    lines: list[str] = []
    for number, item in enumerate(new, start=1):
        earlier = before.pop(key(number - 1, item), None)
        if earlier is None:
            lines.append(f"{word} {number} added: “{getattr(item, title)}”")
        else:
            lines.extend(_field_changes(f"{word} {number}", earlier, item, names))
    lines.extend(f"{word} “{getattr(item, title)}” removed" for item in before.values())
    return lines


def diff_contents(old: CarePlanContent, new: CarePlanContent) -> list[str]:
    """What changed from `old` to `new`, one plain-English line per field, in plan order."""
    lines: list[str] = []

    def scalar(name: str) -> None:
        line = _change(SCALAR_FIELDS[name], getattr(old, name), getattr(new, name))
        if line:
            lines.append(line)

    scalar("what_matters")
    lines += _item_changes("Goal", old.goals, new.goals, GOAL_FIELDS, "description")
    for domain, label in NEED_DOMAINS.items():
        line = _change(
            f"Needs: {label.lower()}", getattr(old.needs, domain), getattr(new.needs, domain)
        )
        if line:
            lines.append(line)
    lines += _item_changes("Action", old.actions, new.actions, ACTION_FIELDS, "title")
    lines += _item_changes(
        "Key contact", old.key_contacts, new.key_contacts, CONTACT_FIELDS, "name"
    )
    if old.carer is None and new.carer is not None:
        lines.append(f"Carer added: “{new.carer.name}”")
    elif old.carer is not None and new.carer is None:
        lines.append(f"Carer “{old.carer.name}” removed")
    elif old.carer is not None and new.carer is not None:
        lines += _field_changes("Carer's", old.carer, new.carer, CARER_FIELDS)
    lines += _field_changes("Crisis plan:", old.crisis_plan, new.crisis_plan, CRISIS_FIELDS)
    for name in (
        "ceilings_of_treatment",
        "preferred_place_of_care",
        "preferred_place_of_death",
        "medication_review_due_on",
        "self_management",
        "review_due_on",
    ):
        scalar(name)
    return lines
