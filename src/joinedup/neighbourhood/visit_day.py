"""A neighbourhood's day of home visits from its caseload and rota (issue 16).

* **The rota**: each team member's shift on a day (start, end, break, most visits); a member
  who goes off sick keeps the shift with the time they went off (`off_from`).
* **The day**: every open caseload entry due that day (`is_due`) becomes one visit of the
  planner's input (`visits.model.Day`): the home from the population store, the minutes, the
  window and fixed time the named nurse set, the skills, two-person, acuity as priority and the
  preferred nurse (or else the named nurse) for continuity. Each visiting member on shift with
  a base becomes a nurse. Visit ids are ``E<entry id>``, nurse ids ``N<member id>``.
* **Plans**: `plan_options` solves the day twice with the existing planner — least travel
  (continuity weight 0) and most continuity (`MOST_CONTINUITY_WEIGHT`) — and keeps both; the
  user adopts one (`adopt`), with both figures in front of them. The adopted plan is the
  latest adopted row of the day.
* **Same-day replan**: `nurse_off` records the absence and replans the adopted plan with the
  planner's `replan` (visits done or in hand are kept; the rest move as little as they can),
  keeping what changed and who must be told; `urgent_visit` adds a visit today for someone on
  the caseload who is not in the plan, and replans the same way.
* **Outcomes**: `record_outcome` records what happened at a planned visit (done, not at home,
  declined, needs review) and updates the caseload entry: its last outcome, and "needs review"
  brings the next review forward to that day.

Solving runs outside any transaction (seconds long); each write is then one `unit_of_work`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.roles import Principal
from joinedup.neighbourhood.caseload import (
    CaseloadError,
    CaseloadNotFound,
    Entry,
    Member,
    caseload,
    check_can_write,
    team,
)
from joinedup.neighbourhood.caseload_models import (
    OUTCOMES,
    CaseloadEntry,
    DayPlan,
    RotaShift,
    TeamMember,
    VisitOutcome,
)
from joinedup.neighbourhood.visits.model import (
    Day,
    Events,
    Nurse,
    NurseOff,
    Plan,
    Visit,
)
from joinedup.neighbourhood.visits.replan import Replan, replan
from joinedup.neighbourhood.visits.solver import plan_day
from joinedup.neighbourhood.visits.travel import TravelTimes
from joinedup.population.reads import home_points
from joinedup.population.store import PopulationStore

#: Minutes of travel worth one visit by the person's own nurse, for "most continuity"; a whole
#: short visit's worth, so the planner keeps the person's nurse unless it costs a long drive.
MOST_CONTINUITY_WEIGHT = 60
LEAST_TRAVEL_WEIGHT = 0
DEFAULT_SECONDS = 2.0
NOTE_MAX = 500


# --- the rota -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftRequest:
    member_id: int
    shift_start: int
    shift_end: int
    break_start: int
    break_end: int
    break_min: int = 30
    max_visits: int | None = None


def set_shifts(
    sessions: sessionmaker[Session], actor: Principal, day: dt.date, shifts: Sequence[ShiftRequest]
) -> int:
    """Put the shifts on the day's rota (replacing a member's shift that day); how many."""
    check_can_write(actor)
    problems = [p for s in shifts for p in _shift_problems(s)]
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="rota.set_shifts",
        entity_type="rota",
        entity_id=day.isoformat(),
        purpose=DIRECT_CARE,
        detail={"shifts": len(shifts)},
    ) as uow:
        problems += [
            f"member {s.member_id} is not in a team"
            for s in shifts
            if uow.session.get(TeamMember, s.member_id) is None
        ]
        if problems:
            raise CaseloadError(problems)
        for shift in shifts:
            row = uow.session.scalars(
                select(RotaShift).where(
                    RotaShift.member_id == shift.member_id, RotaShift.day == day
                )
            ).first() or RotaShift(member_id=shift.member_id, day=day)
            for name in ("shift_start", "shift_end", "break_start", "break_end", "break_min"):
                setattr(row, name, getattr(shift, name))
            row.max_visits, row.off_from = shift.max_visits, None
            uow.session.add(row)
    return len(shifts)


def _shift_problems(s: ShiftRequest) -> list[str]:
    if not 0 <= s.shift_start < s.shift_end <= 24 * 60:
        return [f"member {s.member_id}: the shift ends before it starts"]
    if not (s.shift_start <= s.break_start and s.break_end <= s.shift_end):
        return [f"member {s.member_id}: the break lies outside the shift"]
    if s.break_end - s.break_start < s.break_min:
        return [f"member {s.member_id}: the break window is shorter than the break"]
    return []


@dataclass(frozen=True)
class OnShift:
    member: Member
    shift_start: int
    shift_end: int
    break_start: int
    break_end: int
    break_min: int
    max_visits: int | None
    off_from: int | None

    @property
    def available_min(self) -> int:
        """Minutes of the shift less the break (and less the time off, once off sick)."""
        end = self.shift_end if self.off_from is None else max(self.shift_start, self.off_from)
        return max(0, end - self.shift_start - (self.break_min if end == self.shift_end else 0))


def rota(sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date) -> list[OnShift]:
    """The neighbourhood's members on shift on `day`, by start then name."""
    members = {m.id: m for m in team(sessions, neighbourhood_code)}
    with sessions() as session:
        rows = session.scalars(
            select(RotaShift).where(RotaShift.day == day, RotaShift.member_id.in_(list(members)))
        ).all()
        shifts = [
            OnShift(
                members[r.member_id],
                r.shift_start,
                r.shift_end,
                r.break_start,
                r.break_end,
                r.break_min,
                r.max_visits,
                r.off_from,
            )
            for r in rows
        ]
    return sorted(shifts, key=lambda s: (s.shift_start, s.member.display_name))


# --- the day ------------------------------------------------------------------------------------


def is_due(entry_id: int, visits_per_week: int, day: dt.date) -> bool:
    """Whether an entry visited `visits_per_week` days a week is due on `day`: exactly that many
    days in any seven in a row, spread evenly, each entry on its own phase."""
    d = day.toordinal() + entry_id
    return (d + 1) * visits_per_week // 7 > d * visits_per_week // 7


def visit_id(entry_id: int) -> str:
    return f"E{entry_id}"


def nurse_id(member_id: int) -> str:
    return f"N{member_id}"


def entry_of(visit: str) -> int:
    return int(visit.removeprefix("E"))


def member_of(nurse: str) -> int:
    return int(nurse.removeprefix("N"))


@dataclass(frozen=True)
class DayBuild:
    day: Day
    entries: Mapping[str, Entry]  # visit id -> caseload entry
    no_home: tuple[Entry, ...]  # due, but the home has no coordinates: cannot be planned


def build_day(
    sessions: sessionmaker[Session], store: PopulationStore, neighbourhood_code: str, day: dt.date
) -> DayBuild:
    """The planner's input for the neighbourhood's `day` from its caseload and rota."""
    due = [
        e for e in caseload(sessions, neighbourhood_code) if is_due(e.id, e.visits_per_week, day)
    ]
    homes = home_points(store, [e.person_id for e in due])
    nurses = [_nurse(s) for s in rota(sessions, neighbourhood_code, day) if _plannable(s)]
    if not nurses:
        raise CaseloadError([f"nobody who visits is on the rota on {day:%-d %B %Y}"])
    visits = [_visit(e, homes[e.person_id]) for e in due if e.person_id in homes]
    return DayBuild(
        Day(visits=visits, nurses=nurses),
        {visit_id(e.id): e for e in due if e.person_id in homes},
        tuple(e for e in due if e.person_id not in homes),
    )


def _plannable(shift: OnShift) -> bool:
    off_all_day = shift.off_from is not None and shift.off_from <= shift.shift_start
    return shift.member.visits and shift.member.base is not None and not off_all_day


def _nurse(shift: OnShift) -> Nurse:
    assert shift.member.base is not None
    return Nurse(
        id=nurse_id(shift.member.id),
        lat=shift.member.base[0],
        lon=shift.member.base[1],
        shift_start=shift.shift_start,
        shift_end=shift.shift_end,
        skills=list(shift.member.skills),
        break_start=shift.break_start,
        break_end=shift.break_end,
        break_min=shift.break_min,
        max_visits=shift.max_visits,
        band=shift.member.band,
    )


def _visit(entry: Entry, home: tuple[float, float]) -> Visit:
    return Visit(
        id=visit_id(entry.id),
        lat=home[0],
        lon=home[1],
        duration_min=entry.duration_min,
        window_start=entry.window_start,
        window_end=entry.window_end,
        skills=list(entry.required_skills),
        priority=entry.priority,
        preferred_nurse=nurse_id(entry.preferred_nurse_id or entry.named_nurse_id),
        two_person=entry.two_person,
        fixed_time=entry.fixed_time,
    )


# --- plans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPlan:
    id: int
    kind: str
    adopted: bool
    plan: Plan
    changes: tuple[dict[str, object], ...]
    nurses_to_tell: tuple[str, ...]
    created_at: dt.datetime
    replaces_id: int | None
    plan_neighbourhood: str
    plan_day: dt.date


def plan_options(
    sessions: sessionmaker[Session],
    actor: Principal,
    store: PopulationStore,
    neighbourhood_code: str,
    day: dt.date,
    travel: TravelTimes,
    *,
    seconds: float = DEFAULT_SECONDS,
) -> list[int]:
    """Solve the day for least travel and for most continuity; keep both; their ids."""
    check_can_write(actor)
    built = build_day(sessions, store, neighbourhood_code, day)
    solved = [
        (kind, weight, plan_day(built.day, travel, seconds=seconds, continuity_weight=weight))
        for kind, weight in (
            ("least_travel", LEAST_TRAVEL_WEIGHT),
            ("most_continuity", MOST_CONTINUITY_WEIGHT),
        )
    ]
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="visit_day.plan_options",
        entity_type="visit_day",
        entity_id=f"{neighbourhood_code}/{day.isoformat()}",
        purpose=DIRECT_CARE,
        detail={"visits": len(built.day.visits), "nurses": len(built.day.nurses)},
    ) as uow:
        rows = [
            DayPlan(
                neighbourhood_code=neighbourhood_code,
                day=day,
                kind=kind,
                continuity_weight=weight,
                plan=plan.model_dump(mode="json", by_alias=True),
                adopted=False,
                created_at=uow.now,
                created_by=actor.user_id,
            )
            for kind, weight, plan in solved
        ]
        uow.session.add_all(rows)
        uow.session.flush()
        return [int(r.id) for r in rows]


def adopt(sessions: sessionmaker[Session], actor: Principal, plan_id: int) -> None:
    """Make the plan the day's plan (the latest adopted plan of a day is the one worked to)."""
    check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="visit_day.adopt",
        entity_type="visit_day_plan",
        entity_id=str(plan_id),
        purpose=DIRECT_CARE,
    ) as uow:
        row = uow.session.get(DayPlan, plan_id)
        if row is None:
            raise CaseloadNotFound("such plan")
        if row.kind == "replan":
            raise CaseloadError(["a replan is adopted when it is made"])
        if _replanned_since(uow.session, row):
            raise CaseloadError(
                ["the day has been replanned since this plan was made: plan the day again"]
            )
        # A copy, so adopting an option again puts it after every plan adopted since.
        copy = DayPlan(
            neighbourhood_code=row.neighbourhood_code,
            day=row.day,
            kind=row.kind,
            continuity_weight=row.continuity_weight,
            plan=row.plan,
            adopted=True,
            replaces_id=row.id,
            created_at=uow.now,
            created_by=actor.user_id,
        )
        uow.session.add(copy)


def _replanned_since(session: Session, row: DayPlan) -> bool:
    """Whether the plan's day has a replan newer than the plan."""
    newer_replan = select(DayPlan.id).where(
        DayPlan.neighbourhood_code == row.neighbourhood_code,
        DayPlan.day == row.day,
        DayPlan.kind == "replan",
        DayPlan.id > row.id,
    )
    return session.scalars(newer_replan).first() is not None


def _stored(row: DayPlan) -> StoredPlan:
    return StoredPlan(
        int(row.id),
        row.kind,
        bool(row.adopted),
        Plan.model_validate(row.plan),
        tuple(row.changes or ()),
        tuple(row.nurses_to_tell or ()),
        row.created_at,
        row.replaces_id,
        row.neighbourhood_code,
        row.day,
    )


def plans_of_day(
    sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date
) -> list[StoredPlan]:
    """Every plan of the day, newest first."""
    with sessions() as session:
        rows = session.scalars(
            select(DayPlan)
            .where(DayPlan.neighbourhood_code == neighbourhood_code, DayPlan.day == day)
            .order_by(DayPlan.id.desc())
        ).all()
        return [_stored(r) for r in rows]


def current_plan(plans: Sequence[StoredPlan]) -> StoredPlan | None:
    """The plan worked to: the newest adopted one (of `plans_of_day`)."""
    return next((p for p in plans if p.adopted), None)


def latest_options(plans: Sequence[StoredPlan]) -> list[StoredPlan]:
    """The newest least-travel and most-continuity options, not yet adopted copies, made
    since the day was last replanned: an older option predates the replan and would drop it
    (and what is under way) if adopted."""
    found: dict[str, StoredPlan] = {}
    for p in plans:  # newest first
        if p.kind == "replan":
            break
        if not p.adopted:
            found.setdefault(p.kind, p)
    return [found[k] for k in ("least_travel", "most_continuity") if k in found]


# --- outcomes and the same-day replan -----------------------------------------------------------


def outcomes(
    sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date
) -> dict[str, str]:
    """What happened at each visit of the day that has an outcome: visit id -> outcome."""
    with sessions() as session:
        rows = session.execute(
            select(VisitOutcome.visit_id, VisitOutcome.outcome).where(
                VisitOutcome.neighbourhood_code == neighbourhood_code, VisitOutcome.day == day
            )
        ).all()
    return {str(v): str(o) for v, o in rows}


def record_outcome(
    sessions: sessionmaker[Session],
    actor: Principal,
    neighbourhood_code: str,
    day: dt.date,
    visit: str,
    outcome: str,
    note: str = "",
) -> None:
    """Record what happened at a visit of the day's plan, and update the caseload entry."""
    check_can_write(actor)
    problems = [] if outcome in OUTCOMES else [f"{outcome!r} is not a visit outcome"]
    if len(note) > NOTE_MAX:
        problems.append(f"the note is longer than {NOTE_MAX} characters")
    plan = current_plan(plans_of_day(sessions, neighbourhood_code, day))
    made_by = _made_by(plan.plan, visit) if plan else []
    if not made_by:
        problems.append("the visit is not in the day's plan")
    if problems:
        raise CaseloadError(problems)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="visit.record_outcome",
        entity_type="caseload_entry",
        entity_id=str(entry_of(visit)),
        purpose=DIRECT_CARE,
        detail={"outcome": outcome, "day": day.isoformat()},
    ) as uow:
        entry = uow.session.get(CaseloadEntry, entry_of(visit))
        if entry is None:
            raise CaseloadNotFound("such caseload entry")
        uow.audit.person_id = int(entry.person_id)
        if _already(uow.session, neighbourhood_code, day, visit):
            raise CaseloadError(["an outcome is already recorded for this visit"])
        uow.session.add(
            VisitOutcome(
                neighbourhood_code=neighbourhood_code,
                day=day,
                visit_id=visit,
                entry_id=entry.id,
                member_id=_recording_member(uow.session, made_by, actor),
                outcome=outcome,
                note=note.strip() or None,
                recorded_at=uow.now,
                recorded_by=actor.user_id,
            )
        )
        entry.last_outcome, entry.last_outcome_on = outcome, day
        if outcome == "needs_review" and entry.next_review > day:
            entry.next_review = day


def _made_by(plan: Plan, visit: str) -> list[int]:
    return [member_of(r.nurse_id) for r in plan.routes for s in r.stops if s.visit_id == visit]


def _already(session: Session, code: str, day: dt.date, visit: str) -> bool:
    return (
        session.scalars(
            select(VisitOutcome.id).where(
                VisitOutcome.neighbourhood_code == code,
                VisitOutcome.day == day,
                VisitOutcome.visit_id == visit,
            )
        ).first()
        is not None
    )


def _recording_member(session: Session, made_by: Sequence[int], actor: Principal) -> int:
    """The planned nurse who is the user, else the first planned nurse."""
    for member_id in made_by:
        member = session.get(TeamMember, member_id)
        if member is not None and member.user_id == actor.user_id:
            return member_id
    return made_by[0]


def nurse_off(
    sessions: sessionmaker[Session],
    actor: Principal,
    neighbourhood_code: str,
    day: dt.date,
    member_id: int,
    from_time: int,
    travel: TravelTimes,
    *,
    seconds: float = DEFAULT_SECONDS,
) -> int:
    """The nurse goes off sick from `from_time`: replan the rest of the day; the replan's id."""
    check_can_write(actor)
    plan = _adopted(sessions, neighbourhood_code, day)
    if nurse_id(member_id) not in plan.plan.day.nurse_ids:
        raise CaseloadError(["that nurse is not on the day's plan"])
    recorded = outcomes(sessions, neighbourhood_code, day)
    off = NurseOff.model_validate({"nurse_id": nurse_id(member_id), "from": from_time})
    events = _events(plan.plan, recorded, from_time, nurses_off=[off])
    result = replan(plan.plan, events, travel, seconds=seconds)

    def mark_off(session: Session) -> None:
        shift = session.scalars(
            select(RotaShift).where(RotaShift.member_id == member_id, RotaShift.day == day)
        ).first()
        if shift is not None:
            shift.off_from = from_time

    detail = {"member_id": member_id, "changes": len(result.changes)}
    return _keep_replan(sessions, actor, plan, result, "visit_day.nurse_off", detail, mark_off)


def urgent_visit(
    sessions: sessionmaker[Session],
    actor: Principal,
    store: PopulationStore,
    neighbourhood_code: str,
    day: dt.date,
    entry_id: int,
    now: int,
    travel: TravelTimes,
    *,
    seconds: float = DEFAULT_SECONDS,
) -> int:
    """Add a visit today for a caseload entry not due today (an urgent call): replan the rest
    of the day from `now` with the visit in it, as the entry's named nurse set it; its id."""
    check_can_write(actor)
    plan = _adopted(sessions, neighbourhood_code, day)
    entry = next((e for e in caseload(sessions, neighbourhood_code) if e.id == entry_id), None)
    if entry is None:
        raise CaseloadNotFound("such person on this neighbourhood's caseload")
    if visit_id(entry_id) in {v.id for v in plan.plan.day.visits}:
        raise CaseloadError(["the person already has a visit today"])
    home = home_points(store, [entry.person_id]).get(entry.person_id)
    if home is None:
        raise CaseloadError(["the person's home has no coordinates to plan a visit to"])
    visit = _visit(entry, home)
    if visit.latest_start < now:
        # Wanted today, after the window the named nurse set: from now, within four hours.
        end = min(24 * 60 - 1, now + 240)
        if end - now < visit.duration_min:
            raise CaseloadError(["too little of the day is left for the visit"])
        visit = visit.model_copy(
            update={"window_start": now, "window_end": end, "fixed_time": None}
        )
    events = _events(
        plan.plan, outcomes(sessions, neighbourhood_code, day), now, urgent_visits=[visit]
    )
    result = replan(plan.plan, events, travel, seconds=seconds)
    detail = {"entry_id": entry_id, "changes": len(result.changes)}
    return _keep_replan(sessions, actor, plan, result, "visit_day.urgent_visit", detail, None)


def _adopted(sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date) -> StoredPlan:
    plan = current_plan(plans_of_day(sessions, neighbourhood_code, day))
    if plan is None:
        raise CaseloadError(["the day has no adopted plan to replan"])
    return plan


def _keep_replan(
    sessions: sessionmaker[Session],
    actor: Principal,
    before: StoredPlan,
    result: Replan,
    action: str,
    detail: dict[str, Any],
    also: Callable[[Session], None] | None,
) -> int:
    """Store the replan as the day's adopted plan, with what changed and who must be told."""
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action=action,
        entity_type="visit_day_plan",
        purpose=DIRECT_CARE,
        detail=detail,
    ) as uow:
        if also is not None:
            also(uow.session)
        row = DayPlan(
            neighbourhood_code=before.plan_neighbourhood,
            day=before.plan_day,
            kind="replan",
            continuity_weight=before.plan.continuity_weight,
            plan=result.plan.model_dump(mode="json", by_alias=True),
            adopted=True,
            replaces_id=before.id,
            changes=[
                {"visit_id": c.visit_id, "what": c.what, "tell_patient": c.tell_patient}
                for c in result.changes
            ],
            nurses_to_tell=list(result.nurses_to_tell),
            created_at=uow.now,
            created_by=actor.user_id,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit.entity_id = str(row.id)
        return int(row.id)


def _events(
    plan: Plan,
    recorded: Mapping[str, str],
    now: int,
    *,
    nurses_off: Sequence[NurseOff] = (),
    urgent_visits: Sequence[Visit] = (),
) -> Events:
    """What has happened by `now`: visits with an outcome are done; a visit the plan has under
    way at `now` without an outcome is in hand (started)."""
    planned = {s.visit_id for r in plan.routes for s in r.stops}
    done = sorted(v for v in recorded if v in planned)
    started = sorted(
        {
            s.visit_id
            for r in plan.routes
            for s in r.stops
            if s.start <= now < s.departure and s.visit_id not in recorded
        }
    )
    return Events(
        now=now,
        nurses_off=list(nurses_off),
        urgent_visits=list(urgent_visits),
        done=done,
        started=started,
    )
