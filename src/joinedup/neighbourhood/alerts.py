"""Virtual-ward alert rules as data, and the pure function that says which alerts fire.

The rules live in ``alert_rules.yaml`` beside this module (what each kind means is written at
its top); `load_rules` checks the whole file and names every problem (`AlertRulesError`). The
NEWS2 thresholds and responses follow RCP NEWS2 Chart 4 (2017; see `news2`); the rise, the
personal baseline and the missed-reading rules are joinedup's, as ADR 0012 records.

`evaluate(rules, history, schedules, now=…)` takes one person's scored sets and observation
schedules and returns every alert that fires up to `now` (or only those after `since`), each
with its reason, the time it fired and its due-by time. It reads no clock and no store, so
rules can be compared on the same history (``only=`` picks rules, including disabled ones).

Rules about a set read its `News2Result`: an incomplete set (ADR 0012) has no total, so only
a red score (a measured parameter scoring 3) can fire on it; rises and baselines use complete
totals only.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.errors import UserError
from joinedup.governance.roles import role_book
from joinedup.neighbourhood.news2 import LABELS, PARAMETERS, News2Result

RULES_FILE = Path(__file__).with_name("alert_rules.yaml")


class AlertRulesError(UserError, ValueError):
    """The alert rules file cannot be used; the message names every problem."""


# --- the rules, as the file declares them -------------------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    respond_within_minutes: int = Field(ge=0, le=7 * 24 * 60)
    escalate_to: tuple[str, ...] = Field(min_length=1)
    response: str = Field(min_length=1)
    enabled: bool = True
    superseded_by: tuple[str, ...] = ()

    @property
    def respond_within(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.respond_within_minutes)


class News2TotalRule(_Rule):
    kind: Literal["news2_total"]
    min_total: int = Field(ge=0, le=20)
    max_total: int = Field(default=20, ge=0, le=20)

    @model_validator(mode="after")
    def _range(self) -> News2TotalRule:
        if self.min_total > self.max_total:
            raise ValueError(f"min_total {self.min_total} is above max_total {self.max_total}")
        return self


class RedScoreRule(_Rule):
    kind: Literal["red_score"]


class RiseRule(_Rule):
    kind: Literal["rise"]
    points: int = Field(ge=1, le=20)
    within_hours: float = Field(gt=0, le=24 * 14)


class BaselineRiseRule(_Rule):
    kind: Literal["baseline_rise"]
    points: int = Field(ge=1, le=20)
    baseline_days: float = Field(gt=0, le=90)
    min_readings: int = Field(ge=1)


class MissedReadingRule(_Rule):
    kind: Literal["missed_reading"]


Rule = Annotated[
    News2TotalRule | RedScoreRule | RiseRule | BaselineRiseRule | MissedReadingRule,
    Field(discriminator="kind"),
]


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    rules: tuple[Rule, ...] = Field(min_length=1)

    def rule(self, rule_id: str) -> Any:
        return next(r for r in self.rules if r.id == rule_id)

    def lookback(self) -> dt.timedelta:
        """How far before a set the enabled rules look: a rise's window, a baseline's days;
        the other rules judge a set on its own. Sets older than this before the first set to
        judge cannot change what fires on it."""
        windows = [dt.timedelta(0)]
        for rule in self.rules:
            if rule.enabled and isinstance(rule, RiseRule):
                windows.append(dt.timedelta(hours=rule.within_hours))
            elif rule.enabled and isinstance(rule, BaselineRiseRule):
                windows.append(dt.timedelta(days=rule.baseline_days))
        return max(windows)


@cache
def load_rules(path: Path = RULES_FILE) -> RuleSet:
    """The alert rules, checked as a whole. Raises `AlertRulesError` naming every problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AlertRulesError(f"{path.name} cannot be read: {exc}") from None
    return parse_rules(data, path.name)


def parse_rules(data: Any, name: str = "alert rules") -> RuleSet:
    try:
        rules = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise AlertRulesError(f"{name}: {'; '.join(problems)}") from None
    problems = _cross_problems(rules)
    if problems:
        raise AlertRulesError(f"{name}: {'; '.join(problems)}")
    return rules


def _cross_problems(rules: RuleSet) -> list[str]:
    ids = [r.id for r in rules.rules]
    roles = set(role_book().roles)
    problems = [
        f"rule id {i!r} is used more than once" for i in sorted(set(ids)) if ids.count(i) > 1
    ]
    for rule in rules.rules:
        problems += [
            f"{rule.id}: escalate_to names {role!r}, which is not a role in roles.yaml"
            for role in rule.escalate_to
            if role not in roles
        ]
        problems += [
            f"{rule.id}: superseded_by names {other!r}, which is not a rule here"
            for other in rule.superseded_by
            if other not in ids or other == rule.id
        ]
    return problems


# --- what the function reads --------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredSet:
    """One set of one person's observations at its effective time, scored."""

    effective: dt.datetime
    result: News2Result

    @property
    def measured(self) -> frozenset[str]:
        return frozenset(PARAMETERS) - frozenset(self.result.missing)


@dataclass(frozen=True)
class Schedule:
    """Observations a person is to send: which parameters, how often, with what grace, from
    when. A set counts for the schedule when it measures every parameter in `what`."""

    what: frozenset[str]
    every: dt.timedelta
    grace: dt.timedelta
    start: dt.datetime

    def __post_init__(self) -> None:
        unknown = sorted(self.what - set(PARAMETERS))
        if unknown or not self.what:
            raise ValueError(f"a schedule names NEWS2 parameters to take, not {unknown}")
        if self.every <= dt.timedelta(0) or self.grace < dt.timedelta(0):
            raise ValueError("a schedule's interval is positive and its grace not negative")

    def describe(self) -> str:
        hours = self.every / dt.timedelta(hours=1)
        return f"{', '.join(LABELS[p] for p in sorted(self.what))} every {hours:g} h"


@dataclass(frozen=True)
class Alert:
    rule_id: str
    title: str
    reason: str
    fired_at: dt.datetime
    due_by: dt.datetime
    escalate_to: tuple[str, ...]
    set_time: dt.datetime | None  # the set it fired on (None for a missed reading)


# --- the pure function ----------------------------------------------------------------------------


def evaluate(
    rules: RuleSet,
    history: Sequence[ScoredSet],
    schedules: Sequence[Schedule] = (),
    *,
    now: dt.datetime,
    since: dt.datetime | None = None,
    only: Collection[str] | None = None,
    on_sets: Collection[dt.datetime] | None = None,
) -> list[Alert]:
    """Every alert that fires on `history` up to `now` (after `since` when given), oldest first.

    `only` evaluates just those rule ids (enabled or not, superseding only among themselves);
    by default the enabled rules run. `on_sets` (times) judges only those sets, each against
    every set before it — what firing on them needs, without judging the history again."""
    chosen = [r for r in rules.rules if (r.id in only if only is not None else r.enabled)]
    sets = sorted((s for s in history if s.effective <= now), key=lambda s: s.effective)
    alerts: list[Alert] = []
    for index, scored in enumerate(sets):
        if on_sets is None or scored.effective in on_sets:
            alerts += _set_alerts(chosen, scored, sets[:index])
    for rule in chosen:
        if isinstance(rule, MissedReadingRule):
            alerts += [a for s in schedules for a in _missed(rule, s, sets, now)]
    return sorted(
        (a for a in alerts if since is None or a.fired_at > since),
        key=lambda a: (a.fired_at, a.rule_id),
    )


def _set_alerts(rules: list[Any], scored: ScoredSet, earlier: list[ScoredSet]) -> list[Alert]:
    fired = {}
    for rule in rules:
        reason = _reason(rule, scored, earlier)
        if reason:
            fired[rule.id] = _alert(rule, reason, scored.effective, scored.effective)
    return [a for rid, a in fired.items() if not set(_rule(rules, rid).superseded_by) & set(fired)]


def _rule(rules: list[Any], rule_id: str) -> Any:
    return next(r for r in rules if r.id == rule_id)


def _reason(rule: Any, scored: ScoredSet, earlier: list[ScoredSet]) -> str | None:
    result = scored.result
    if isinstance(rule, RedScoreRule):
        threes = [LABELS[p] for p, points in result.sub_scores.items() if points == 3]
        return f"3 for {', '.join(threes)} ({result.describe()})" if threes else None
    if result.total is None:
        return None  # an incomplete set has no total to judge
    if isinstance(rule, News2TotalRule):
        if rule.min_total <= result.total <= rule.max_total:
            return f"NEWS2 {result.total} ({result.risk} clinical risk)"
        return None
    if isinstance(rule, RiseRule):
        return _rise(rule, scored, earlier)
    if isinstance(rule, BaselineRiseRule):
        return _baseline_rise(rule, scored, earlier)
    return None


def _complete_before(
    earlier: list[ScoredSet], scored: ScoredSet, window: dt.timedelta
) -> list[ScoredSet]:
    start = scored.effective - window
    return [s for s in earlier if s.result.total is not None and start <= s.effective]


def _rise(rule: RiseRule, scored: ScoredSet, earlier: list[ScoredSet]) -> str | None:
    window = dt.timedelta(hours=rule.within_hours)
    before = _complete_before(earlier, scored, window)
    if not before:
        return None
    lowest = min(before, key=lambda s: (s.result.total, s.effective))
    total, low = scored.result.total, lowest.result.total
    if total is None or low is None or total - low < rule.points:
        return None
    return (
        f"NEWS2 {total}, up {total - low} from {low} at {lowest.effective:%d %b %H:%M} "
        f"(within {rule.within_hours:g} h)"
    )


def _baseline_rise(
    rule: BaselineRiseRule, scored: ScoredSet, earlier: list[ScoredSet]
) -> str | None:
    before = _complete_before(earlier, scored, dt.timedelta(days=rule.baseline_days))
    if len(before) < rule.min_readings:
        return None
    baseline = statistics.median(s.result.total for s in before if s.result.total is not None)
    total = scored.result.total
    if total is None or total - baseline < rule.points:
        return None
    return (
        f"NEWS2 {total}, {total - baseline:g} above the person's median of {baseline:g} "
        f"over {len(before)} sets in {rule.baseline_days:g} days"
    )


def _missed(
    rule: MissedReadingRule, schedule: Schedule, sets: list[ScoredSet], now: dt.datetime
) -> list[Alert]:
    """Each reading due (`every` after the last one taken, or after the start) and not taken
    by its due time + grace fires once, at that moment; a reading at exactly due + grace is on
    time. After a miss the next reading falls due `every` later."""
    taken = [s.effective for s in sets if schedule.what <= s.measured]
    alerts = []
    due = schedule.start + schedule.every
    for when in [*(t for t in taken if t >= schedule.start), None]:
        limit = now if when is None else when
        while due + schedule.grace < limit:
            late = due + schedule.grace
            reason = f"{schedule.describe()}: due {due:%d %b %H:%M}, none by {late:%H:%M}"
            alerts.append(_alert(rule, reason, late, None))
            due += schedule.every
        if when is not None:
            due = when + schedule.every
    return alerts


def _alert(rule: Any, reason: str, fired_at: dt.datetime, set_time: dt.datetime | None) -> Alert:
    return Alert(
        rule_id=rule.id,
        title=rule.title,
        reason=reason,
        fired_at=fired_at,
        due_by=fired_at + rule.respond_within,
        escalate_to=rule.escalate_to,
        set_time=set_time,
    )
