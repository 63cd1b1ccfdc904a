"""The holistic care plan: read, save a new version, agree, compare, and who may see it.

One plan per person (`CarePlan`, unique `person_id`); every save is a new immutable
`CarePlanVersion` holding the whole plan (`CarePlanContent`, defined with its validation and
diff in `joinedup.care.plan_content` and re-exported here).

**Optimistic concurrency.** A save names the version it started from (`base_version`; 0 for
a person with no plan yet). The version is bumped by one conditional statement,
``UPDATE care_plans SET version = n + 1 … WHERE id = ? AND version = n``: on PostgreSQL a
parallel save from the same base waits on the row lock and then matches no row, so exactly
one save per base wins and no update is lost. A first save inserts the plan; a parallel first
save hits the unique `person_id` and is answered the same way. The loser gets
`PlanChangedMeanwhile` (who saved, when, the version they started from and the one now
saved) and nothing of theirs is written.

**Actions.** The plan's actions are tracked actions too (`CareAction`, source "care_plan"):
the save inserts new ones and updates changed ones in the same transaction, so the plan and
its actions commit together. An action removed from the plan is cancelled if still open; a
done action is never undone or deleted (an action completed from a worklist stays done).

**Sharing.** `plan_access` decides who sees the plan: people with a legitimate relationship
at the person's own practice always; anyone else with a legitimate relationship (a care-team
social worker, a neighbourhood team) only while the person's consent ``share_care_plan`` is
given; break-glass shows the plan read-only, because it exists for emergencies where the
crisis plan and ceilings of treatment matter (vital interests), and is reviewed afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import CareAction, CarePlan, CarePlanVersion
from joinedup.care.plan_content import (
    NEED_DOMAINS,
    CarePlanContent,
    Goal,
    KeyContact,
    PlanAction,
    PlanContentError,
    diff_contents,
    new_item_id,
    parse_content,
)
from joinedup.care.plan_merge import Choice, FieldConflict, MergeResult, merge_plans
from joinedup.carestore.db import reading
from joinedup.carestore.uow import unit_of_work
from joinedup.dates import uk_datetime
from joinedup.errors import UserError
from joinedup.governance.consent import ConsentRecord, current_consent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.relationships import Access, person_access
from joinedup.governance.roles import Principal

__all__ = [
    "CarePlanContent",
    "Choice",
    "FieldConflict",
    "Goal",
    "KeyContact",
    "PlanAccess",
    "PlanAction",
    "PlanChangedMeanwhile",
    "PlanContentError",
    "PlanError",
    "PlanVersion",
    "agree_plan",
    "current_plan",
    "diff_contents",
    "diff_versions",
    "live_action_states",
    "parse_content",
    "plan_access",
    "plan_history",
    "plan_version",
    "save_plan",
]

PURPOSE = "direct care: the person's care plan"
NOTE_MAX = 1_000
AGREED_WITH_MAX = 500
REMOVED_OUTCOME = "Removed from the care plan"
DONE_OUTCOME = "Marked done in the care plan"
#: Merged saves tried in a row before asking the user to try again (a race of many writers).
MERGE_ATTEMPTS = 5


class PlanError(UserError, ValueError):
    """The plan cannot be changed as asked (the message says why)."""


class PlanNotAllowed(UserError, PermissionError):
    """The user may not change this person's plan."""


@dataclass(frozen=True)
class PlanVersion:
    """One saved version of a person's plan, with who saved and who agreed it."""

    plan_id: int
    person_id: int
    version: int
    latest_version: int  # the plan's current version number
    plan_status: str  # "draft" | "agreed", of the plan as a whole
    content: CarePlanContent
    saved_at: dt.datetime
    saved_by: str  # display name
    change_note: str | None
    agreed_by_person: bool
    agreed_at: dt.datetime | None
    agreement_recorded_by: str | None  # display name
    agreed_with: str | None

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version


class PlanChangedMeanwhile(PlanError):
    """Someone saved the plan after the version this save started from: nothing was saved.

    `theirs` is the version now saved (who, when, what); `base` the version this save
    started from (None for a first save); `mine` the content that was not saved.
    """

    def __init__(self, theirs: PlanVersion, base: PlanVersion | None, mine: CarePlanContent | None):
        self.theirs, self.base, self.mine = theirs, base, mine
        # The three-way merge of mine and theirs, when a save was refused (not an agreement).
        self.merge: MergeResult | None = None
        when = _moment_words(theirs.saved_at)
        super().__init__(
            f"the plan was changed by {theirs.saved_by} at {when} (version {theirs.version}): "
            "review their change before saving yours"
        )

    @property
    def their_changes(self) -> list[str]:
        """What they changed, from the version this save started from, in words."""
        if self.base is None:
            return ["They wrote the first version of the plan."]
        return diff_contents(self.base.content, self.theirs.content)

    @property
    def conflicts(self) -> list[FieldConflict]:
        """The fields both changed differently, each waiting for the user's choice."""
        return self.merge.unresolved if self.merge else []


def _moment_words(moment: dt.datetime) -> str:
    return f"{uk_datetime(moment)} (UK time)"


# --- reading ----------------------------------------------------------------------------------


def _names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def _versions(
    session: Session, person_id: int, version: int | None = None, *, latest_only: bool = False
) -> list[PlanVersion]:
    plan = session.scalar(select(CarePlan).where(CarePlan.person_id == person_id))
    if plan is None:
        return []
    query = select(CarePlanVersion).where(CarePlanVersion.plan_id == plan.id)
    if latest_only:
        query = query.where(CarePlanVersion.version == plan.version)
    elif version is not None:
        query = query.where(CarePlanVersion.version == version)
    rows = list(session.scalars(query.order_by(CarePlanVersion.version.desc())))
    names = _names(session, [u for r in rows for u in (r.saved_by, r.agreement_recorded_by)])
    return [
        PlanVersion(
            plan_id=plan.id,
            person_id=person_id,
            version=row.version,
            latest_version=plan.version,
            plan_status=plan.status,
            content=CarePlanContent.model_validate(row.content),
            saved_at=row.saved_at,
            saved_by=names.get(row.saved_by, f"user {row.saved_by}"),
            change_note=row.change_note,
            agreed_by_person=row.agreed_by_person,
            agreed_at=row.agreed_at,
            agreement_recorded_by=(
                None
                if row.agreement_recorded_by is None
                else names.get(row.agreement_recorded_by, f"user {row.agreement_recorded_by}")
            ),
            agreed_with=row.agreed_with,
        )
        for row in rows
    ]


def current_plan(sessions: sessionmaker[Session], person_id: int) -> PlanVersion | None:
    """The latest version of `person_id`'s plan, or None if they have no plan."""
    with sessions() as session:
        found = _versions(session, person_id, latest_only=True)
    return found[0] if found else None


def plan_version(
    sessions: sessionmaker[Session], person_id: int, version: int
) -> PlanVersion | None:
    """Version `version` of `person_id`'s plan, or None if there is no such version."""
    with sessions() as session:
        found = _versions(session, person_id, version)
    return found[0] if found else None


def plan_history(sessions: sessionmaker[Session], person_id: int) -> list[PlanVersion]:
    """Every version of `person_id`'s plan, newest first (empty if they have no plan)."""
    with sessions() as session:
        return _versions(session, person_id)


def diff_versions(
    sessions: sessionmaker[Session], person_id: int, old: int, new: int
) -> tuple[PlanVersion, PlanVersion, list[str]]:
    """Versions `old` and `new` of the plan and what changed between them, in words."""
    with sessions() as session:
        before = _versions(session, person_id, old)
        after = _versions(session, person_id, new)
    if not before or not after:
        missing = old if not before else new
        raise PlanError(f"this plan has no version {missing}")
    return before[0], after[0], diff_contents(before[0].content, after[0].content)


@dataclass(frozen=True)
class ActionState:
    """A plan action's tracked action as it stands now (it may be completed elsewhere)."""

    status: str
    completed_at: dt.datetime | None
    outcome: str | None


def live_action_states(sessions: sessionmaker[Session], plan_id: int) -> dict[int, ActionState]:
    """The tracked actions of plan `plan_id` by id, as they stand now."""
    with sessions() as session:
        rows = session.scalars(select(CareAction).where(CareAction.care_plan_id == plan_id))
        return {r.id: ActionState(r.status, r.completed_at, r.outcome) for r in rows}


def with_live_actions(plan: PlanVersion, states: dict[int, ActionState]) -> CarePlanContent:
    """The plan's content with each action's status as its tracked action has it now."""
    actions = [
        a.model_copy(update={"status": states[a.care_action_id].status})
        if a.care_action_id in states
        else a
        for a in plan.content.actions
    ]
    return plan.content.model_copy(update={"actions": actions})


# --- who may see and change it --------------------------------------------------------------

Refusal = Literal["no_relationship", "no_consent"]


@dataclass(frozen=True)
class PlanAccess:
    """Whether a user may see and change a person's plan, and why (or why not)."""

    can_view: bool
    can_edit: bool
    basis: str | None  # "own_practice" | "consent" | "break_glass"
    refusal: Refusal | None = None
    consent_decision: str | None = None  # the decision in force, when it was asked


def _works_at(sessions: sessionmaker[Session], user_id: int, practice_code: str | None) -> bool:
    if not practice_code:
        return False
    with reading(sessions)() as session:
        found = session.scalar(
            select(UserOrganisation.org_code).where(
                UserOrganisation.user_id == user_id, UserOrganisation.org_code == practice_code
            )
        )
    return found is not None


def plan_access(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    practice_code: str | None,
) -> PlanAccess:
    """May `principal` see (and change) `person_id`'s plan? (The sharing rule: module doc.)"""
    access = person_access(sessions, principal, person_id, practice_code)
    return plan_access_given(
        sessions, principal, access, practice_code, lambda: current_consent(sessions, person_id)
    )


def plan_access_given(
    sessions: sessionmaker[Session],
    principal: Principal,
    access: Access,
    practice_code: str | None,
    consent_in_force: Callable[[], ConsentRecord | None],
) -> PlanAccess:
    """`plan_access` for a page that has already found, in this request, the legitimate
    relationship (`access`, from `person_access`) and can give the consent in force: the same
    rule without reading them again (issue 14). `consent_in_force` is called only when the
    rule needs it."""
    if not access.allowed:
        return PlanAccess(False, False, None, "no_relationship")
    writer = principal.can("care.write")
    if access.basis == "organisation" and _works_at(sessions, principal.user_id, practice_code):
        return PlanAccess(True, writer, "own_practice")
    consent = consent_in_force()
    decision = consent.decision if consent else None
    if decision == "given":
        return PlanAccess(True, writer, "consent", consent_decision=decision)
    if access.basis == "break_glass":
        return PlanAccess(True, False, "break_glass", consent_decision=decision)
    return PlanAccess(False, False, None, "no_consent", consent_decision=decision)


# --- saving -----------------------------------------------------------------------------------


class _Conflict(Exception):
    """Raised inside the save's transaction to roll it back; turned into PlanChangedMeanwhile."""


def _check_writer(principal: Principal) -> None:
    if not principal.can("care.write"):
        raise PlanNotAllowed(f"the {principal.role_name} role may not change care plans")


def _with_ids(content: CarePlanContent) -> CarePlanContent:
    """Give every key contact an id (goals and actions always have one) to match it by."""
    contacts = [
        c if c.id else c.model_copy(update={"id": new_item_id()}) for c in content.key_contacts
    ]
    return content.model_copy(update={"key_contacts": contacts})


def _text(value: str | None, limit: int, what: str) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > limit:
        raise PlanError(f"the {what} is too long: at most {limit:,} characters")
    return text


def save_plan(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    content: CarePlanContent,
    *,
    base_version: int,
    change_note: str | None = None,
    resolutions: Mapping[str, Choice] | None = None,
    resolved_against: int | None = None,
) -> PlanVersion:
    """Save `content` as the next version of `person_id`'s plan, started from `base_version`.

    `base_version` is the version the user started editing (0: the person had no plan). If
    someone saved since, their change and this one are merged against that base
    (`joinedup.care.plan_merge`): fields changed by one side only are taken from that side and
    the merge is saved. Fields both changed need the user's choice: `resolutions` (conflict key
    to "mine"/"theirs"), made while looking at version `resolved_against`; without a choice for
    each (or if the plan moved on again since) raises `PlanChangedMeanwhile` with the
    conflicts and saves nothing. The caller has checked the user may edit this person's plan
    (`plan_access`).
    """
    _check_writer(principal)
    note = _text(change_note, NOTE_MAX, "change note")
    mine = _with_ids(content)
    attempt, against, merged_with = mine, base_version, None
    for _ in range(MERGE_ATTEMPTS):
        try:
            saved = _save_once(
                sessions, principal, person_id, attempt, against, note, base_version, merged_with
            )
        except _Conflict:
            changed = _changed_meanwhile(sessions, person_id, base_version, mine)
            chosen = resolutions if resolved_against == changed.theirs.version else None
            base_doc = changed.base.content.document() if changed.base else blank_content()
            merge = merge_plans(
                base_doc, mine.document(), changed.theirs.content.document(), chosen
            )
            if merge.unresolved:
                changed.merge = merge
                raise changed from None
            attempt, against, merged_with = merge.content(), changed.theirs.version, changed.theirs
            continue
        result = plan_version(sessions, person_id, saved)
        assert result is not None  # just committed
        return result
    raise PlanError("several people are changing this plan at once: reload the page and try again")


def _save_once(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    content: CarePlanContent,
    against: int,
    note: str | None,
    started_from: int,
    merged_with: PlanVersion | None,
) -> int:
    """One attempt to save `content` on top of version `against`; raises `_Conflict` if stale."""
    detail: dict[str, Any] = {"base_version": started_from}
    if merged_with is not None:
        detail["merged_with_version"] = merged_with.version
    try:
        with unit_of_work(
            sessions,
            actor=principal.actor,
            actor_role=principal.role,
            action="care_plan.save",
            entity_type="care_plan",
            person_id=person_id,
            purpose=PURPOSE,
            detail=detail,
        ) as uow:
            plan = _bump_version(uow.session, principal, person_id, against, content, uow.now)
            stored = _sync_actions(uow.session, principal, plan, content, uow.now)
            uow.session.add(
                CarePlanVersion(
                    plan_id=plan.id,
                    version=plan.version,
                    content=stored.document(),
                    saved_at=uow.now,
                    saved_by=principal.user_id,
                    change_note=note,
                    agreed_by_person=False,
                )
            )
            uow.session.flush()
            uow.audit.entity_id = str(plan.id)
            uow.audit.detail.update(
                version=plan.version,
                goals=len(stored.goals),
                actions=len(stored.actions),
                has_note=note is not None,
            )
            return plan.version
    except IntegrityError:
        # Only a parallel first save can break a constraint here (the unique person_id);
        # anything else is a bug and must not pass for a conflict.
        if against > 0 or current_plan(sessions, person_id) is None:
            raise
        raise _Conflict from None


def _bump_version(
    session: Session,
    principal: Principal,
    person_id: int,
    base_version: int,
    content: CarePlanContent,
    now: dt.datetime,
) -> CarePlan:
    """The plan row at its new version: inserted for a first save, else bumped atomically."""
    if base_version <= 0:
        if session.scalar(select(CarePlan.id).where(CarePlan.person_id == person_id)):
            raise _Conflict
        plan = CarePlan(
            person_id=person_id,
            version=1,
            status="draft",
            review_due_on=content.review_due_on,
            created_at=now,
            updated_at=now,
            updated_by=principal.user_id,
        )
        session.add(plan)
        session.flush()  # a parallel first save fails here on the unique person_id
        return plan
    bumped = session.execute(
        update(CarePlan)
        .where(CarePlan.person_id == person_id, CarePlan.version == base_version)
        .values(
            version=base_version + 1,
            status="draft",
            review_due_on=content.review_due_on,
            updated_at=now,
            updated_by=principal.user_id,
        )
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise _Conflict
    bumped_plan = session.scalar(select(CarePlan).where(CarePlan.person_id == person_id))
    assert bumped_plan is not None
    session.refresh(bumped_plan)
    return bumped_plan


def _changed_meanwhile(
    sessions: sessionmaker[Session], person_id: int, base_version: int, mine: CarePlanContent
) -> PlanChangedMeanwhile:
    theirs = current_plan(sessions, person_id)
    if theirs is None:  # the base named a plan that does not exist at all
        raise PlanError("this person has no care plan yet: reload the page and start one")
    base = plan_version(sessions, person_id, base_version) if base_version > 0 else None
    if base_version > theirs.version:
        raise PlanError(f"this plan has no version {base_version}: reload the page")
    return PlanChangedMeanwhile(theirs, base, mine)


def _sync_actions(
    session: Session,
    principal: Principal,
    plan: CarePlan,
    content: CarePlanContent,
    now: dt.datetime,
) -> CarePlanContent:
    """Keep the plan's tracked actions in step with its actions; the content as stored."""
    existing = {
        row.id: row
        for row in session.scalars(select(CareAction).where(CareAction.care_plan_id == plan.id))
    }
    kept: list[PlanAction] = []
    for action in content.actions:
        _check_owner(session, action)
        row = existing.pop(action.care_action_id, None) if action.care_action_id else None
        if action.care_action_id and row is None:
            raise PlanError(
                f"action “{action.title}” belongs to no action of this plan: reload the page"
            )
        if row is None:
            row = _new_action(principal, plan, action, now)
            session.add(row)
            session.flush()
        else:
            _update_action(row, principal, action, now)
        kept.append(action.model_copy(update={"care_action_id": row.id, "status": row.status}))
    for row in existing.values():  # removed from the plan
        if row.status == "open":
            _set_status(row, principal, "cancelled", REMOVED_OUTCOME, now)
    return content.model_copy(update={"actions": kept})


def _check_owner(session: Session, action: PlanAction) -> None:
    if action.owner_user_id is None:
        return
    owner = session.get(User, action.owner_user_id)
    if owner is None or not owner.active:
        raise PlanError(f"action “{action.title}”: its owner has no active joinedup account")


def _new_action(
    principal: Principal, plan: CarePlan, action: PlanAction, now: dt.datetime
) -> CareAction:
    row = CareAction(
        person_id=plan.person_id,
        title=action.title,
        source="care_plan",
        care_plan_id=plan.id,
        owner_user_id=action.owner_user_id,
        owner_name=action.owner_name,
        owner_org=action.owner_org,
        due_on=action.due_on,
        status="open",
        created_at=now,
        created_by=principal.user_id,
        version=1,
    )
    if action.status != "open":
        _set_status(row, principal, action.status, DONE_OUTCOME, now, bump=False)
    return row


def _update_action(
    row: CareAction, principal: Principal, action: PlanAction, now: dt.datetime
) -> None:
    changed = False
    for name in ("title", "owner_name", "owner_org", "owner_user_id", "due_on"):
        if getattr(row, name) != getattr(action, name):
            setattr(row, name, getattr(action, name))
            changed = True
    # A done action stays done: it may have been completed from a worklist meanwhile.
    if row.status != "done" and action.status != row.status:
        outcome = DONE_OUTCOME if action.status == "done" else REMOVED_OUTCOME
        _set_status(row, principal, action.status, outcome, now, bump=False)
        changed = True
    if changed:
        row.version = (row.version or 1) + 1


def _set_status(
    row: CareAction,
    principal: Principal,
    status: str,
    outcome: str,
    now: dt.datetime,
    *,
    bump: bool = True,
) -> None:
    row.status = status
    if status == "open":
        row.completed_at = row.completed_by = row.outcome = None
    else:
        row.completed_at, row.completed_by, row.outcome = now, principal.user_id, outcome
    if bump:
        row.version = (row.version or 1) + 1


# --- the person's agreement ---------------------------------------------------------------


def agree_plan(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    *,
    version: int,
    agreed_with: str | None = None,
) -> PlanVersion:
    """Record that the person agreed version `version` (the latest) of their plan.

    `agreed_with` names others who agreed it with them (their carer, the named professional).
    The version must be the latest, so the person never agrees to a plan they were not shown:
    if someone saved since, raises `PlanChangedMeanwhile`.
    """
    _check_writer(principal)
    others = _text(agreed_with, AGREED_WITH_MAX, "list of who else agreed")
    try:
        with unit_of_work(
            sessions,
            actor=principal.actor,
            actor_role=principal.role,
            action="care_plan.agree",
            entity_type="care_plan",
            person_id=person_id,
            purpose=PURPOSE,
            detail={"version": version, "with_others": others is not None},
        ) as uow:
            agreed = uow.session.execute(
                update(CarePlan)
                .where(CarePlan.person_id == person_id, CarePlan.version == version)
                .values(status="agreed", updated_at=uow.now, updated_by=principal.user_id)
                .execution_options(synchronize_session=False)
            )
            if agreed.rowcount != 1:  # type: ignore[attr-defined]
                raise _Conflict
            row = uow.session.scalar(
                select(CarePlanVersion)
                .join(CarePlan, CarePlan.id == CarePlanVersion.plan_id)
                .where(CarePlan.person_id == person_id, CarePlanVersion.version == version)
            )
            assert row is not None
            if row.agreed_by_person:
                raise PlanError(f"the person already agreed version {version} of their plan")
            row.agreed_by_person, row.agreed_at = True, uow.now
            row.agreement_recorded_by, row.agreed_with = principal.user_id, others
            uow.audit.entity_id = str(row.plan_id)
    except _Conflict:
        theirs = current_plan(sessions, person_id)
        if theirs is None:
            raise PlanError("this person has no care plan to agree yet") from None
        raise PlanChangedMeanwhile(
            theirs, plan_version(sessions, person_id, version), None
        ) from None
    result = plan_version(sessions, person_id, version)
    assert result is not None
    return result


def blank_content(what_matters: str = "") -> dict[str, Any]:
    """An empty plan document for a new plan's form (not valid until what matters is written)."""
    return {
        "what_matters": what_matters,
        "goals": [],
        "needs": dict.fromkeys(NEED_DOMAINS, ""),
        "actions": [],
        "key_contacts": [],
        "carer": None,
        "crisis_plan": {"what_to_do": "", "who_to_call": "", "escalation": ""},
        "ceilings_of_treatment": None,
        "preferred_place_of_care": None,
        "preferred_place_of_death": None,
        "medication_review_due_on": None,
        "self_management": "",
        "review_due_on": None,
    }
