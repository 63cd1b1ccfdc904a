"""The demo area's local delivery plan and its past quarterly returns (synthetic, ADR 0031).

A commissioner opening the demo's board report should see what a board sees a year and a half
into a plan: some elements on track, some a little behind, some well behind. With no plan and
no returns every element read "Not reported" or "No plan". `seed_demo_delivery` writes, for
every neighbourhood (the tracker's areas) and every element of the specification:

* **a local plan** for every quarter: the planned % rises in a straight line from the area's
  baseline in the first quarter to 90% at the first milestone and 100% at the second, as the
  specification's milestones ask; about one plan in five reaches each milestone a quarter or
  two late (the tracker's late-plan flag then has something to say);
* **past returns**: the actual % of every quarter up to the current one for the elements the
  area reports by hand, and of every closed quarter for the measured ones (the current quarter
  of a measured element is measured live, never typed).

Where the figures come from:

* a **measured** element's returns are derived from the area's own measured figure today (the
  rule and counts of `measures`): the baseline is that figure scaled back by how far the area
  was when its plan was set, and the closed quarters climb from the baseline to today's figure;
  whether the area is on plan today is then the measured figure against its own plan;
* a **typed** element (an area's self-assessment: opening hours, co-design, ...) starts from a
  baseline drawn per element and area, and each quarter's return delivers a share of the
  planned progress: the element's *delivery factor* (how hard the element is to deliver,
  the same for every area) times the area's own (how well that area delivers), plus a point
  or two of reporting noise. Element factors are spread evenly over 0.4–1.2 and shuffled by
  the seed (a stratified draw), so every demo has elements ahead of, on and behind plan rather
  than a board that averages out to one colour; nothing names a status.

Every row is recorded with source ``demo`` and a note saying it is synthetic, in one unit of
work with its audit event. Nothing is written when any submission exists already (a second
demo run changes nothing, and a real area's returns are never overwritten).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.delivery.submissions import PURPOSE, add_version, submissions
from joinedup.commissioning.delivery.tracker import Tracker, tracker_for
from joinedup.commissioning.delivery.validate import SubmissionInput
from joinedup.commissioning.specification import (
    Element,
    Quarter,
    Specification,
    load_specification,
)

SOURCE = "demo"
FACTOR_RANGE = (0.4, 1.2)  # share of the planned progress an element delivers, spread evenly
AREA_RANGE = (0.9, 1.1)  # how well an area delivers, against the others
TYPED_BASELINE = (35.0, 70.0)  # an element's self-assessed coverage when the plan was set
AREA_BASELINE_SPREAD = 8.0  # points either side for one area
MEASURED_START = (0.5, 0.9)  # share of today's measured figure the area had at the start
LATE_PLANS = 0.2  # plans that reach a milestone late, by one or two quarters
NOISE_POINTS = 1.5  # reporting noise of a typed return (standard deviation, points)


@dataclass(frozen=True)
class DemoDelivery:
    plans: int  # area × element plans written
    returns: int  # quarterly submissions written
    already: bool  # nothing written: submissions existed


def seed_demo_delivery(
    sessions: sessionmaker[Session],
    settings: Any,
    *,
    today: dt.date,
    seed: int,
    spec: Specification | None = None,
) -> DemoDelivery:
    """Write the demo's local plan and past returns (module docstring); idempotent."""
    if submissions(sessions):
        return DemoDelivery(0, 0, already=True)
    spec = spec or load_specification()
    tracker = tracker_for(sessions, settings, spec, as_of=today)
    rows = demo_submissions(tracker, seed)
    if not rows:
        return DemoDelivery(0, 0, already=False)
    with unit_of_work(
        sessions,
        actor="demo",
        actor_role="system",
        action="delivery.demo",
        entity_type="delivery_submission",
        entity_id=str(tracker.current_quarter),
        purpose=PURPOSE,
        detail={"recorded": len(rows)},
    ) as uow:
        for row in rows:
            add_version(uow.session, spec, tracker.areas, row, "demo", SOURCE, uow.now)
    plans = len({(r.area_code, r.element_id) for r in rows})
    returns = sum(1 for r in rows if r.actual_percent is not None)
    return DemoDelivery(plans, returns, already=False)


def demo_submissions(tracker: Tracker, seed: int) -> list[SubmissionInput]:
    """Every area's plan and returns (not yet written): pure given the tracker's measures."""
    spec = tracker.spec
    areas = [a for a in tracker.areas if a.measurable]
    if not areas:
        return []
    rng = np.random.default_rng([seed, 31])
    quarters = spec.quarters
    current = min(max(tracker.current_quarter, spec.first_quarter), spec.last_quarter)
    now = quarters.index(current)
    low, high = FACTOR_RANGE
    n = len(spec.elements)
    spread = low + (high - low) * (np.arange(n) + 0.5) / n
    element_factor = dict(zip([e.id for e in spec.elements], rng.permutation(spread), strict=True))
    a_low, a_high = AREA_RANGE
    area_factor = rng.permutation(
        a_low + (a_high - a_low) * (np.arange(len(areas)) + 0.5) / len(areas)
    )
    typed_baseline = {e.id: float(rng.uniform(*TYPED_BASELINE)) for e in spec.elements}
    rows: list[SubmissionInput] = []
    for area, area_f in zip(areas, area_factor, strict=True):
        for element in spec.elements:
            factor = element_factor[element.id] * float(area_f)
            slips = [_slip(rng) for _ in spec.milestones]
            measured = _measured_now(tracker, area, element, current)
            if measured is not None:
                baseline = measured * float(rng.uniform(*MEASURED_START))
            else:
                spread_b = float(rng.uniform(-AREA_BASELINE_SPREAD, AREA_BASELINE_SPREAD))
                baseline = min(max(typed_baseline[element.id] + spread_b, 0.0), 85.0)
            plan = planned_trajectory(spec, quarters, baseline, slips)
            for i, quarter in enumerate(quarters):
                actual = None
                if element.measured and area.measurable:
                    if measured is not None and i < now:
                        # Closed quarters climb from the baseline to today's measured figure.
                        actual = baseline + (measured - baseline) * i / now if now else measured
                elif i <= now:
                    progress = factor * (plan[i] - baseline)
                    actual = baseline + progress + float(rng.normal(0, NOISE_POINTS))
                rows.append(
                    SubmissionInput(
                        area.code,
                        element.id,
                        quarter,
                        float(round(plan[i])),
                        None if actual is None else round(min(max(actual, 0.0), 100.0), 1),
                        _note(element, measured is not None, actual is not None),
                    )
                )
    return rows


def planned_trajectory(
    spec: Specification, quarters: list[Quarter], baseline: float, slips: list[int]
) -> list[float]:
    """Planned % by quarter: straight lines from `baseline` in the first quarter through each
    milestone (reached `slips` quarters after it falls due), then level at the last."""
    points = [(0, baseline)]
    for milestone, slip in zip(spec.milestones, slips, strict=True):
        due = quarters.index(milestone.by) if milestone.by in quarters else len(quarters) - 1
        at = min(due + slip, len(quarters) - 1)
        if at > points[-1][0]:
            points.append((at, max(float(milestone.percent), points[-1][1])))
    plan = []
    for i in range(len(quarters)):
        before = max((p for p in points if p[0] <= i), key=lambda p: p[0])
        after = min((p for p in points if p[0] >= i), key=lambda p: p[0], default=before)
        if after[0] == before[0]:
            plan.append(before[1])
        else:
            share = (i - before[0]) / (after[0] - before[0])
            plan.append(before[1] + (after[1] - before[1]) * share)
    return plan


def _slip(rng: np.random.Generator) -> int:
    """Quarters a plan reaches a milestone after it falls due (0 for most plans)."""
    return int(rng.integers(1, 3)) if rng.random() < LATE_PLANS else 0


def _measured_now(tracker: Tracker, area: Any, element: Element, quarter: Quarter) -> float | None:
    if not element.measured:
        return None
    cell = tracker.cell(area, element, quarter)
    return None if cell.measurement is None else cell.measurement.percent


def _note(element: Element, from_measure: bool, with_actual: bool) -> str:
    if not with_actual:
        return "Synthetic local plan for the demo area."
    if from_measure:
        return (
            f"Synthetic return for the demo area: {element.id} rising from the plan's baseline "
            "to the figure measured today."
        )
    return "Synthetic quarterly return for the demo area (self-assessed)."
