"""The alert-effectiveness ledger: does the virtual ward's alerting work? (issue 15; ADR 0026)

NICE's early value assessment of virtual wards (HTE13, 2023) names the effectiveness of alerts as
an evidence gap: which alerts fire, what response they need, whether it happens, and whether it
changes management. This module answers that from the ward's own alert history. It is pure: it
reads no store and no clock (`ledger_service` gathers what it reads), so every figure can be
checked by hand on a small history.

Per rule (and for all rules together), over the alerts raised in a period:

* **alerts per patient-day** — alerts ÷ days people spent on the ward in the period;
* **time to acknowledgement and to action** — medians in minutes, and the share acknowledged
  (acted on) within the rule's own target (``respond_within_minutes`` in ``alert_rules.yaml``),
  counted from when the alert fired; an alert not yet acknowledged misses the target;
* **changed management** — closed alerts whose closer said the alert changed the person's
  management ÷ closed alerts;
* **false alarms** — closed alerts that changed nothing and were followed by no hospital
  admission, A&E attendance or death within 48 hours ÷ closed alerts;
* **what followed within 48 hours** — an emergency hospital admission, an A&E attendance or a
  death of the person. Population-store activity has dates, not times: an event dated from the
  alert's (UTC) day to the day 48 hours later counts. A ward discharge to hospital or a death
  recorded on the ward has its time and counts when it falls within the 48 hours;
* **positive predictive value for admission** — alerts followed by an admission within 48 hours
  ÷ alerts, with its 95% Wilson score interval (`wilson`), overall and by age band, sex,
  deprivation (IMD quintile) and ethnicity.

**Comparing rules on the same history** (`compare_rules`): any rule of the file — enabled or
not, e.g. the personal-baseline rule against NEWS2 ≥ 5 — is re-run by `alerts.evaluate` over the
stored reading sets of every stay, with nothing changed in the queue. For each candidate: alarms
(one per set, whichever of its rules fired), alarms per patient-day, PPV for admission, and the
share of the hospital admissions during the stays that it warned of in the 48 hours before
(sensitivity; an admission with no alert before it is a missed deterioration).

Everything here is an aggregate: `publish` applies the project's small-number suppression
(`governance.suppression`: 1–7 withheld, others rounded to 5) to every count, works shares and
intervals out from the published counts, and withholds a median whose group is withheld.

Wilson interval: Wilson E.B., "Probable inference, the law of succession, and statistical
inference", *J Am Stat Assoc* 22 (1927) 209–212; recommended for proportions by Newcombe R.G.,
"Two-sided confidence intervals for the single proportion: comparison of seven methods",
*Stat Med* 17 (1998) 857–872 (method 3).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from joinedup.governance.suppression import suppress_count, withheld_unless
from joinedup.neighbourhood import alerts

#: z for a two-sided 95% interval (the 97.5th centile of the standard normal).
Z95 = 1.959963984540054
FOLLOW_UP = dt.timedelta(hours=48)
OUTCOME_KINDS = ("admission", "ae", "death")
ALL_RULES = "all"
DIMENSIONS = ("age_band", "sex", "deprivation", "ethnicity")
NOT_KNOWN = "not known"


# --- what the ledger reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFact:
    """One alert of the queue as the ledger reads it (no reason text, no outcome text)."""

    rule_id: str
    person_id: int
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    actioned_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    changed_management: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """Something that happened to a person: an emergency admission, an A&E attendance or a
    death, on a day (population store) or at a time (recorded on the ward)."""

    person_id: int
    kind: str
    when: dt.date | dt.datetime


@dataclass(frozen=True)
class PersonGroups:
    """The groups a person is counted in for the breakdowns."""

    date_of_birth: dt.date | None
    sex: str | None
    imd_decile: int | None
    ethnicity: str | None

    def groups(self, on: dt.date) -> dict[str, str]:
        return {
            "age_band": age_band(self.date_of_birth, on),
            "sex": {"F": "female", "M": "male"}.get(self.sex or "", NOT_KNOWN),
            "deprivation": deprivation_quintile(self.imd_decile),
            "ethnicity": self.ethnicity or NOT_KNOWN,
        }


def age_band(born: dt.date | None, on: dt.date) -> str:
    """Bands of the ages virtual wards mostly hold (most patients are over 65)."""
    if born is None:
        return NOT_KNOWN
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for upper, label in ((65, "under 65"), (75, "65–74"), (85, "75–84")):
        if age < upper:
            return label
    return "85 and over"


def deprivation_quintile(decile: int | None) -> str:
    """IMD 2019 quintile from the decile: 1 is the most deprived fifth."""
    if decile is None:
        return NOT_KNOWN
    quintile = (decile + 1) // 2
    return {1: "1 (most deprived)", 5: "5 (least deprived)"}.get(quintile, str(quintile))


# --- Wilson interval ---------------------------------------------------------------------------


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for `successes` of `trials` (None when there are no trials)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes of {trials} trials")
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Proportion:
    """x of n, with the share and its 95% Wilson interval (None when withheld or n is 0)."""

    x: int | None
    n: int | None

    @property
    def share(self) -> float | None:
        return None if self.x is None or not self.n else self.x / self.n

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.x is None or not self.n:
            return None
        return wilson(min(self.x, self.n), self.n)


# --- the ledger --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleLedger:
    """What one rule's alerts (or all alerts: `rule_id` "all") came to."""

    rule_id: str
    title: str
    target_minutes: int | None
    fired: int | None
    per_patient_day: float | None
    acknowledged: int | None
    acknowledged_in_time: Proportion
    median_minutes_to_acknowledge: float | None
    actioned: int | None
    actioned_in_time: Proportion
    median_minutes_to_action: float | None
    closed: int | None
    changed_management: Proportion
    false_alarms: Proportion
    followed_by: Mapping[str, int | None]
    ppv_admission: Proportion
    #: dimension → group → PPV for admission of the alerts of people in that group
    by_group: Mapping[str, Mapping[str, Proportion]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ledger:
    patient_days: float
    rules: tuple[RuleLedger, ...]  # each rule that fired or is in the file, then "all"


def followed_within(
    fact_time: dt.datetime, outcomes: Iterable[Outcome], window: dt.timedelta = FOLLOW_UP
) -> set[str]:
    """The kinds of outcome within `window` after `fact_time` (dated events by day)."""
    end = fact_time + window
    kinds = set()
    for outcome in outcomes:
        when = outcome.when
        if isinstance(when, dt.datetime):
            hit = fact_time <= when <= end
        else:
            hit = fact_time.date() <= when <= end.date()
        if hit:
            kinds.add(outcome.kind)
    return kinds


def build_ledger(
    facts: Sequence[AlertFact],
    *,
    rules: alerts.RuleSet,
    patient_days: float,
    outcomes: Iterable[Outcome] = (),
    people: Mapping[int, PersonGroups] | None = None,
) -> Ledger:
    """The ledger of `facts` (the alerts of one period), with raw counts (see `publish`)."""
    by_person: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        by_person.setdefault(outcome.person_id, []).append(outcome)
    followed = [followed_within(f.raised_at, by_person.get(f.person_id, [])) for f in facts]
    people = people or {}
    rows = []
    rule_ids = [r.id for r in rules.rules]
    targets = {r.id: r.respond_within for r in rules.rules}
    rule_ids += sorted({f.rule_id for f in facts} - set(rule_ids))
    for rule_id in [*rule_ids, ALL_RULES]:
        chosen = [i for i, f in enumerate(facts) if rule_id in (ALL_RULES, f.rule_id)]
        rule = next((r for r in rules.rules if r.id == rule_id), None)
        rows.append(
            _rule_ledger(
                rule_id,
                rule,
                [facts[i] for i in chosen],
                [followed[i] for i in chosen],
                Context(patient_days, people, targets),
            )
        )
    return Ledger(patient_days, tuple(rows))


@dataclass(frozen=True)
class Context:
    patient_days: float
    people: Mapping[int, PersonGroups]
    #: each rule's response target; an alert of a rule the file no longer has has none
    targets: Mapping[str, dt.timedelta]


def _rule_ledger(
    rule_id: str,
    rule: object | None,
    facts: list[AlertFact],
    followed: list[set[str]],
    context: Context,
) -> RuleLedger:
    target = getattr(rule, "respond_within", None)
    title = getattr(rule, "title", "All alerts" if rule_id == ALL_RULES else rule_id)
    acked = [f for f in facts if f.acknowledged_at is not None]
    acted = [f for f in facts if f.actioned_at is not None]
    closed = [(f, k) for f, k in zip(facts, followed, strict=True) if f.closed_at is not None]
    changed = sum(1 for f, _ in closed if f.changed_management)
    false = sum(1 for f, k in closed if not f.changed_management and not k)
    admitted = [("admission" in k) for k in followed]
    days = context.patient_days
    return RuleLedger(
        rule_id=rule_id,
        title=title,
        target_minutes=None if target is None else int(target / dt.timedelta(minutes=1)),
        fired=len(facts),
        per_patient_day=len(facts) / days if days > 0 else None,
        acknowledged=len(acked),
        acknowledged_in_time=_in_time(facts, "acknowledged_at", context.targets),
        median_minutes_to_acknowledge=_median_minutes(acked, "acknowledged_at"),
        actioned=len(acted),
        actioned_in_time=_in_time(facts, "actioned_at", context.targets),
        median_minutes_to_action=_median_minutes(acted, "actioned_at"),
        closed=len(closed),
        changed_management=Proportion(changed, len(closed)),
        false_alarms=Proportion(false, len(closed)),
        followed_by={kind: sum(1 for k in followed if kind in k) for kind in OUTCOME_KINDS},
        ppv_admission=Proportion(sum(admitted), len(facts)),
        by_group=_by_group(facts, admitted, context.people),
    )


def _in_time(
    facts: list[AlertFact], column: str, targets: Mapping[str, dt.timedelta]
) -> Proportion:
    """Alerts answered (acknowledged, acted on) within their rule's target ÷ alerts with a
    target; one not answered at all has missed it."""
    timed = [f for f in facts if f.rule_id in targets]
    met = 0
    for fact in timed:
        done = getattr(fact, column)
        met += done is not None and done - fact.raised_at <= targets[fact.rule_id]
    return Proportion(met, len(timed))


def _median_minutes(facts: list[AlertFact], column: str) -> float | None:
    if not facts:
        return None
    return statistics.median(
        (getattr(f, column) - f.raised_at) / dt.timedelta(minutes=1) for f in facts
    )


def _by_group(
    facts: list[AlertFact], admitted: list[bool], people: Mapping[int, PersonGroups]
) -> dict[str, dict[str, Proportion]]:
    counts: dict[str, dict[str, list[int]]] = {d: {} for d in DIMENSIONS}
    unknown = PersonGroups(None, None, None, None)
    for fact, was_admitted in zip(facts, admitted, strict=True):
        groups = people.get(fact.person_id, unknown).groups(fact.raised_at.date())
        for dimension, group in groups.items():
            cell = counts[dimension].setdefault(group, [0, 0])
            cell[0] += was_admitted
            cell[1] += 1
    return {
        d: {g: Proportion(x, n) for g, (x, n) in sorted(cells.items())}
        for d, cells in counts.items()
    }


# --- comparing rules on the same history --------------------------------------------------------


@dataclass(frozen=True)
class Stay:
    """One stay on the ward in the period, with its scored sets, for re-running rules."""

    person_id: int
    admitted_at: dt.datetime
    discharged_at: dt.datetime | None
    history: tuple[alerts.ScoredSet, ...]


@dataclass(frozen=True)
class Candidate:
    label: str
    rule_ids: tuple[str, ...]


#: What the ledger page compares by default: the fixed NEWS2 threshold against the person's own
#: baseline, and the other set rules alone.
CANDIDATES = (
    Candidate("NEWS2 5 or more", ("news2-medium", "news2-high")),
    Candidate("Personal baseline: 3 above own 7-day median", ("baseline-rise",)),
    Candidate("Any red score", ("news2-red-score",)),
    Candidate("Rise of 2 within 24 hours", ("news2-rise",)),
)


@dataclass(frozen=True)
class Comparison:
    label: str
    alarms: int | None
    per_patient_day: float | None
    ppv_admission: Proportion
    admissions_warned: Proportion  # sensitivity: admissions with an alarm in the 48 h before


def compare_rules(
    stays: Sequence[Stay],
    candidates: Sequence[Candidate],
    *,
    rules: alerts.RuleSet,
    start: dt.datetime,
    end: dt.datetime,
    patient_days: float,
    outcomes: Iterable[Outcome] = (),
) -> list[Comparison]:
    """Each candidate re-run over the same stays' sets in [start, end), raw counts."""
    known = {r.id for r in rules.rules}
    by_person: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        by_person.setdefault(outcome.person_id, []).append(outcome)
    results = []
    for candidate in candidates:
        if not set(candidate.rule_ids) <= known:
            continue  # a rule the file no longer has: nothing to re-run
        alarms: list[tuple[int, dt.datetime]] = []
        for stay in stays:
            times = {
                a.fired_at
                for a in alerts.evaluate(rules, stay.history, now=end, only=candidate.rule_ids)
                if start <= a.fired_at < end
            }
            alarms += [(stay.person_id, t) for t in sorted(times)]
        admitted = sum("admission" in followed_within(t, by_person.get(p, [])) for p, t in alarms)
        warned, admissions = _admissions_warned(stays, alarms, by_person, start, end)
        results.append(
            Comparison(
                label=candidate.label,
                alarms=len(alarms),
                per_patient_day=len(alarms) / patient_days if patient_days > 0 else None,
                ppv_admission=Proportion(admitted, len(alarms)),
                admissions_warned=Proportion(warned, admissions),
            )
        )
    return results


def _admissions_warned(
    stays: Sequence[Stay],
    alarms: list[tuple[int, dt.datetime]],
    by_person: Mapping[int, list[Outcome]],
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[int, int]:
    """Hospital admissions during a stay (in the period) and how many had an alarm of the
    person's in the 48 hours before (a dated admission: from two days before its day)."""
    warned = 0
    admissions: set[tuple[int, dt.date]] = set()
    for stay in stays:
        stay_end = min(end, stay.discharged_at or end)
        for outcome in by_person.get(stay.person_id, []):
            when = outcome.when
            day = when.date() if isinstance(when, dt.datetime) else when
            if outcome.kind != "admission" or not _during(when, stay.admitted_at, stay_end):
                continue
            if (stay.person_id, day) in admissions:
                continue  # a discharge to hospital and its spell are one admission
            admissions.add((stay.person_id, day))
            warned += any(p == stay.person_id and followed_within(t, [outcome]) for p, t in alarms)
    return warned, len(admissions)


def _during(when: dt.date | dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    if isinstance(when, dt.datetime):
        return start <= when <= end
    return start.date() <= when <= end.date()


# --- publishing: small-number suppression -------------------------------------------------------


def publish_proportion(value: Proportion) -> Proportion:
    return Proportion(suppress_count(value.x), suppress_count(value.n))


def publish(ledger: Ledger) -> Ledger:
    """The ledger as it may be shown: every count suppressed (1–7 withheld, others rounded to
    5), shares and intervals from the published counts, medians withheld with their group."""
    return replace(ledger, rules=tuple(_publish_rule(r, ledger.patient_days) for r in ledger.rules))


def _publish_rule(row: RuleLedger, patient_days: float) -> RuleLedger:
    fired = suppress_count(row.fired)
    return replace(
        row,
        fired=fired,
        per_patient_day=None if fired is None or patient_days <= 0 else fired / patient_days,
        acknowledged=suppress_count(row.acknowledged),
        acknowledged_in_time=publish_proportion(row.acknowledged_in_time),
        median_minutes_to_acknowledge=withheld_unless(
            row.acknowledged, row.median_minutes_to_acknowledge
        ),
        actioned=suppress_count(row.actioned),
        actioned_in_time=publish_proportion(row.actioned_in_time),
        median_minutes_to_action=withheld_unless(row.actioned, row.median_minutes_to_action),
        closed=suppress_count(row.closed),
        changed_management=publish_proportion(row.changed_management),
        false_alarms=publish_proportion(row.false_alarms),
        followed_by={k: suppress_count(v) for k, v in row.followed_by.items()},
        ppv_admission=publish_proportion(row.ppv_admission),
        by_group={
            d: {g: publish_proportion(p) for g, p in cells.items()}
            for d, cells in row.by_group.items()
        },
    )


def publish_comparison(rows: Sequence[Comparison], patient_days: float) -> list[Comparison]:
    published = []
    for row in rows:
        alarms = suppress_count(row.alarms)
        published.append(
            replace(
                row,
                alarms=alarms,
                per_patient_day=None
                if alarms is None or patient_days <= 0
                else alarms / patient_days,
                ppv_admission=publish_proportion(row.ppv_admission),
                admissions_warned=publish_proportion(row.admissions_warned),
            )
        )
    return published
