"""Holistic care plans: view, write, version history, compare, the person's agreement, print.

Every route is behind the person gate (`joinedup.web.person_gate`) with the care plan's
sharing rule as its access rule (`joinedup.care.care_plan.plan_access`: legitimate
relationship, and the person's consent outside their own practice; editing also needs the
right to change the plan): 404 for an unknown person, 403 with the reason, or the view audited
before anything is rendered. Writes go through the service (`save_plan`, `agree_plan`), each
one transaction with its audit event.

The edit form carries the version it started from (``base_version``). When someone saved
since, the service merges the two saves three ways (`joinedup.care.plan_merge`); if both
changed the same field, the form comes back with what the user typed, who changed the plan and
when, what they changed, both versions side by side and a "keep mine / keep theirs" choice for
each field both changed. The base stays the version the user started from, and the form
carries the version the choices were made against (``theirs_version``), so saving again merges
anew and applies the choices only if nobody saved meanwhile. Goals, actions and contacts are
repeatable rows; "add another" is a plain form round trip (no script: strict CSP).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from joinedup.care import care_plan as plans
from joinedup.care.named_professionals import candidates_for
from joinedup.care.plan_content import (
    ACTION_STATES,
    CARER_FIELDS,
    CRISIS_FIELDS,
    GOAL_STATES,
    NEED_DOMAINS,
    SCALAR_FIELDS,
    CarePlanContent,
    PlanContentError,
    new_item_id,
    parse_content,
)
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import PersonIdentity
from joinedup.web.app_state import get_sessions
from joinedup.web.date_input import DateInputError, read_date, typed_date
from joinedup.web.formatting import as_sentence
from joinedup.web.person_gate import AccessRule, OpenedPerson, Verdict, person_gate
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


#: The repeatable rows of the form: section -> (form row prefix, fields typed in the row).
ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "goals": ("goal", ("description", "measure", "target", "target_date", "status")),
    "actions": (
        "action",
        ("title", "owner_name", "owner_org", "owner_user_id", "due_on", "status"),
    ),
    "key_contacts": ("contact", ("name", "role", "organisation", "phone")),
}
#: Fields a blank row may still carry without being something the user wrote.
ROW_DEFAULTS = {"status"}
OPTIONAL_TEXT = ("ceilings_of_treatment", "preferred_place_of_care", "preferred_place_of_death")
DATES = ("medication_review_due_on", "review_due_on")


def _plan_rule(*, edit: bool) -> AccessRule:
    """The sharing rule (`plans.plan_access`) as the person gate's rule; editing also needs
    the right to change the plan (else the read-only refusal)."""

    def rule(
        request: Request, sessions: sessionmaker[Session], user: Principal, person: PersonIdentity
    ) -> Verdict[plans.PlanAccess]:
        access = plans.plan_access(sessions, user, person.person_id, person.practice_code)
        allowed = access.can_view and (access.can_edit or not edit)
        refusal = access.refusal or "read_only"
        return Verdict(allowed, access, access.basis, refusal, access.consent_decision)

    return rule


def _plan_gate(what: str | None, *, edit: bool = False, audit_query: tuple[str, ...] = ()) -> Any:
    return Depends(
        person_gate(
            what,
            permissions=["care.write" if edit else "record.view"],
            rule=_plan_rule(edit=edit),
            audit_query=audit_query,
            subject="care plan",
        )
    )


PlanView = Annotated[
    OpenedPerson[plans.PlanAccess], _plan_gate("care_plan", audit_query=("version",))
]
PlanVersions = Annotated[OpenedPerson[plans.PlanAccess], _plan_gate("care_plan.versions")]
PlanDiff = Annotated[
    OpenedPerson[plans.PlanAccess], _plan_gate("care_plan.diff", audit_query=("from", "to"))
]
PlanPrint = Annotated[OpenedPerson[plans.PlanAccess], _plan_gate("care_plan.print")]
PlanEdit = Annotated[OpenedPerson[plans.PlanAccess], _plan_gate("care_plan.edit", edit=True)]
#: A write: the gate decides, the write's unit of work is its audit.
PlanWrite = Annotated[OpenedPerson[plans.PlanAccess], _plan_gate(None, edit=True)]


def _page(request: Request, name: str, person: PersonIdentity, **context: Any) -> Response:
    status = context.pop("status_code", 200)
    for optional in ("access", "agree_error", "saved", "agreed", "plan"):
        context.setdefault(optional, None)
    context.setdefault("states", {})
    return templates.TemplateResponse(
        request,
        f"care_plans/{name}",
        {
            "person": person,
            "nhs_number": format_nhs_number(person.nhs_number),
            "person_url": f"/people/{person.person_id}",
            "plan_url": f"/people/{person.person_id}/care-plan",
            "need_domains": NEED_DOMAINS,
            "crisis_fields": CRISIS_FIELDS,
            "scalar_fields": SCALAR_FIELDS,
            **context,
        },
        status_code=status,  # no-store: every answer behind the person gate
    )


# --- view, history, compare, print -----------------------------------------------------------


@router.get("/people/{person_id}/care-plan", name="care_plan")
def care_plan_page(
    request: Request,
    opened: PlanView,
    version: int | None = None,
    saved: int | None = None,
    agreed: int | None = None,
    merged: int | None = None,
) -> Response:
    person, access, user, sessions = opened.person, opened.access, opened.user, opened.sessions
    person_id = person.person_id
    plan = (
        plans.current_plan(sessions, person_id)
        if version is None
        else plans.plan_version(sessions, person_id, version)
    )
    if version is not None and plan is None:
        raise HTTPException(status_code=404, detail="This plan has no such version.")
    states = plans.live_action_states(sessions, plan.plan_id) if plan else {}
    return _page(
        request,
        "view.html",
        person,
        plan=plan,
        states=states,
        access=access,
        saved=saved,
        agreed=agreed,
        merged=bool(merged),
        csrf_token=user.csrf_token,
    )


@router.get("/people/{person_id}/care-plan/versions", name="care_plan_versions")
def care_plan_versions(request: Request, opened: PlanVersions) -> Response:
    person, access = opened.person, opened.access
    history = plans.plan_history(opened.sessions, person.person_id)
    return _page(request, "versions.html", person, history=history, access=access)


@router.get("/people/{person_id}/care-plan/diff", name="care_plan_diff")
def care_plan_diff(request: Request, opened: PlanDiff) -> Response:
    """Compare two versions: ?from=&to= (default: the latest and the one before it)."""
    person, access, sessions = opened.person, opened.access, opened.sessions
    person_id = person.person_id
    asked = request.query_params
    latest = plans.current_plan(sessions, person_id)
    if latest is None:
        raise HTTPException(status_code=404, detail="This person has no care plan yet.")
    try:
        new = int(asked["to"]) if asked.get("to") else latest.version
        old = int(asked["from"]) if asked.get("from") else max(new - 1, 1)
    except ValueError:
        raise HTTPException(status_code=400, detail="Choose two version numbers.") from None
    try:
        before, after, lines = plans.diff_versions(sessions, person_id, old, new)
    except plans.PlanError as exc:
        raise HTTPException(status_code=404, detail=as_sentence(exc)) from None
    return _page(
        request,
        "diff.html",
        person,
        before=before,
        after=after,
        lines=lines,
        versions=list(range(1, latest.version + 1)),
        access=access,
    )


@router.get("/people/{person_id}/care-plan/print", name="care_plan_print")
def care_plan_print(request: Request, opened: PlanPrint) -> Response:
    person, sessions = opened.person, opened.sessions
    plan = plans.current_plan(sessions, person.person_id)
    if plan is None:
        raise HTTPException(status_code=404, detail="This person has no care plan yet.")
    states = plans.live_action_states(sessions, plan.plan_id)
    return _page(
        request, "print.html", person, plan=plan, content=plans.with_live_actions(plan, states)
    )


# --- the person's agreement ------------------------------------------------------------------


@router.post("/people/{person_id}/care-plan/agree", name="care_plan_agree")
async def care_plan_agree(request: Request, opened: PlanWrite) -> Response:
    person, access, user, sessions = opened.person, opened.access, opened.user, opened.sessions
    person_id = person.person_id
    form = await request.form()
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        raise HTTPException(
            status_code=400, detail="This form has no version: reload the page."
        ) from None
    try:
        plans.agree_plan(
            sessions, user, person_id, version=version, agreed_with=str(form.get("agreed_with", ""))
        )
    except plans.PlanError as exc:
        plan = plans.current_plan(sessions, person_id)
        opened.record_view("care_plan", {"version": plan.version if plan else None})
        states = plans.live_action_states(sessions, plan.plan_id) if plan else {}
        return _page(
            request,
            "view.html",
            person,
            plan=plan,
            states=states,
            access=access,
            agree_error=as_sentence(exc),
            csrf_token=user.csrf_token,
            status_code=409 if isinstance(exc, plans.PlanChangedMeanwhile) else 400,
        )
    return RedirectResponse(f"/people/{person_id}/care-plan?agreed={version}", status_code=303)


# --- writing ---------------------------------------------------------------------------------


@router.get("/people/{person_id}/care-plan/edit", name="care_plan_edit")
def care_plan_edit(request: Request, opened: PlanEdit) -> Response:
    person, access, user, sessions = opened.person, opened.access, opened.user, opened.sessions
    person_id = person.person_id
    plan = plans.current_plan(sessions, person_id)
    if plan is None:
        draft, base = plans.blank_content(), 0
    else:
        states = plans.live_action_states(sessions, plan.plan_id)
        draft, base = _draft_of(plans.with_live_actions(plan, states)), plan.version
    return _edit_page(request, user, person, access, draft, base_version=base, plan=plan)


@router.post("/people/{person_id}/care-plan/edit", name="care_plan_save")
async def care_plan_save(request: Request, opened: PlanWrite) -> Response:
    person, access, user, sessions = opened.person, opened.access, opened.user, opened.sessions
    person_id = person.person_id
    form = await request.form()
    draft = draft_from_form(form)
    base = _int(form.get("base_version"))
    note = str(form.get("change_note", ""))
    adding = str(form.get("add", ""))
    if adding in ROWS:  # "add another …": show the form again with one more blank row
        return _edit_page(
            request,
            user,
            person,
            access,
            draft,
            base_version=base,
            change_note=note,
            extra_row=adding,
        )
    try:
        content = _checked(draft, date_problems(form))
        saved = plans.save_plan(
            sessions, user, person_id, content, base_version=base, change_note=note,
            resolutions=_resolutions(form), resolved_against=_int(form.get("theirs_version")),
        )  # fmt: skip
    except PlanContentError as exc:
        return _edit_page(
            request, user, person, access, draft, base_version=base, change_note=note,
            problems=exc.problems, status_code=400,
        )  # fmt: skip
    except plans.PlanChangedMeanwhile as exc:
        opened.record_view(
            "care_plan.conflict", {"base_version": base, "their_version": exc.theirs.version}
        )
        return _edit_page(
            request, user, person, access, draft, base_version=base, change_note=note,
            conflict=exc, problems=_unchosen(form, exc), status_code=409,
        )  # fmt: skip
    except plans.PlanError as exc:
        return _edit_page(
            request, user, person, access, draft, base_version=base, change_note=note,
            problems=[("what_matters", as_sentence(exc))], status_code=400,
        )  # fmt: skip
    # A save that lands more than one version after its base was merged with others' changes.
    merged = "&merged=1" if saved.version > base + 1 else ""
    return RedirectResponse(
        f"/people/{person_id}/care-plan?saved={saved.version}{merged}", status_code=303
    )


def _checked(draft: Mapping[str, Any], typed_wrong: list[tuple[str, str]]) -> CarePlanContent:
    """The draft as a plan; dates typed wrong are told in the date input's own words."""
    try:
        content = parse_content(draft)
    except PlanContentError as exc:
        ours = dict(typed_wrong)
        raise PlanContentError(
            typed_wrong + [(f, m) for f, m in exc.problems if f not in ours]
        ) from None
    if typed_wrong:
        raise PlanContentError(typed_wrong)
    return content


def _edit_page(
    request: Request,
    user: Principal,
    person: PersonIdentity,
    access: plans.PlanAccess,
    draft: Mapping[str, Any],
    *,
    base_version: int,
    change_note: str = "",
    plan: plans.PlanVersion | None = None,
    problems: list[tuple[str, str]] | None = None,
    conflict: plans.PlanChangedMeanwhile | None = None,
    extra_row: str = "",
    status_code: int = 200,
) -> Response:
    rows = {
        section: [*draft[section], *[_blank_row(section)] * (2 if section == extra_row else 1)]
        for section in ROWS
    }
    return _page(
        request,
        "edit.html",
        person,
        access=access,
        draft=draft,
        rows=rows,
        base_version=base_version,
        change_note=change_note,
        plan=plan,
        problems=problems or [],
        errors=dict(problems or []),
        conflict=conflict,
        focus=f"{ROWS[extra_row][0]}-{len(draft[extra_row])}-{ROWS[extra_row][1][0]}"
        if extra_row
        else "",
        goal_states=GOAL_STATES,
        action_states=ACTION_STATES,
        owners=candidates_for(get_sessions(request), person.practice_code)
        if person.practice_code
        else [],
        carer_fields=CARER_FIELDS,
        csrf_token=user.csrf_token,
        status_code=status_code,
    )


# --- form <-> document ------------------------------------------------------------------------


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _resolutions(form: FormData) -> dict[str, plans.Choice]:
    """The user's choice for each field both they and someone else changed ("resolve-<key>")."""
    chosen: dict[str, plans.Choice] = {}
    for name, value in form.multi_items():
        if name.startswith("resolve-") and value in ("mine", "theirs"):
            chosen[name.removeprefix("resolve-")] = "mine" if value == "mine" else "theirs"
    return chosen


def _unchosen(form: FormData, exc: plans.PlanChangedMeanwhile) -> list[tuple[str, str]]:
    """Each choice left unmade on a conflict form the user saved (none on the first refusal)."""
    if _int(form.get("theirs_version")) != exc.theirs.version:
        return []
    return [
        (f"choice-{n}-mine", f"Choose whether to keep your or {exc.theirs.saved_by}'s {c.label}")
        for n, c in enumerate(exc.conflicts, start=1)
    ]


def _blank_row(section: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ROWS[section][1], "")
    row.update(id="", care_action_id=None)
    if "status" in row:
        row["status"] = "active" if section == "goals" else "open"
    return row


def _draft_of(content: CarePlanContent) -> dict[str, Any]:
    """A saved plan as the form shows it: the stored document, None shown as blank."""
    return content.document()


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _rows(form: FormData, section: str) -> list[dict[str, Any]]:
    """The rows of one repeatable section as typed, leaving out rows left blank."""
    prefix, fields = ROWS[section]
    found = []
    for i in range(min(_int(form.get(f"{prefix}_rows")), 60)):
        row: dict[str, Any] = {f: _text(form, f"{prefix}-{i}-{f}") for f in fields}
        if not any(v for f, v in row.items() if f not in ROW_DEFAULTS):
            continue
        row["id"] = _text(form, f"{prefix}-{i}-id") or new_item_id()
        for date_field in ("target_date", "due_on"):
            if date_field in row:
                row[date_field] = _typed_date(form, f"{prefix}-{i}-{date_field}")
        if section == "actions":
            action_id = _text(form, f"{prefix}-{i}-care_action_id")
            row["care_action_id"] = int(action_id) if action_id.isdigit() else None
            owner = row["owner_user_id"]
            row["owner_user_id"] = int(owner) if owner.isdigit() else None
        found.append(row)
    return found


def draft_from_form(form: FormData) -> dict[str, Any]:
    """The plan document as the form was filled in (not yet validated: `parse_content`)."""
    carer = {f: _text(form, f"carer_{f}") for f in ("name", "relationship", "phone")}
    carer_main = form.get("carer_is_main_carer") == "yes"
    draft: dict[str, Any] = {
        "what_matters": _text(form, "what_matters"),
        "goals": _rows(form, "goals"),
        "needs": {k: _text(form, f"needs_{k}") for k in NEED_DOMAINS},
        "actions": _rows(form, "actions"),
        "key_contacts": _rows(form, "key_contacts"),
        "carer": {**carer, "is_main_carer": carer_main} if any(carer.values()) else None,
        "crisis_plan": {k: _text(form, f"crisis_{k}") for k in CRISIS_FIELDS},
        "self_management": _text(form, "self_management"),
    }
    for name in OPTIONAL_TEXT:
        draft[name] = _text(form, name) or None
    for name in DATES:
        draft[name] = _typed_date(form, name)
    return draft


def _typed_date(form: FormData, field_id: str) -> str | None:
    """A date input's value for the draft: ISO when it is a date, else as typed (d/m/y)."""
    typed = typed_date(form, field_id)
    try:
        day = read_date(form, field_id, "the date")
    except DateInputError:
        return str(typed)  # `date_problems` says what is wrong; the boxes show what was typed
    return day.isoformat() if day else None


#: How the plan's dates are named in messages ("Enter the due date for action 1").
DATE_WORDS = {
    "medication_review_due_on": "the medication review date",
    "review_due_on": "the date of the next review of this plan",
}
ROW_DATE_WORDS = {
    "target_date": "the target date for goal {n}",
    "due_on": "the due date for action {n}",
}


def date_problems(form: FormData) -> list[tuple[str, str]]:
    """Each date typed that is not a date, in the service manual's words, by field id."""
    fields = dict(DATE_WORDS)
    for section in ("goals", "actions"):
        prefix, names = ROWS[section]
        for i in range(min(_int(form.get(f"{prefix}_rows")), 60)):
            for name in names:
                if name in ROW_DATE_WORDS:
                    fields[f"{prefix}-{i}-{name}"] = ROW_DATE_WORDS[name].format(n=i + 1)
    problems = []
    for field_id, what in fields.items():
        try:
            read_date(form, field_id, what)
        except DateInputError as exc:
            problems.append((field_id, str(exc)))
    return problems
