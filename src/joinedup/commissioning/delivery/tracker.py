"""The tracker: everything the pages show for the areas, elements and quarters, and the
snapshot of measured actuals recorded as submissions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.delivery.areas import Area, delivery_areas, neighbourhood_populations
from joinedup.commissioning.delivery.judging import (
    RAG_RULE,
    MilestoneFlag,
    Rag,
    Weighted,
    milestone_flags,
    rag_status,
    weighted_mean,
)
from joinedup.commissioning.delivery.measures import (
    Measurement,
    MeasuresProvider,
    StoreMeasures,
    measure,
)
from joinedup.commissioning.delivery.submissions import (
    PURPOSE,
    SubmissionRecord,
    add_version,
    submissions,
)
from joinedup.commissioning.delivery.validate import SubmissionError, SubmissionInput
from joinedup.commissioning.specification import (
    Element,
    Quarter,
    Specification,
)


@dataclass(frozen=True)
class Cell:
    """One area's position on one element in one quarter."""

    quarter: Quarter
    planned: float | None
    actual: float | None
    measurement: Measurement | None
    record: SubmissionRecord | None
    rag: Rag

    @property
    def measured(self) -> bool:
        return self.measurement is not None


@dataclass(frozen=True)
class Trajectory:
    area: Area
    element: Element
    cells: list[Cell]
    flags: list[MilestoneFlag]


@dataclass(frozen=True)
class AggregateCell:
    quarter: Quarter
    planned: Weighted
    actual: Weighted
    rag: Rag


class Tracker:
    """The specification, the areas, the standing submissions and the measured actuals, as of
    a date.

    Measured actuals are measured for the current quarter only, as of `as_of`: the register,
    named professionals and agreed plans behind them are current states, not histories, so
    an earlier quarter's figure cannot be measured after the event. A closed quarter shows the
    measured figures recorded for it by `record_measured_snapshot` (source "measured")."""

    def __init__(
        self,
        spec: Specification,
        areas: Sequence[Area],
        records: Iterable[SubmissionRecord],
        provider: MeasuresProvider | None,
        as_of: dt.date,
    ) -> None:
        self.spec = spec
        self.areas = list(areas)
        self.provider = provider
        self.as_of = as_of
        self.current_quarter = Quarter.containing(as_of)
        self._standing = {(r.area_code, r.element_id, r.quarter): r for r in records}

    def area(self, code: str) -> Area:
        for area in self.areas:
            if area.code == code:
                return area
        raise KeyError(code)

    def measurement_date(self, quarter: Quarter) -> dt.date | None:
        return self.as_of if quarter == self.current_quarter else None

    def cell(self, area: Area, element: Element, quarter: Quarter) -> Cell:
        record = self._standing.get((area.code, element.id, quarter))
        planned = record.planned_percent if record else None
        actual = record.actual_percent if record else None
        measurement = None
        when = self.measurement_date(quarter)
        if self.provider is not None and when is not None:
            measurement = measure(element, area, self.provider, when)
            if measurement is not None:
                actual = measurement.percent
        rag = rag_status(
            planned,
            actual,
            quarter,
            self.spec.milestones,
            self.spec.amber_within_points,
            # A measured figure withheld as a small number was reported: it is not missing.
            suppressed=measurement is not None and measurement.percent is None,
        )
        return Cell(quarter, planned, actual, measurement, record, rag)

    def trajectory(self, area: Area, element: Element) -> Trajectory:
        cells = [self.cell(area, element, q) for q in self.spec.quarters]
        flags = milestone_flags({c.quarter: c.planned for c in cells}, self.spec.milestones)
        return Trajectory(area, element, cells, flags)

    def aggregate(self, element: Element, quarter: Quarter) -> AggregateCell:
        cells = [(a, self.cell(a, element, quarter)) for a in self.areas]
        planned = weighted_mean([(c.planned, a.population) for a, c in cells])
        actual = weighted_mean(
            [(c.actual, a.population) for a, c in cells],
            suppressed=[c.rag.status == "suppressed" for _, c in cells],
        )
        rag = rag_status(
            planned.percent,
            actual.percent,
            quarter,
            self.spec.milestones,
            self.spec.amber_within_points,
            # Every area that reported had its figure withheld: reported, not missing.
            suppressed=actual.areas_suppressed > 0,
        )
        return AggregateCell(quarter, planned, actual, rag)

    def late_plans(self) -> list[tuple[Area, Element, MilestoneFlag]]:
        """Every area and element whose plan reaches a milestone late (or never)."""
        late = []
        for area in self.areas:
            for element in self.spec.elements:
                planned = {
                    q: r.planned_percent
                    for (a, e, q), r in self._standing.items()
                    if a == area.code and e == element.id
                }
                late += [
                    (area, element, flag)
                    for flag in milestone_flags(planned, self.spec.milestones)
                    if flag.late
                ]
        return late

    def rag_rule(self) -> str:
        return RAG_RULE.format(amber=self.spec.amber_within_points)


def record_measured_snapshot(
    sessions: sessionmaker[Session], actor: str, actor_role: str, tracker: Tracker
) -> int:
    """Record the current quarter's measured actuals as submissions (source "measured", the
    rule in the notes, the standing plan kept), so the quarter keeps them once it closes.
    One unit of work, audited; the number of submissions recorded."""
    quarter = tracker.current_quarter
    if not tracker.spec.first_quarter <= quarter <= tracker.spec.last_quarter:
        raise SubmissionError([f"the current quarter {quarter} is outside the specification"])
    snapshot = []
    for area in tracker.areas:
        for element in tracker.spec.elements:
            cell = tracker.cell(area, element, quarter)
            if cell.measurement is not None and cell.actual is not None:
                snapshot.append(
                    SubmissionInput(
                        area.code,
                        element.id,
                        quarter,
                        cell.planned,
                        cell.actual,
                        cell.measurement.text,
                    )
                )
    if not snapshot:
        return 0
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.snapshot",
        entity_type="delivery_submission",
        entity_id=str(quarter),
        purpose=PURPOSE,
        detail={"recorded": len(snapshot)},
    ) as uow:
        for submission in snapshot:
            add_version(
                uow.session, tracker.spec, tracker.areas, submission, actor, "measured", uow.now
            )
    return len(snapshot)


def tracker_for(
    sessions: sessionmaker[Session],
    settings: Any,
    spec: Specification,
    *,
    as_of: dt.date,
    provider: MeasuresProvider | None = None,
) -> Tracker:
    """The tracker of the area `settings` names: its areas (weighted by the population store's
    neighbourhood populations), the standing submissions and `StoreMeasures` (or `provider`)."""
    from joinedup.population.store import PopulationStore

    populations = (
        {} if spec.areas else neighbourhood_populations(PopulationStore(settings.population_dir))
    )
    areas = delivery_areas(sessions, spec, populations)
    return Tracker(
        spec,
        areas,
        submissions(sessions),
        provider if provider is not None else StoreMeasures(sessions, settings),
        as_of,
    )
