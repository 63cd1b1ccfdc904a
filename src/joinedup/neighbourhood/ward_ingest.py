"""Device readings into the virtual ward: FHIR R4 Observations (one, a Bundle, or bulk NDJSON,
read by `readings`) recorded into the admitted person's ward, raising alerts (issue 15; ADR 0026).

* **Who**: each Observation's ``subject`` names the person by NHS number —
  ``Patient/<NHS number>`` or ``Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS
  number>``. The number must be in the population store and the person on a virtual ward now.
* **Who may send**: a user who runs a ward (``ward.use``, through ``joinedup ward ingest`` or
  the API) or a device platform's system account (``ward.readings.send``, the API only), for
  people registered at a practice of the sender's organisations (the organisation leg of the
  legitimate-relationship rule); a clinician may also send for anyone else they may see (care
  team, break-glass), as `governance.relationships.person_access` decides.
* **What**: the Observations of one person and one time are one set, scored by NEWS2 with the
  admission's Scale 2 decision and stored like a set entered on the ward (``taken_by`` device);
  the alert rules run over each admission's history once for all its new sets.
* **All or nothing**: every problem — a rejected Observation (its reason from `readings`), a
  subject with no NHS number, a person not on a ward, a set taken before admission, in the future
  or at a time already recorded — is reported, and if there is any, nothing is stored. Otherwise
  every set and its alerts are stored in one transaction with one audit event (counts only).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.relationships import person_access, user_practices
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import alerts, news2, readings
from joinedup.neighbourhood.models import ReadingSet, WardAdmission, WardAlert
from joinedup.neighbourhood.readings import Rejected
from joinedup.neighbourhood.ward import (
    FUTURE_TOLERANCE,
    STORED_SCORE_COLUMNS,
    WRITE_PERMISSION,
    WardNotAllowed,
    alert_columns,
    reading_columns,
    scale2_of,
    stored_result,
)
from joinedup.population.reads import person_ids_by_nhs_number, practices_of
from joinedup.population.store import PopulationStore

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
#: Who may send readings: those who run a ward, and device platforms' system accounts.
SEND_PERMISSIONS = (WRITE_PERMISSION, "ward.readings.send")
_SUBJECT = re.compile(
    r"^Patient(?:/|\?identifier=" + re.escape(NHS_NUMBER_SYSTEM) + r"\|)(?P<nhs>[0-9]{10})$"
)


@dataclass
class IngestResult:
    readings_read: int = 0
    sets: int = 0
    alerts_raised: int = 0
    skipped: int = 0
    rejects: list[Rejected] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        return not self.rejects and self.sets > 0


def nhs_number_of(subject: str) -> str | None:
    match = _SUBJECT.match(subject.strip())
    return match.group("nhs") if match else None


def ingest(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    actor: Principal,
    batch: readings.ReadingsBatch,
    *,
    now: dt.datetime | None = None,
    rules: alerts.RuleSet | None = None,
) -> IngestResult:
    """Record every set of `batch` into its person's open admission, or nothing (see above)."""
    check_can_send(actor)
    now = now or dt.datetime.now(dt.UTC)
    rules = rules or alerts.load_rules()
    result = IngestResult(len(batch.readings), skipped=len(batch.skipped))
    result.rejects += batch.rejects
    sets, set_rejects = readings.observation_sets(batch.readings)
    result.rejects += set_rejects
    numbers = {s.subject: nhs_number_of(s.subject) for s in sets}
    people = person_ids_by_nhs_number(store, {n for n in numbers.values() if n})
    outside = _outside_relationship(sessions, store, actor, set(people.values()), now)
    try:
        with unit_of_work(
            sessions,
            actor=actor.actor,
            actor_role=actor.role,
            action="ward_reading.ingest",
            entity_type="virtual_ward",
            purpose=DIRECT_CARE,
        ) as uow:
            admissions = _open_admissions(uow.session, set(people.values()))
            placed = _place(sets, numbers, people, admissions, outside, now, result)
            placed = _not_recorded_yet(uow.session, placed, result)
            if result.rejects or not placed:
                raise _NothingStored
            result.sets = len(placed)
            result.alerts_raised = _store(uow.session, placed, admissions, rules, uow.now, actor)
            uow.audit.detail.update(sets=result.sets, alerts_raised=result.alerts_raised)
    except _NothingStored:
        result.sets = 0
    return result


def check_can_send(actor: Principal) -> None:
    if not any(actor.can(p) for p in SEND_PERMISSIONS):
        raise WardNotAllowed("your role may not send readings into the virtual ward")


def _outside_relationship(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    actor: Principal,
    person_ids: set[int],
    now: dt.datetime,
) -> set[int]:
    """Those of `person_ids` the sender has no relationship with: not registered at a practice
    of the sender's organisations and, for a clinician, not seen by the relationship rule's
    other legs either (care team, break-glass)."""
    practices = practices_of(store, person_ids)
    with sessions() as session:
        own = user_practices(session, actor.user_id)
    outside = {p for p in person_ids if practices.get(p) not in own}
    if actor.can("record.view"):
        outside = {
            p
            for p in outside
            if not person_access(sessions, actor, p, practices.get(p), now=now).allowed
        }
    return outside


class _NothingStored(Exception):
    """Leaves the unit of work so it rolls back: a problem was found, or no set to store."""


Placed = tuple[int, readings.ObservationSet]  # (admission id, set)


def _open_admissions(session: Session, person_ids: set[int]) -> dict[int, WardAdmission]:
    if not person_ids:
        return {}
    rows = session.scalars(
        select(WardAdmission).where(
            WardAdmission.person_id.in_(sorted(person_ids)), WardAdmission.discharged_at.is_(None)
        )
    )
    return {row.person_id: row for row in rows}


def _place(
    sets: Sequence[readings.ObservationSet],
    numbers: dict[str, str | None],
    people: dict[str, int],
    admissions: dict[int, WardAdmission],
    outside: set[int],
    now: dt.datetime,
    result: IngestResult,
) -> list[Placed]:
    placed = []
    for item in sets:
        where = f"{item.subject} at {item.effective.isoformat()}"
        problems = _set_problems(item, numbers, people, admissions, outside, now)
        if problems:
            result.rejects += [readings.Rejected(where, p) for p in problems]
            continue
        admission = admissions[people[numbers[item.subject] or ""]]
        placed.append((admission.id, item))
    return placed


def _set_problems(
    item: readings.ObservationSet,
    numbers: dict[str, str | None],
    people: dict[str, int],
    admissions: dict[int, WardAdmission],
    outside: set[int],
    now: dt.datetime,
) -> list[str]:
    number = numbers[item.subject]
    if number is None:
        return ["subject does not name the person by NHS number (Patient/<NHS number>)"]
    if number not in people:
        return ["no one in the population has this NHS number"]
    if people[number] in outside:
        return [
            "the sender has no relationship with this person: readings are taken for people "
            "registered at the practices of the sender's organisations"
        ]
    admission = admissions.get(people[number])
    if admission is None:
        return ["this person is not on a virtual ward"]
    problems = news2.plausibility_problems(item.observations)
    if item.effective < admission.admitted_at:
        problems.append("the set was taken before the person was admitted to the virtual ward")
    if item.effective > now + FUTURE_TOLERANCE:
        problems.append("the set was taken in the future")
    return problems


def _not_recorded_yet(session: Session, placed: list[Placed], result: IngestResult) -> list[Placed]:
    """Sets whose time is already recorded for the admission are rejected (sent twice)."""
    if not placed:
        return placed
    ids = sorted({a for a, _ in placed})
    times = [item.effective for _, item in placed]
    known = {
        (admission_id, taken_at)
        for admission_id, taken_at in session.execute(
            select(ReadingSet.admission_id, ReadingSet.taken_at).where(
                ReadingSet.admission_id.in_(ids),
                ReadingSet.taken_at.between(min(times), max(times)),
            )
        )
    }
    fresh = []
    for admission_id, item in placed:
        if (admission_id, item.effective) in known:
            where = f"{item.subject} at {item.effective.isoformat()}"
            result.rejects.append(
                readings.Rejected(
                    where,
                    "a set taken at that time is already recorded (send all of a set's "
                    "Observations together, in one Bundle or file)",
                )
            )
        else:
            fresh.append((admission_id, item))
    return fresh


def _store(
    session: Session,
    placed: list[Placed],
    admissions: dict[int, WardAdmission],
    rules: alerts.RuleSet,
    now: dt.datetime,
    actor: Principal,
) -> int:
    """Every set in one bulk insert, each admission's rules run once over its whole history
    (stored sets as scored then, new ones as scored now), the alerts in a second bulk insert."""
    by_id = {a.id: a for a in admissions.values()}
    scored = [
        (admission_id, item, news2.score(item.observations, scale2_of(by_id[admission_id])))
        for admission_id, item in placed
    ]
    since = min(item.effective for _, item, _ in scored) - rules.lookback()
    earlier = _stored_histories(session, sorted({a for a, _, _ in scored}), since)
    rows = [
        reading_columns(
            by_id[a], item.observations, result, item.effective, "device", now, actor.user_id
        )
        for a, item, result in scored
    ]
    # Core executemany: no ORM objects, and no RETURNING (splicing returned rows back is slow);
    # the new ids are read back by (admission, time), unique per admission.
    session.execute(insert(cast(Table, ReadingSet.__table__)), rows)
    new_keys = {(a, item.effective) for a, item, _ in scored}
    stored = _set_ids(session, sorted({a for a, _ in new_keys}), [t for _, t in new_keys])
    ids = {key: stored[key] for key in new_keys}
    new: dict[int, list[alerts.ScoredSet]] = {}
    for admission_id, item, result in scored:
        new.setdefault(admission_id, []).append(alerts.ScoredSet(item.effective, result))
    alert_rows = []
    for admission_id, sets in new.items():
        times = {s.effective for s in sets}
        history = earlier.get(admission_id, []) + sets
        for alert in alerts.evaluate(rules, history, now=max(times), on_sets=times):
            if alert.set_time in times:
                set_id = ids[(admission_id, alert.set_time)]
                alert_rows.append(alert_columns(by_id[admission_id], alert, set_id))
    if alert_rows:
        session.execute(insert(cast(Table, WardAlert.__table__)), alert_rows)
    return len(alert_rows)


def _set_ids(
    session: Session, admissions: list[int], times: list[dt.datetime]
) -> dict[tuple[int, dt.datetime], int]:
    """The id of each stored set of these admissions taken within the span of `times`, by
    (admission, time taken)."""
    return {
        (admission_id, taken_at): set_id
        for set_id, admission_id, taken_at in session.execute(
            select(ReadingSet.id, ReadingSet.admission_id, ReadingSet.taken_at).where(
                ReadingSet.admission_id.in_(admissions),
                ReadingSet.taken_at.between(min(times), max(times)),
            )
        )
    }


def _stored_histories(
    session: Session, admission_ids: list[int], since: dt.datetime
) -> dict[int, list[alerts.ScoredSet]]:
    """Each admission's sets stored before this file from `since` (as far back as the rules look
    from the earliest new set), scored as they were recorded: the score's columns only, as plain
    rows, so a long stay sent in many small bodies does not read its whole history each time."""
    found: dict[int, list[alerts.ScoredSet]] = {}
    for row in session.execute(
        select(ReadingSet.admission_id, ReadingSet.taken_at, *STORED_SCORE_COLUMNS).where(
            ReadingSet.admission_id.in_(admission_ids), ReadingSet.taken_at >= since
        )
    ):
        found.setdefault(row.admission_id, []).append(
            alerts.ScoredSet(row.taken_at, stored_result(row))
        )
    return found
