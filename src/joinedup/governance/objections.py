"""Objections to secondary use (type-1 and national data opt-out), and who they leave out.

Objectors are left out of every commissioning aggregate and export and stay visible for their
own direct care. See `joinedup.governance.models.Objection`.

Two kinds, as NHS England defines them:

* ``type_1`` — recorded at the GP practice: the person's identifiable data should not leave the
  practice for purposes other than their direct care;
* ``national_data_opt_out`` — the national data opt-out: their confidential data should not be
  used for research and planning (NHS England, "National data opt-out operational policy
  guidance", 2023).

Recording and withdrawing a choice is itself for the person's care (their wishes honoured), so
it is audited with the purpose ``PURPOSE``. Objections arrive in bulk from the practices' and
the national service's lists: `import_objections` loads such a file, reports every line it
cannot use with a reason a person can act on, and loads the same file twice without change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ibis
import nhs_number
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.models import Objection
from joinedup.governance.roles import Principal
from joinedup.import_report import ImportReport, Rejection
from joinedup.population.reads import extract_date, registered_population
from joinedup.population.store import PopulationStore, StoreError

KINDS: dict[str, str] = {
    "type_1": "Type 1 objection (recorded at the GP practice)",
    "national_data_opt_out": "National data opt-out",
}
PURPOSE = "direct care: record the person's choice"
RECORDED = "recorded"  # Objection.source when recorded in joinedup
IMPORTED = "imported"  # ... and when loaded from a file

#: Shares of registered people given each objection by `synthetic_objections` (the national
#: opt-out rate in England was about 5.4% in 2024; a smaller, round figure suits a demo).
SYNTHETIC_OPT_OUT = 0.03
SYNTHETIC_TYPE_1 = 0.02
SYNTHETIC_BOTH_GIVEN_TYPE_1 = 0.3  # of those with a type-1 objection, how many also opt out


class ObjectionError(UserError, ValueError):
    """An objection cannot be recorded or withdrawn as asked."""


def active_objectors(sessions: sessionmaker[Session]) -> frozenset[int]:
    """person_id of everyone with an objection in force (recorded and not withdrawn)."""
    with sessions() as session:
        return frozenset(
            session.scalars(
                select(Objection.person_id).where(Objection.withdrawn_at.is_(None)).distinct()
            )
        )


def objections_of(sessions: sessionmaker[Session], person_id: int) -> list[str]:
    """The kinds of objection in force for one person (`KINDS` keys), in `KINDS` order."""
    with sessions() as session:
        return objections_in(session, person_id)


def objections_in(session: Session, person_id: int) -> list[str]:
    """`objections_of` in a session of the caller's (a page's reads together)."""
    kinds = set(
        session.scalars(
            select(Objection.kind).where(
                Objection.person_id == person_id, Objection.withdrawn_at.is_(None)
            )
        )
    )
    return [kind for kind in KINDS if kind in kinds]


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ObjectionError(f"an objection's kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return kind


def _check_may_record(principal: Principal) -> None:
    if not principal.can("consent.record"):
        raise PermissionError(f"the {principal.role_name} role may not record people's choices")


def _active(session: Session, person_id: int, kind: str) -> list[Objection]:
    return list(
        session.scalars(
            select(Objection).where(
                Objection.person_id == person_id,
                Objection.kind == kind,
                Objection.withdrawn_at.is_(None),
            )
        )
    )


def record_objection(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    kind: str,
    now: dt.datetime | None = None,
) -> bool:
    """Record that `person_id` objects (`kind`); False when that objection is already in force.

    `now` is when the person made their choice (default: now).
    """
    _check_kind(kind)
    _check_may_record(principal)
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="objection.record",
        entity_type="objection",
        person_id=person_id,
        purpose=PURPOSE,
        detail={"kind": kind},
    ) as uow:
        if _active(uow.session, person_id, kind):
            uow.audit.detail["already_recorded"] = True
            return False
        objection = Objection(
            person_id=person_id,
            kind=kind,
            source=RECORDED,
            recorded_at=now or uow.now,
            recorded_by=principal.actor,
        )
        uow.session.add(objection)
        uow.session.flush()
        uow.audit.entity_id = str(objection.id)
        return True


def withdraw_objection(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    kind: str,
    now: dt.datetime | None = None,
) -> bool:
    """Withdraw `person_id`'s objection of `kind`; False when none was in force."""
    _check_kind(kind)
    _check_may_record(principal)
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="objection.withdraw",
        entity_type="objection",
        person_id=person_id,
        purpose=PURPOSE,
        detail={"kind": kind},
    ) as uow:
        active = _active(uow.session, person_id, kind)
        for objection in active:
            objection.withdrawn_at = now or uow.now
        uow.audit.detail["withdrawn"] = len(active)
        return bool(active)


# --- importing a list of objections ------------------------------------------------------------


@dataclass(frozen=True)
class _Good:
    line: int
    person_id: int
    kind: str


_NOT_DIGITS = re.compile(r"[\s-]")
FIRST_DATA_LINE = 2  # line 1 of the file is its header


def import_objections(
    sessions: sessionmaker[Session],
    actor: Principal | str,
    rows: Iterable[Mapping[str, str | None]],
    *,
    store: PopulationStore,
    strict: bool = False,
) -> ImportReport:
    """Load objections from `rows` (the data rows of a CSV file, in order: line 2 onwards).

    Each row names a person by ``person_id`` or ``nhs_number`` (resolved against the population
    store's patients table) and gives a ``kind``. Lines that cannot be used are reported with
    their line number and reason; the others are loaded in one transaction with one audit
    event. With `strict`, nothing is loaded when any line is rejected. Objections already in
    force are left as they are, so loading the same file again changes nothing.
    """
    report = ImportReport()
    people = _People(store)
    good: list[_Good] = []
    seen: dict[tuple[int, str], int] = {}
    for line, row in enumerate(rows, start=FIRST_DATA_LINE):
        report.rows += 1
        checked = _check_row(line, row, people)
        if isinstance(checked, Rejection):
            report.rejected.append(checked)
            continue
        key = (checked.person_id, checked.kind)
        if key in seen:
            report.rejected.append(
                Rejection(line, f"repeats line {seen[key]}: the same person and kind of objection")
            )
            continue
        seen[key] = line
        good.append(checked)
    if strict and report.rejected:
        report.committed = False
        return report
    if not good:
        return report
    name, role = (actor.actor, actor.role) if isinstance(actor, Principal) else (actor, "import")
    with unit_of_work(
        sessions,
        actor=name,
        actor_role=role,
        action="objection.import",
        entity_type="objection",
        purpose=PURPOSE,
    ) as uow:
        in_force = {
            (int(person_id), str(kind))
            for person_id, kind in uow.session.execute(
                select(Objection.person_id, Objection.kind).where(Objection.withdrawn_at.is_(None))
            )
        }
        for item in good:
            if (item.person_id, item.kind) in in_force:
                report.already_recorded += 1
                continue
            uow.session.add(
                Objection(
                    person_id=item.person_id,
                    kind=item.kind,
                    source=IMPORTED,
                    recorded_at=uow.now,
                    recorded_by=name,
                )
            )
            report.recorded += 1
        uow.audit.detail.update(
            rows=report.rows,
            recorded=report.recorded,
            already_recorded=report.already_recorded,
            rejected=len(report.rejected),
        )
    return report


def _field(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def _check_row(line: int, row: Mapping[str, str | None], people: _People) -> _Good | Rejection:
    """The row as a person and kind, or why it cannot be used (never echoing an NHS number)."""
    kind = _field(row, "kind").lower()
    if not kind:
        return Rejection(line, f"the kind is empty: write one of {', '.join(KINDS)}")
    if kind not in KINDS:
        return Rejection(line, f"the kind {kind!r} is not known: write one of {', '.join(KINDS)}")
    raw_id, raw_nhs = _field(row, "person_id"), _field(row, "nhs_number")
    if not raw_id and not raw_nhs:
        return Rejection(line, "no person: fill in the person_id or the nhs_number column")
    by_id = by_nhs = None
    if raw_id:
        if not raw_id.isdigit():
            return Rejection(line, "the person_id must be a whole number")
        by_id = int(raw_id)
        if not people.has(by_id):
            return Rejection(line, "no one in the population store has this person_id")
    if raw_nhs:
        digits = _NOT_DIGITS.sub("", raw_nhs)
        if not (digits.isdigit() and len(digits) == 10):
            return Rejection(line, "the NHS number must have 10 digits")
        if not nhs_number.is_valid(digits):
            return Rejection(
                line, "the NHS number is not valid (its check digit is wrong): check it for typos"
            )
        by_nhs = people.by_nhs_number(digits)
        if by_nhs is None:
            return Rejection(line, "no one in the population store has this NHS number")
    if by_id is not None and by_nhs is not None and by_id != by_nhs:
        return Rejection(line, "the person_id and the NHS number belong to different people")
    person = by_id if by_id is not None else by_nhs
    assert person is not None
    return _Good(line, person, kind)


class _People:
    """The population store's people (person_id and NHS number), read once when first needed."""

    def __init__(self, store: PopulationStore) -> None:
        self._store = store
        self._ids: set[int] | None = None
        self._nhs: dict[str, int] | None = None

    def _load(self) -> None:
        if self._ids is not None:
            return
        if not self._store.path("patients").is_file():
            raise StoreError(
                f"the population store at {self._store.root} has no patients table to check "
                "people against; run `joinedup generate` or `joinedup ingest` first"
            )
        table = self._store.read("patients", columns=["person_id", "nhs_number"])
        ids = table.column("person_id").to_pylist()
        numbers = table.column("nhs_number").to_pylist()
        self._ids = set(ids)
        self._nhs = {
            _NOT_DIGITS.sub("", n): p for n, p in zip(numbers, ids, strict=True) if n is not None
        }

    def has(self, person_id: int) -> bool:
        self._load()
        assert self._ids is not None
        return person_id in self._ids

    def by_nhs_number(self, digits: str) -> int | None:
        self._load()
        assert self._nhs is not None
        return self._nhs.get(digits)


# --- the demo's objections -----------------------------------------------------------------------


def synthetic_objections(store: PopulationStore, seed: int) -> list[tuple[int, str]]:
    """(person_id, kind) for a deterministic sample of the registered people of a synthetic area:
    about 3% with a national data opt-out and 2% with a type-1 objection, some with both.

    For the demo only: refuses a store that is not synthetic.
    """
    metadata = store.metadata()
    if not metadata.get("synthetic"):
        raise ObjectionError("synthetic objections are only made for a synthetic area")
    extract = extract_date(store)
    con = ibis.duckdb.connect()
    try:
        people = registered_population(
            con.read_parquet(store.path("registrations")),
            con.read_parquet(store.path("patients")),
            extract,
        )
        ids = np.sort(np.asarray(people.select("person_id").to_pyarrow().column(0), dtype=np.int64))
    finally:
        con.disconnect()
    rng = np.random.default_rng([seed, 5])  # 5: the issue that asked for objections
    type_1_draw, opt_out_draw = rng.random(len(ids)), rng.random(len(ids))
    type_1 = type_1_draw < SYNTHETIC_TYPE_1
    # P(opt-out) = p + 2% × 30% = 3%, with p chosen so; objectors of one kind often object twice.
    alone = SYNTHETIC_OPT_OUT - SYNTHETIC_TYPE_1 * SYNTHETIC_BOTH_GIVEN_TYPE_1
    opt_out = (opt_out_draw < alone) | (type_1 & (opt_out_draw > 1 - SYNTHETIC_BOTH_GIVEN_TYPE_1))
    chosen = [(int(p), "type_1") for p in ids[type_1]]
    chosen += [(int(p), "national_data_opt_out") for p in ids[opt_out]]
    return sorted(chosen)
