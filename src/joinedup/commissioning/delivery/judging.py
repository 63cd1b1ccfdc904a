"""Comparing actuals with plans and milestones: RAG status, late-plan flags and the
population-weighted aggregate across areas (the rules shown on the pages)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from joinedup.commissioning.specification import (
    Milestone,
    Quarter,
)

RagStatus = Literal["green", "amber", "red", "suppressed", "not_reported", "no_plan"]


RAG_LABELS: dict[str, str] = {
    "green": "Green",
    "amber": "Amber",
    "red": "Red",
    "suppressed": "Suppressed",
    "not_reported": "Not reported",
    "no_plan": "No plan",
}


RAG_RULE = (
    "Green: the actual % is at or above the plan for the quarter (or, with no plan, at or "
    "above every milestone due). Amber: below the plan by less than {amber:g} percentage "
    "points. Red: below the plan by {amber:g} points or more, or a milestone due by the "
    "quarter is missed. Suppressed: measured and reported, but the count is too small to "
    "publish, so it is withheld (it counts as reported). Not reported: no actual %. "
    "No plan: nothing to judge the actual by."
)


FLAG_RULE = (
    "A plan is flagged late when the first quarter its planned % reaches a milestone comes "
    "after the milestone's quarter, or when it never reaches the milestone."
)


AGGREGATE_RULE = (
    "Across areas: the mean of the areas' percentages weighted by their registered "
    "population, over the areas that reported. An area whose figure was withheld as a small "
    "number counts as reporting, but is not in the mean."
)


@dataclass(frozen=True)
class Rag:
    status: RagStatus
    reason: str

    @property
    def label(self) -> str:
        return RAG_LABELS[self.status]


def rag_status(
    planned: float | None,
    actual: float | None,
    quarter: Quarter,
    milestones: Sequence[Milestone],
    amber_within: float,
    *,
    suppressed: bool = False,
) -> Rag:
    """The RAG status of an actual % in a quarter (rule: `RAG_RULE`); `suppressed` says the
    actual was measured but withheld as a small number (reported, not missing)."""
    if actual is None and suppressed:
        return Rag("suppressed", "measured, but the count is too small to publish")
    if actual is None:
        return Rag("not_reported", "no actual % for the quarter")
    due = [m for m in milestones if m.by <= quarter]
    missed = [m for m in due if actual < m.percent]
    if missed:
        worst = max(missed, key=lambda m: m.percent)
        return Rag("red", f"{actual:g}% misses the {worst.percent:g}% milestone due {worst.by}")
    if planned is None:
        if due:
            return Rag("green", "meets every milestone due")
        return Rag("no_plan", "no planned % for the quarter and no milestone due")
    gap = planned - actual
    if gap <= 0:
        return Rag("green", f"{actual:g}% is at or above the plan of {planned:g}%")
    status: RagStatus = "amber" if gap < amber_within else "red"
    return Rag(status, f"{actual:g}% is {gap:g} points below the plan of {planned:g}%")


@dataclass(frozen=True)
class MilestoneFlag:
    milestone: Milestone
    reached: Quarter | None  # the first quarter the plan reaches the milestone
    late: bool

    @property
    def text(self) -> str:
        m = self.milestone
        if self.reached is None:
            return f"the plan never reaches {m.percent:g}% (due {m.by})"
        when = "later than" if self.late else "by"
        return f"the plan reaches {m.percent:g}% in {self.reached}, {when} {m.by}"


def milestone_flags(
    planned: Mapping[Quarter, float | None], milestones: Sequence[Milestone]
) -> list[MilestoneFlag]:
    """For each milestone, when the plan reaches it and whether that is late (`FLAG_RULE`);
    empty when there is no plan at all."""
    plan = sorted((q, p) for q, p in planned.items() if p is not None)
    if not plan:
        return []
    flags = []
    for milestone in milestones:
        reached = next((q for q, p in plan if p >= milestone.percent), None)
        flags.append(
            MilestoneFlag(milestone, reached, late=reached is None or reached > milestone.by)
        )
    return flags


@dataclass(frozen=True)
class Weighted:
    """A population-weighted mean across areas, and how much of the population it covers.

    `areas_reporting` counts every area that reported, those whose figure was withheld as a
    small number (`areas_suppressed`) included: a suppressed figure was reported, it is only
    not published. The mean and `population_share` are over the published figures."""

    percent: float | None
    areas_reporting: int
    population_share: float | None  # of the areas' total population, the share in the mean
    areas_suppressed: int = 0


def weighted_mean(
    values: Sequence[tuple[float | None, int]], *, suppressed: Sequence[bool] = ()
) -> Weighted:
    """Population-weighted mean of (percent, population) pairs, over those with a percent;
    `suppressed` (one flag per pair, when given) marks pairs reported but withheld."""
    flags = list(suppressed) or [False] * len(values)
    withheld = sum(1 for (p, _), s in zip(values, flags, strict=True) if p is None and s)
    reporting = [(p, w) for p, w in values if p is not None and w > 0]
    total = sum(w for _, w in values if w > 0)
    weight = sum(w for _, w in reporting)
    if not weight:
        return Weighted(None, withheld, 0.0 if total else None, withheld)
    mean = sum(p * w for p, w in reporting) / weight
    return Weighted(
        round(mean, 1), len(reporting) + withheld, weight / total if total else None, withheld
    )
