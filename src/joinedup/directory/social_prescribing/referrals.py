"""The writes of social prescribing: a referral, first contact (or the person declining), the
"what matters to me" conversation and personalised plan, onward referrals to directory
services and their outcome, outcome measures, follow-ups and discharge (tables in `models`).

Every write is one `unit_of_work` with its audit event, which names the person and the record
by id and nothing the person said: needs, notes, plans and answers stay out of the audit trail.
Each write first applies the legitimate-relationship rule the person gate applies
(`governance.relationships.person_access`), so a service call cannot reach past the pages.

* **Referral** — from any professional who may change care records (``care.write``), or by the
  link worker (``social_prescribing.use``) for a self-referral or one from the register or the
  MDT; coded 871731000000106 (referral to social prescribing service), with the person's
  consent. A person has one open referral at a time.
* **Caseload steps** need ``social_prescribing.use`` (the link worker). First contact makes the
  link worker the person's; if the person declines, the referral is closed and re-coded
  871711000000103 (social prescribing declined).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import UnitOfWork, unit_of_work
from joinedup.directory.models import DirectoryService
from joinedup.directory.social_prescribing import measures
from joinedup.directory.social_prescribing.models import (
    CONTACT_MODES,
    DECLINED_CODE,
    DISCHARGE_REASONS,
    INSTRUMENTS,
    NEEDS,
    ONWARD_OUTCOMES,
    REFERRED_CODE,
    SOURCES,
    TIMEPOINTS,
    SocialPrescribingContact,
    SocialPrescribingMeasure,
    SocialPrescribingOnwardReferral,
    SocialPrescribingReferral,
)
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.reads import PersonIdentity

LINK_WORKER_PERMISSION = "social_prescribing.use"
REFER_PERMISSIONS = ("care.write", LINK_WORKER_PERMISSION)
TEXT_MAX = 500
NOTE_MAX = 1000
PLAN_MAX = 4000
#: A contact time this far ahead of the server's clock is a typing error, not a clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
OPEN_STATUSES = ("referred", "active")


class SocialPrescribingError(UserError, ValueError):
    """A social prescribing request cannot be done as asked; `problems` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class SocialPrescribingNotAllowed(UserError, PermissionError):
    """The user may not do this."""


class SocialPrescribingNotFound(SocialPrescribingError, LookupError):
    def __init__(self, what: str) -> None:
        super().__init__([f"there is no {what}"])


# --- referral -------------------------------------------------------------------------------------


def refer(
    sessions: sessionmaker[Session],
    actor: Principal,
    person: PersonIdentity,
    *,
    source: str,
    needs: Iterable[str],
    reason: str,
    consent: bool,
) -> int:
    """Refer `person` to the link worker service; returns the referral's id."""
    if not any(actor.can(p) for p in REFER_PERMISSIONS):
        raise SocialPrescribingNotAllowed("your role may not refer to social prescribing")
    _check_relationship(sessions, actor, person.person_id, person.practice_code)
    chosen = sorted(set(needs))
    problems = _referral_problems(actor, source, chosen, reason, consent, person)
    with _work(sessions, actor, "sp_referral.refer", person.person_id, source=source) as uow:
        if _open_referral(uow.session, person.person_id) is not None:
            problems.append("this person already has an open social prescribing referral")
        if problems:
            raise SocialPrescribingError(problems)
        referral = SocialPrescribingReferral(
            person_id=person.person_id,
            practice_code=person.practice_code,
            source=source,
            needs=chosen,
            reason=reason.strip(),
            consent=True,
            snomed_code=REFERRED_CODE,
            status="referred",
            referred_at=uow.now,
            referred_by=actor.user_id,
        )
        uow.session.add(referral)
        uow.session.flush()
        uow.audit.entity_id = str(referral.id)
        return int(referral.id)


def _referral_problems(
    actor: Principal,
    source: str,
    needs: list[str],
    reason: str,
    consent: bool,
    person: PersonIdentity,
) -> list[str]:
    problems = []
    if source not in SOURCES:
        problems.append(f"the referral comes from one of: {', '.join(SOURCES)}")
    elif source != "professional" and not actor.can(LINK_WORKER_PERMISSION):
        problems.append(
            "only a link worker records a self-referral or one from the register or MDT"
        )
    if not needs:
        problems.append("choose at least one need")
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        problems.append(f"{', '.join(unknown)} is not a need joinedup records")
    if len(reason.strip()) > TEXT_MAX:
        problems.append(f"the reason is up to {TEXT_MAX} characters")
    if not consent:
        problems.append("a referral needs the person's consent to share their details")
    if person.date_of_death is not None:
        problems.append("this person has died")
    return problems


# --- the link worker's caseload ------------------------------------------------------------------


def first_contact(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    *,
    contact_at: dt.datetime,
    mode: str,
    accepted: bool,
) -> None:
    """First contact with the person: they take up the service (the referral is active and the
    link worker's) or decline it (closed, coded 871711000000103)."""
    problems = (
        [] if mode in CONTACT_MODES else [f"the contact was one of {', '.join(CONTACT_MODES)}"]
    )
    with _caseload_work(sessions, actor, referral_id, "sp_referral.first_contact") as (uow, ref):
        if ref.status != "referred":
            problems.append("first contact is already recorded for this referral")
        problems += _time_problems(
            contact_at, ref.referred_at, uow.now, "first contact", "the referral"
        )
        if problems:
            raise SocialPrescribingError(problems)
        ref.first_contact_at = contact_at
        ref.first_contact_mode = mode
        ref.link_worker_id = actor.user_id
        if accepted:
            ref.status = "active"
        else:
            ref.status, ref.snomed_code, ref.declined_at = "declined", DECLINED_CODE, contact_at


def record_plan(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    *,
    what_matters: str,
    plan: str,
) -> None:
    """The "what matters to me" conversation and the personalised plan agreed from it."""
    problems = []
    if not what_matters.strip() or len(what_matters) > PLAN_MAX:
        problems.append(f"write what matters to the person (up to {PLAN_MAX} characters)")
    if not plan.strip() or len(plan) > PLAN_MAX:
        problems.append(f"write the personalised plan (up to {PLAN_MAX} characters)")
    with _active_work(sessions, actor, referral_id, "sp_referral.plan", problems) as (uow, ref):
        ref.what_matters, ref.plan, ref.plan_agreed_at = what_matters.strip(), plan.strip(), uow.now


def refer_onward(
    sessions: sessionmaker[Session], actor: Principal, referral_id: int, *, service_id: str
) -> int:
    """Refer the person on to a service of the directory; returns the onward referral's id."""
    with _active_work(sessions, actor, referral_id, "sp_onward.refer", []) as (uow, ref):
        if uow.session.get(DirectoryService, service_id) is None:
            raise SocialPrescribingError(["choose a service of the directory"])
        onward = SocialPrescribingOnwardReferral(
            referral_id=ref.id,
            service_id=service_id,
            referred_at=uow.now,
            referred_by=actor.user_id,
        )
        uow.session.add(onward)
        uow.session.flush()
        uow.audit.detail["onward_referral_id"] = int(onward.id)
        return int(onward.id)


def record_onward_outcome(
    sessions: sessionmaker[Session], actor: Principal, onward_id: int, *, outcome: str
) -> None:
    """What came of an onward referral: attended, not taken up, or the service was full."""
    with sessions() as session:
        onward = session.get(SocialPrescribingOnwardReferral, onward_id)
    if onward is None:
        raise SocialPrescribingNotFound("such onward referral")
    problems = [] if outcome in ONWARD_OUTCOMES else ["choose what came of the referral"]
    with _active_work(sessions, actor, onward.referral_id, "sp_onward.outcome", problems) as (
        uow,
        _,
    ):
        row = uow.session.get(SocialPrescribingOnwardReferral, onward_id)
        assert row is not None
        if row.outcome is not None:
            raise SocialPrescribingError(["the outcome of this referral is already recorded"])
        row.outcome, row.outcome_at = outcome, uow.now
        uow.audit.detail["onward_referral_id"] = onward_id


def record_measure(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    *,
    instrument: str,
    timepoint: str,
    answers: Sequence[int | None],
) -> int:
    """A completed outcome measure at start, review or end; refused whole if any answer is
    missing or out of range."""
    problems = [] if timepoint in TIMEPOINTS else ["the measure is taken at start, review or end"]
    if instrument not in INSTRUMENTS:
        problems.append("choose ONS4, WEMWBS or SWEMWBS")
        scored = None
    else:
        try:
            scored = measures.score(instrument, answers)
        except measures.MeasureError as exc:
            problems += exc.problems
            scored = None
    with _active_work(sessions, actor, referral_id, "sp_measure.record", problems) as (uow, ref):
        assert scored is not None
        measure = SocialPrescribingMeasure(
            referral_id=ref.id,
            instrument=instrument,
            timepoint=timepoint,
            items=list(scored.items),
            score=scored.score,
            raw_score=scored.raw_score,
            recorded_at=uow.now,
            recorded_by=actor.user_id,
        )
        uow.session.add(measure)
        uow.session.flush()
        uow.audit.detail.update(instrument=instrument, timepoint=timepoint)
        return int(measure.id)


def follow_up(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    *,
    contact_at: dt.datetime,
    mode: str,
    note: str,
) -> int:
    """A follow-up contact with the person."""
    problems = (
        [] if mode in CONTACT_MODES else [f"the contact was one of {', '.join(CONTACT_MODES)}"]
    )
    if not note.strip() or len(note) > NOTE_MAX:
        problems.append(f"write a note of the follow-up (up to {NOTE_MAX} characters)")
    with _active_work(sessions, actor, referral_id, "sp_contact.follow_up", problems) as (uow, ref):
        first = ref.first_contact_at
        assert first is not None
        more = _time_problems(contact_at, first, uow.now, "a follow-up", "first contact")
        if more:
            raise SocialPrescribingError(more)
        contact = SocialPrescribingContact(
            referral_id=ref.id,
            contact_at=contact_at,
            mode=mode,
            note=note.strip(),
            recorded_by=actor.user_id,
        )
        uow.session.add(contact)
        uow.session.flush()
        return int(contact.id)


def discharge(
    sessions: sessionmaker[Session], actor: Principal, referral_id: int, *, reason: str
) -> None:
    """Discharge from the link worker's caseload, with the reason."""
    problems = [] if reason in DISCHARGE_REASONS else ["choose the reason for discharge"]
    with _active_work(sessions, actor, referral_id, "sp_referral.discharge", problems) as (
        uow,
        ref,
    ):
        waiting = uow.session.scalar(
            select(SocialPrescribingOnwardReferral.id).where(
                SocialPrescribingOnwardReferral.referral_id == ref.id,
                SocialPrescribingOnwardReferral.outcome.is_(None),
            )
        )
        if waiting is not None and reason == "goals_met":
            raise SocialPrescribingError(
                ["record what came of every onward referral before discharging with goals met"]
            )
        ref.status, ref.discharged_at, ref.discharge_reason = "discharged", uow.now, reason


# --- shared ---------------------------------------------------------------------------------------


def _check_relationship(
    sessions: sessionmaker[Session], actor: Principal, person_id: int, practice: str | None
) -> None:
    if not person_access(sessions, actor, person_id, practice).allowed:
        raise SocialPrescribingNotAllowed("you have no legitimate relationship with this person")


def _work(
    sessions: sessionmaker[Session], actor: Principal, action: str, person_id: int, **detail: object
) -> AbstractContextManager[UnitOfWork]:
    return unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action=action,
        entity_type="sp_referral",
        purpose=DIRECT_CARE,
        person_id=person_id,
        detail=dict(detail),
    )


def get_referral(sessions: sessionmaker[Session], referral_id: int) -> SocialPrescribingReferral:
    with sessions() as session:
        referral = session.get(SocialPrescribingReferral, referral_id)
    if referral is None:
        raise SocialPrescribingNotFound("such social prescribing referral")
    return referral


@contextmanager
def _caseload_work(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    action: str,
    problems: Sequence[str] = (),
    *,
    active: bool = False,
) -> Iterator[tuple[UnitOfWork, SocialPrescribingReferral]]:
    """A link worker's write on one referral: permission, relationship, the referral locked in
    the unit of work and named by its audit event. With `active`, the referral must be taken up
    and not discharged; `problems` found before are reported with any the referral adds, and
    nothing is written."""
    if not actor.can(LINK_WORKER_PERMISSION):
        raise SocialPrescribingNotAllowed("only a link worker works a social prescribing caseload")
    found = get_referral(sessions, referral_id)
    _check_relationship(sessions, actor, found.person_id, found.practice_code)
    with _work(sessions, actor, action, found.person_id) as uow:
        referral = uow.session.get(SocialPrescribingReferral, referral_id, with_for_update=True)
        assert referral is not None
        uow.audit.entity_id = str(referral.id)
        reasons = list(problems)
        if active and referral.status != "active":
            reasons.append(_not_active(referral.status))
        if reasons:
            raise SocialPrescribingError(reasons)
        yield uow, referral


def _active_work(
    sessions: sessionmaker[Session],
    actor: Principal,
    referral_id: int,
    action: str,
    problems: Sequence[str],
) -> AbstractContextManager[tuple[UnitOfWork, SocialPrescribingReferral]]:
    return _caseload_work(sessions, actor, referral_id, action, problems, active=True)


def _not_active(status: str) -> str:
    return {
        "referred": "record first contact before working this referral",
        "declined": "the person declined social prescribing",
        "discharged": "the person has been discharged from social prescribing",
    }.get(status, "this referral is not open")


def _time_problems(
    at: dt.datetime, after: dt.datetime, now: dt.datetime, what: str, after_what: str
) -> list[str]:
    if at.tzinfo is None:
        return [f"the time of {what} needs a time zone"]
    if at > now + FUTURE_TOLERANCE:
        return [f"the time of {what} is in the future"]
    if at < after:
        return [f"{what} cannot be before {after_what}"]
    return []


def _open_referral(session: Session, person_id: int) -> int | None:
    return session.scalar(
        select(SocialPrescribingReferral.id).where(
            SocialPrescribingReferral.person_id == person_id,
            SocialPrescribingReferral.status.in_(OPEN_STATUSES),
        )
    )
