"""Social prescribing reports: referrals by source and need, time from referral to first
contact, the change in each outcome measure with its 95% interval (overall and by age band,
sex, deprivation and ethnicity), and the directory services most and least taken up.

Aggregates leave people who object to the use of their data out, and every count passes
through `governance.suppression` (a figure about a group is withheld when its count is).

**Change in an outcome** is paired: for each referral with a measure at start and a later one
(at end, or else the latest review), after − before. The mean change has a 95% interval from
Student's t with n − 1 degrees of freedom, as the scale's authors advise for (S)WEMWBS
(Warwick Medical School, "Collect, score, analyse and interpret WEMWBS": scores approximate a
normal distribution, so compare means with t-tests). SWEMWBS changes are in metric scores
(`measures.swemwbs_metric`). ONS4 items are reported one by one; for anxiety a fall is better.
Groups reuse the lenses of `analytics.inequalities` (IMD quintile, ethnic group, age band at
referral), plus sex.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.inequalities import LENSES
from joinedup.directory.models import DirectoryService
from joinedup.directory.social_prescribing import measures
from joinedup.directory.social_prescribing.models import (
    NEEDS,
    SOURCES,
    SocialPrescribingMeasure,
    SocialPrescribingOnwardReferral,
    SocialPrescribingReferral,
)
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import suppress_count, suppressed_share, withheld_unless
from joinedup.population.reads import equity_groups
from joinedup.population.store import PopulationStore


def _stats():  # type: ignore[no-untyped-def]
    """scipy.stats, imported when these reports first need it: it takes seconds to import, a cost
    every process serving the web app would otherwise pay at start-up."""
    from scipy import stats

    return stats


SEX_LABELS = {"F": "Female", "M": "Male"}
BREAKDOWNS = ("age_band", "sex", "imd_quintile", "ethnicity")
BREAKDOWN_TITLES = {
    "age_band": "Age band at referral",
    "sex": "Sex",
    "imd_quintile": LENSES["imd_quintile"].title,
    "ethnicity": LENSES["ethnicity"].title,
}


@dataclass(frozen=True)
class Count:
    label: str
    count: int | None  # suppressed


@dataclass(frozen=True)
class WaitSummary:
    people: int | None  # suppressed
    median_days: float | None
    lower_quartile_days: float | None
    upper_quartile_days: float | None


@dataclass(frozen=True)
class Change:
    """The mean change of one outcome in one group, with its 95% interval."""

    group: str
    people: int | None  # suppressed
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class OutcomeChanges:
    key: str
    title: str
    higher_is_better: bool
    overall: Change
    by: dict[str, list[Change]]


@dataclass(frozen=True)
class ServiceUptake:
    service_id: str
    name: str
    referred: int | None
    attended: int | None
    attended_share: float | None


@dataclass(frozen=True)
class Report:
    referrals: int | None
    by_source: list[Count]
    by_need: list[Count]
    wait: WaitSummary
    outcomes: list[OutcomeChanges]
    most_taken_up: list[ServiceUptake]
    least_taken_up: list[ServiceUptake]


def social_prescribing_report(
    sessions: sessionmaker[Session], store: PopulationStore, *, top: int = 5
) -> Report:
    """Every social prescribing aggregate, objectors left out, small numbers suppressed."""
    objectors = active_objectors(sessions)
    with sessions() as session:
        referrals = [
            r
            for r in session.scalars(select(SocialPrescribingReferral))
            if r.person_id not in objectors
        ]
        ids = [r.id for r in referrals]
        measure_rows = _measures(session, ids)
        uptake = _uptake(session, ids)
    groups = _groups(store, referrals)
    ranked = sorted(
        (u for u in uptake if u.attended_share is not None),
        key=lambda u: (-(u.attended_share or 0), u.name),
    )
    return Report(
        referrals=suppress_count(len(referrals)),
        by_source=_counts(Counter(r.source for r in referrals), SOURCES),
        by_need=_counts(Counter(n for r in referrals for n in r.needs), NEEDS),
        wait=waiting_times(
            [
                (r.first_contact_at - r.referred_at).total_seconds() / 86_400
                for r in referrals
                if r.first_contact_at is not None
            ]
        ),
        outcomes=_outcomes(referrals, measure_rows, groups),
        most_taken_up=ranked[:top],
        least_taken_up=list(reversed(ranked[-top:])) if len(ranked) > top else [],
    )


def _counts(counter: Counter[str], order: Sequence[str]) -> list[Count]:
    return [Count(label, suppress_count(counter.get(label, 0))) for label in order]


def waiting_times(days: Sequence[float]) -> WaitSummary:
    """Median and quartiles of the days from referral to first contact."""
    n = len(days)
    if n < 2:
        return WaitSummary(suppress_count(n), None, None, None)
    q1, median, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return WaitSummary(
        suppress_count(n),
        withheld_unless(n, round(median, 1)),
        withheld_unless(n, round(q1, 1)),
        withheld_unless(n, round(q3, 1)),
    )


def mean_change(group: str, pairs: Sequence[tuple[float, float]]) -> Change:
    """Mean of after − before with its t-based 95% interval; withheld for small groups."""
    n = len(pairs)
    if n < 2:
        return Change(group, suppress_count(n), None, None, None, None, None)
    changes = [after - before for before, after in pairs]
    mean = statistics.fmean(changes)
    half = _stats().t.ppf(0.975, n - 1) * statistics.stdev(changes) / math.sqrt(n)

    def shown(value: float) -> float | None:
        return withheld_unless(n, round(value, 2))

    return Change(
        group,
        suppress_count(n),
        shown(statistics.fmean(b for b, _ in pairs)),
        shown(statistics.fmean(a for _, a in pairs)),
        shown(mean),
        shown(mean - half),
        shown(mean + half),
    )


# --- outcome measures -----------------------------------------------------------------------------

OUTCOMES: tuple[tuple[str, str, str, str | None, bool], ...] = (
    # key, title, instrument, ONS4 item (None: the measure's score), higher is better
    ("wemwbs", "WEMWBS (14–70)", "wemwbs", None, True),
    ("swemwbs", "SWEMWBS metric score (7–35)", "swemwbs", None, True),
    *(
        (f"ons4_{name}", f"ONS4 {name.replace('_', ' ')} (0–10)", "ons4", name, name != "anxious")
        for name, _ in measures.ONS4_ITEMS
    ),
)


def _value(m: SocialPrescribingMeasure, item: str | None) -> float | None:
    if item is None:
        return m.score
    return float(measures.ons4_item(m.items, item))


def paired(
    rows: Iterable[SocialPrescribingMeasure], instrument: str, item: str | None
) -> tuple[float, float] | None:
    """(before, after) of one referral: its first start measure and its end (else latest
    review) measure recorded after it; None when either is missing."""
    mine = sorted((m for m in rows if m.instrument == instrument), key=lambda m: m.recorded_at)
    start = next((m for m in mine if m.timepoint == "start"), None)
    if start is None:
        return None
    later = [m for m in mine if m.recorded_at >= start.recorded_at and m is not start]
    after = next((m for m in reversed(later) if m.timepoint == "end"), None) or next(
        (m for m in reversed(later) if m.timepoint == "review"), None
    )
    if after is None:
        return None
    before_value, after_value = _value(start, item), _value(after, item)
    if before_value is None or after_value is None:
        return None
    return before_value, after_value


def _outcomes(
    referrals: list[SocialPrescribingReferral],
    rows: dict[int, list[SocialPrescribingMeasure]],
    groups: pd.DataFrame,
) -> list[OutcomeChanges]:
    found = []
    for key, title, instrument, item, higher in OUTCOMES:
        pairs = {
            r.id: pair for r in referrals if (pair := paired(rows.get(r.id, []), instrument, item))
        }
        if not pairs:
            continue
        by = {
            lens: [
                mean_change(label, [pairs[i] for i in pairs if groups.at[i, lens] == label])
                for label in _labels(lens)
            ]
            for lens in BREAKDOWNS
        }
        found.append(
            OutcomeChanges(key, title, higher, mean_change("Everyone", list(pairs.values())), by)
        )
    return found


def _labels(lens: str) -> tuple[str, ...]:
    if lens == "sex":
        return tuple(SEX_LABELS.values())
    return LENSES[lens].groups


def _groups(store: PopulationStore, referrals: list[SocialPrescribingReferral]) -> pd.DataFrame:
    """Each referral's groups: age band at referral, sex, IMD quintile and ethnic group."""
    people = equity_groups(store, {r.person_id for r in referrals})
    rows = []
    for r in referrals:
        p = people.get(r.person_id)
        day = r.referred_at.date()
        rows.append(
            {
                "referral_id": r.id,
                "age": None if p is None else _age(p.date_of_birth, day),
                "sex": None if p is None else SEX_LABELS.get(p.sex),
                "imd_decile": None if p is None else p.imd_decile,
                "ethnicity": None if p is None else p.ethnicity,
            }
        )
    frame = pd.DataFrame(rows, columns=["referral_id", "age", "sex", "imd_decile", "ethnicity"])
    frame = frame.set_index("referral_id")
    frame["imd_decile"] = frame["imd_decile"].astype("Int64")
    frame["age"] = frame["age"].astype("Int64")
    for lens in ("age_band", "imd_quintile", "ethnicity"):
        frame[lens] = LENSES[lens].assign(frame) if len(frame) else pd.Series(dtype=object)
    return frame


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- services taken up ----------------------------------------------------------------------------


def _measures(session: Session, ids: list[int]) -> dict[int, list[SocialPrescribingMeasure]]:
    found: dict[int, list[SocialPrescribingMeasure]] = {}
    for m in session.scalars(
        select(SocialPrescribingMeasure).where(SocialPrescribingMeasure.referral_id.in_(ids))
    ):
        found.setdefault(m.referral_id, []).append(m)
    return found


def _uptake(session: Session, ids: list[int]) -> list[ServiceUptake]:
    """Per service: onward referrals with a known outcome, and how many were attended."""
    referred: Counter[str] = Counter()
    attended: Counter[str] = Counter()
    names: dict[str, str] = {}
    for onward, name in session.execute(
        select(SocialPrescribingOnwardReferral, DirectoryService.name)
        .join(DirectoryService, DirectoryService.id == SocialPrescribingOnwardReferral.service_id)
        .where(
            SocialPrescribingOnwardReferral.referral_id.in_(ids),
            SocialPrescribingOnwardReferral.outcome.is_not(None),
        )
    ):
        referred[onward.service_id] += 1
        attended[onward.service_id] += onward.outcome == "attended"
        names[onward.service_id] = name
    return [
        ServiceUptake(
            sid,
            names[sid],
            suppress_count(referred[sid]),
            suppress_count(attended[sid]),
            suppressed_share(attended[sid], referred[sid]),
        )
        for sid in sorted(referred)
    ]
