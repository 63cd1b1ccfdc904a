"""Coverage: how much of each case-finding list is on the coordinated care register, by practice
and neighbourhood.

Each list is run as it stands (`joinedup.analytics.case_finding.run_list`) with no one left out
for being on the register — so the list that normally leaves register members off
(top risk, not on the register) counts its whole cohort here — and its people are matched with
the register's open entries (`joinedup.care.register.OPEN_STATES`). A list that cannot be run
(no stratification run yet) is reported with the reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import StratificationRun
from joinedup.care.register import register_members
from joinedup.population.store import PopulationStore


@dataclass(frozen=True)
class GroupCoverage:
    code: str
    name: str
    found: int
    on_register: int

    @property
    def share(self) -> float | None:
        return self.on_register / self.found if self.found else None


@dataclass(frozen=True)
class ListCoverage:
    list_id: str
    title: str
    unavailable: str  # why the list cannot be run; empty when it was
    found: int
    on_register: int
    by_practice: tuple[GroupCoverage, ...] = ()
    by_neighbourhood: tuple[GroupCoverage, ...] = ()

    @property
    def share(self) -> float | None:
        return self.on_register / self.found if self.found else None


def list_coverage(
    store: PopulationStore,
    sessions: sessionmaker[Session],
    *,
    run: StratificationRun | None,
    within_practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
    list_ids: Collection[str] | None = None,
) -> list[ListCoverage]:
    """Coverage of every list (or `list_ids`) within `within_practices` (None: whole area),
    leaving `excluding` out (objectors, in aggregate views)."""
    members = pa.array(sorted(register_members(sessions)), pa.int64())
    found = []
    for definition in cf.list_definitions():
        if list_ids is not None and definition.id not in list_ids:
            continue
        reason = cf.unavailable_reason(definition, run)
        if reason:
            found.append(ListCoverage(definition.id, definition.title, reason, 0, 0))
            continue
        result = cf.run_list(
            store,
            definition.id,
            run=run,
            within_practices=within_practices,
            excluding=excluding,
        )
        found.append(_coverage(definition, result, members))
    return found


def _coverage(
    definition: cf.ListDefinition, result: cf.CaseFindingResult, members: pa.Array
) -> ListCoverage:
    rows = result.rows.select(["person_id", "practice_code", "neighbourhood_code"])
    flags = pc.is_in(rows["person_id"], value_set=members).to_pylist()
    practices: dict[str, list[int]] = {}
    hoods: dict[str, list[int]] = {}
    codes = rows["practice_code"].to_pylist(), rows["neighbourhood_code"].to_pylist()
    for practice, hood, on in zip(*codes, flags, strict=True):
        for key, groups in ((practice, practices), (hood, hoods)):
            if key:
                tally = groups.setdefault(key, [0, 0])
                tally[0] += 1
                tally[1] += int(bool(on))
    by_practice = tuple(
        GroupCoverage(p.code, p.name, *practices.get(p.code, [0, 0])) for p in result.practices
    )
    by_hood = tuple(
        GroupCoverage(h.code, h.name, *hoods.get(h.code, [0, 0])) for h in result.neighbourhoods
    )
    return ListCoverage(
        definition.id,
        definition.title,
        "",
        rows.num_rows,
        sum(1 for f in flags if f),
        by_practice,
        by_hood,
    )
