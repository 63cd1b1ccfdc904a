"""GP appointments and A&E attendances in the six months before and after referral to social
prescribing, against matched people not referred (issue 19).

The design is the programme evaluation's (`analytics.evaluation.did`, ADR 0019) with the
referral date as each person's index date:

* **Referred people.** Each person's first referral in the care store (any source, whatever
  came of it: the effect of being referred, intention to treat), objectors left out. The
  index date is the referral's UK date. A referral is **excluded, and counted**, when its six
  months after run past the extract date (follow-up incomplete), when the store's records do
  not reach twelve months before it, when the person is not in the population store, or when
  the person was not registered and alive throughout the six months before it (their use
  before is not known in full). Deaths and moves during the six months after are kept: the
  model counts each person's days registered and alive (an offset), so they contribute only
  the time they could have used care here; how many that is is shown.
* **Comparison people.** People in the store never referred (and not objecting), up to
  `CONTROLS_PER_REFERRED` for each referred person (and at least `MIN_POOL`, so a small area
  offers everyone), drawn at random with a fixed seed. Each is
  given a *pseudo index date* drawn from the referred people's index dates, so the two groups'
  calendar time matches, and must meet the same eligibility on it.
* **Matching.** Coarsened exact matching (Iacus, King & Porro, Political Analysis 2012) on age
  band, sex, deprivation quintile, frailty (coded eFI deficits recorded before the index date:
  fit, mild, moderate or severe; Clegg et al. 2016, polypharmacy left out as the evaluation
  leaves it out), GP appointments and A&E attendances in the six months before (banded) and
  the calendar quarter of the index date. Unmatched strata are dropped; comparison people are
  weighted to the referred people's stratum mix (`did.cem_weights`); the balance table gives
  standardised mean differences before and after matching (`did.balance_table`).
* **Estimate.** Per outcome, a Poisson regression (statsmodels GLM, `did.fit_poisson`) of each
  person's count in the six months before and after, offset by their days at risk:
  count ~ referred + after + referred × after. exp(β) − 1 of the interaction is the relative
  change in the referred people's rate against the comparison's, with a 95% interval from
  errors robust by person (referral is a person's, so people are the clusters).
* **Checks.** Balance (|SMD| < 0.1), the share of referred people matched, and, per outcome,
  the same model over the six months *before* the index date against the six months before
  that: a rise among the referred just before referral means referral followed a spike in use,
  and part of any fall after it is regression to the mean (Barnett, van der Pols & Dobson,
  Int J Epidemiol 2005), which matching on the six months before does not remove.

Aggregates leave objectors out; every count passes `governance.suppression`, and a group's
rates are withheld when its count is.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.evaluation import did
from joinedup.analytics.evaluation.result import Check
from joinedup.analytics.scores import efi
from joinedup.dates import UK_TIME_ZONE, long_date
from joinedup.directory.social_prescribing.models import SocialPrescribingReferral
from joinedup.governance.objections import active_objectors
from joinedup.governance.suppression import SUPPRESSED_BELOW, suppress_count, withheld_unless
from joinedup.population import reads
from joinedup.population.store import METADATA_FILE, PopulationStore

WINDOW_MONTHS = 6
HISTORY_MONTHS = 2 * WINDOW_MONTHS  # the earlier six months feed the check before referral
CONTROLS_PER_REFERRED = 20
MIN_POOL = 20_000  # a small area's whole population is drawn on: matching needs the choice
SEED = 19
HALF_YEAR_DAYS = 365.25 / 2  # rates are shown per person per six months
OUTCOMES: Mapping[str, str] = {
    "gp_appointments": "GP practice appointments attended",
    "ae_attendances": "A&E attendances",
}
#: The three windows around the index date, in months: [start, end).
PERIODS: Mapping[str, tuple[int, int]] = {
    "earlier": (-HISTORY_MONTHS, -WINDOW_MONTHS),
    "before": (-WINDOW_MONTHS, 0),
    "after": (0, WINDOW_MONTHS),
}
AGE_EDGES = (18, 40, 65, 75, 85)  # bands 0–17, 18–39, 40–64, 65–74, 75–84, 85+
EFI_EDGES = (1, 3, 5, 9, 13)  # 0, 1–2, 3–4 (fit, split), mild 5–8, moderate 9–12, severe 13+
USE_EDGES = {"gp_appointments": (1, 3, 6), "ae_attendances": (1, 2)}  # 0, 1–2, 3–5, 6+; 0, 1, 2+
BALANCE = {
    "age": "age (years)",
    "female": "female",
    "imd_decile": "IMD decile (1 most deprived)",
    "efi_deficits": "eFI deficits coded before the index date",
    "gp_appointments_before": "GP practice appointments, six months before",
    "ae_attendances_before": "A&E attendances, six months before",
}
SMD_LIMIT = did.SMD_LIMIT
MATCHED_SHARE = 0.9

EXCLUSIONS = {
    "follow_up": "referred less than six months before the extract date (follow-up incomplete)",
    "history": "the store's records begin less than twelve months before the referral",
    "unknown": "not in the population store",
    "not_registered": "not registered and alive throughout the six months before the referral",
}


@dataclass(frozen=True)
class Excluded:
    reason: str
    people: int | None  # suppressed


@dataclass(frozen=True)
class BalanceRow:
    key: str
    characteristic: str
    referred_mean_before: float | None  # every eligible referred person
    comparison_mean_before: float | None  # every eligible comparison person, unweighted
    referred_mean_after: float | None  # the matched referred
    comparison_mean_after: float | None  # the matched comparison people, weighted
    smd_before: float
    smd_after: float


@dataclass(frozen=True)
class UseChange:
    """One outcome: rates per person per six months and the difference-in-differences."""

    outcome: str
    label: str
    referred_before: float | None
    referred_after: float | None
    comparison_before: float | None
    comparison_after: float | None
    change: float | None  # relative: −0.1 is 10% fewer than the comparison implies
    low: float | None
    high: float | None
    # The same model one window earlier: before the referral against the six months before that.
    change_before_referral: float | None
    low_before_referral: float | None
    high_before_referral: float | None
    problem: str | None = None  # why there is no estimate


@dataclass
class MatchedUse:
    extract_date: dt.date
    latest_index_date: dt.date  # the last referral date with six months of follow-up
    referrals: int | None  # everyone's first referrals, objectors left out (suppressed)
    eligible: int | None  # referred people left after the exclusions (suppressed)
    matched_referred: int | None
    matched_comparison: int | None
    comparison_pool: int | None  # eligible comparison people before matching
    follow_up_cut_short: int | None  # matched referred people who died or left within six months
    excluded: list[Excluded]
    matched: bool = False  # whether matching ran (the matched counts mean something)
    balance: list[BalanceRow] = field(default_factory=list)
    changes: list[UseChange] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    problem: str | None = None  # why there is no estimate at all
    interval_meaning: str = (
        "95% confidence interval of exp(β) − 1 for the referred × after term of a Poisson "
        "regression offset by days registered and alive, weighted by the matching, with errors "
        "robust by person"
    )

    @property
    def does_not_show(self) -> list[str]:
        return [
            f"People referred after {long_date(self.latest_index_date)} are left out: their six "
            f"months after referral are not over by the extract date "
            f"({long_date(self.extract_date)}).",
            "It is the effect of being referred, not of taking part: people who declined or "
            "did not engage are counted with the rest (intention to treat).",
            "It is not a randomised comparison: whatever led to a referral and is not in the "
            "records (a bereavement, loneliness, a new diagnosis not yet coded) may also change "
            "how often people see their GP or go to A&E. Matching only balances the "
            "characteristics in the balance table.",
            "Regression to the mean: if people were referred because they had been using a lot "
            "of care, their use falls afterwards whatever is done. Matching on the six months "
            "before does not remove this; the check of no change before referral compares "
            "the six months before referral with the six before that.",
            "The comparison people were never referred up to the extract date, so people "
            "referred later are not among them.",
            "It counts appointments in general practice attended (any clinician, practice or "
            "hub) and A&E attendances only: not other services, costs, or wellbeing.",
        ]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["does_not_show"] = self.does_not_show
        return data


def matched_use(sessions: sessionmaker[Session], store: PopulationStore) -> MatchedUse | None:
    """The report from the care store's referrals (objectors left out) and the population;
    None when there is no population store to compare in.

    Worked out once for the same referrals, objectors and population files (a few seconds of
    CPU on 300,000 people, bench/RESULTS.md), then served from memory: a new referral, a new
    objection or a new extract makes it again. Callers must not change the answer."""
    if not store.exists():
        return None
    objectors = active_objectors(sessions)
    with sessions() as session:
        first = session.execute(
            select(
                SocialPrescribingReferral.person_id, func.min(SocialPrescribingReferral.referred_at)
            ).group_by(SocialPrescribingReferral.person_id)
        ).all()
    referred = tuple(sorted((int(pid), _uk_date(at)) for pid, at in first))
    return _remembered(str(store.root), _stamps(store), referred, objectors)


def _stamps(store: PopulationStore) -> tuple[int, ...]:
    """When the population files this report reads were last written."""
    tables = ("patients", "registrations", "gp_appointments", "ae_attendances", "clinical_events")
    files = [store.root / METADATA_FILE, *(store.path(t) for t in tables)]
    return tuple(f.stat().st_mtime_ns if f.is_file() else 0 for f in files)


@functools.lru_cache(maxsize=4)
def _remembered(
    root: str,
    stamps: tuple[int, ...],
    referred: tuple[tuple[int, dt.date], ...],
    left_out: frozenset[int],
) -> MatchedUse:
    return matched_use_of(PopulationStore(Path(root)), dict(referred), left_out=left_out)


def _uk_date(moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(UK_TIME_ZONE).date()


def matched_use_of(
    store: PopulationStore,
    referred: Mapping[int, dt.date],
    *,
    left_out: frozenset[int] = frozenset(),
    seed: int = SEED,
) -> MatchedUse:
    """The report for people first referred on the given dates; `left_out` (objectors) are
    neither referred nor comparison people. Deterministic for a given `seed`."""
    cohort, excluded, latest, extract, pool = build_cohort(store, referred, left_out, seed)
    referrals = sum(1 for p in referred if p not in left_out)
    report = MatchedUse(
        extract_date=extract,
        latest_index_date=latest,
        referrals=suppress_count(referrals),
        eligible=suppress_count(int(cohort["treated"].sum())),
        matched_referred=None,
        matched_comparison=None,
        comparison_pool=suppress_count(pool),
        follow_up_cut_short=None,
        excluded=[Excluded(EXCLUSIONS[k], suppress_count(excluded[k])) for k in EXCLUSIONS],
    )
    treated = cohort["treated"].to_numpy(dtype=bool)
    if not treated.any() or treated.all():
        report.problem = (
            "no referred person has six months of follow-up yet"
            if not treated.any()
            else "there is no one to compare with"
        )
        return report
    weights = did.cem_weights(cohort, strata(cohort))
    matched_t = int((weights[treated] > 0).sum())
    matched_c = int((weights[~treated] > 0).sum())
    report.matched = True
    report.matched_referred = suppress_count(matched_t)
    report.matched_comparison = suppress_count(matched_c)
    if matched_t < SUPPRESSED_BELOW:
        report.problem = (
            f"fewer than {SUPPRESSED_BELOW} referred people with six months of follow-up could be "
            "matched with people not referred"
        )
        return report
    full_after = cohort["days_after"] >= cohort["length_after"]
    report.follow_up_cut_short = suppress_count(int(((weights > 0) & treated & ~full_after).sum()))
    report.balance = _balance(cohort, weights, matched_t, matched_c)
    report.changes = [_change(cohort, weights, key, label) for key, label in OUTCOMES.items()]
    report.checks = _checks(report, int(treated.sum()), matched_t)
    return report


# --- the cohort ----------------------------------------------------------------------------------


def add_months(days: pd.Series, months: int) -> pd.Series:
    """Each date moved by whole calendar months (the 31st to the month's last day)."""
    return pd.to_datetime(days) + pd.DateOffset(months=months)


def build_cohort(
    store: PopulationStore,
    referred: Mapping[int, dt.date],
    left_out: frozenset[int],
    seed: int,
) -> tuple[pd.DataFrame, Counter[str], dt.date, dt.date, int]:
    """Eligible referred and comparison people, one row each, with their characteristics and
    use in the three windows; the exclusions of referred people by reason; the latest index
    date with full follow-up; the extract date; and the eligible comparison pool's size."""
    extract = reads.extract_date(store)
    history = reads.history_start(store)
    # The last index date whose six months after end by the end of the extract date.
    end_of_extract = pd.Timestamp(extract) + pd.Timedelta(days=1)
    latest = (end_of_extract - pd.DateOffset(months=WINDOW_MONTHS)).date()
    people = reads.person_attributes(store).set_index("person_id")
    kept = sorted(p for p in referred if p not in left_out)
    cases = pd.DataFrame(
        {
            "person_id": np.array(kept, dtype=np.int64),
            "index_date": pd.to_datetime(pd.Series([referred[p] for p in kept], dtype=object)),
            "treated": True,
        }
    )
    excluded: Counter[str] = Counter()
    late = add_months(cases["index_date"], WINDOW_MONTHS) > end_of_extract
    excluded["follow_up"] = int(late.sum())
    cases = cases[~late]
    if history is not None:
        short = add_months(cases["index_date"], -HISTORY_MONTHS) < pd.Timestamp(history)
        excluded["history"] = int(short.sum())
        cases = cases[~short]
    unknown = ~cases["person_id"].isin(people.index)
    excluded["unknown"] = int(unknown.sum())
    cases = _registered_before(store, cases[~unknown])
    excluded["not_registered"] = len(kept) - sum(excluded.values()) - len(cases)
    controls = _registered_before(
        store, _comparison_people(people, referred, left_out, cases, seed)
    )
    cohort = pd.concat([cases, controls], ignore_index=True)
    cohort["treated"] = cohort["treated"].astype(bool)
    cohort = _with_characteristics(store, cohort, people)
    return cohort, excluded, latest, extract, len(controls)


def _registered_before(store: PopulationStore, cohort: pd.DataFrame) -> pd.DataFrame:
    """`cohort` with its use in the three windows, keeping only people registered and alive
    throughout the six months before their index date."""
    cohort = _with_use(store, cohort)
    return cohort[cohort["days_before"] >= cohort["length_before"]].reset_index(drop=True)


def _comparison_people(
    people: pd.DataFrame,
    referred: Mapping[int, dt.date],
    left_out: frozenset[int],
    cases: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """Never-referred, non-objecting people alive when the earliest window opens, at most
    `CONTROLS_PER_REFERRED` per referred person (or `MIN_POOL`), each with a pseudo index date
    drawn from the referred people's index dates."""
    if cases.empty:
        return pd.DataFrame(
            {
                "person_id": np.array([], dtype=np.int64),
                "index_date": pd.to_datetime(pd.Series([], dtype=object)),
                "treated": np.array([], dtype=bool),
            }
        )
    rng = np.random.default_rng(seed)
    opens = add_months(cases["index_date"], -HISTORY_MONTHS).min()
    alive = people["date_of_death"].isna() | (people["date_of_death"] > opens)
    candidates = people.index[alive & ~people.index.isin([*referred, *left_out])].to_numpy()
    wanted = min(len(candidates), max(MIN_POOL, CONTROLS_PER_REFERRED * len(cases)))
    chosen = np.sort(rng.choice(candidates, size=wanted, replace=False))
    dates = rng.choice(cases["index_date"].to_numpy(), size=wanted, replace=True)
    return pd.DataFrame(
        {"person_id": chosen, "index_date": pd.to_datetime(dates), "treated": False}
    )


def _with_use(store: PopulationStore, cohort: pd.DataFrame) -> pd.DataFrame:
    """Each person's use and days at risk in the three windows (reads.activity_in_windows)."""
    cohort = cohort.reset_index(drop=True)
    parts = []
    for name, (start, end) in PERIODS.items():
        parts.append(
            pd.DataFrame(
                {
                    "window_id": [f"{name}:{i}" for i in range(len(cohort))],
                    "row": np.arange(len(cohort)),
                    "period": name,
                    "person_id": cohort["person_id"].to_numpy(),
                    "start": add_months(cohort["index_date"], start),
                    "end": add_months(cohort["index_date"], end),
                }
            )
        )
    windows = pd.concat(parts, ignore_index=True)
    use = reads.activity_in_windows(store, windows)
    windows = windows.join(use, on="window_id")
    windows["length"] = (windows["end"] - windows["start"]).dt.days
    out = cohort.copy()
    for name in PERIODS:
        part = windows[windows["period"] == name].set_index("row").sort_index()
        for outcome in OUTCOMES:
            out[f"{outcome}_{name}"] = part[outcome].to_numpy()
        out[f"days_{name}"] = part["days_at_risk"].to_numpy()
        out[f"length_{name}"] = part["length"].to_numpy()
    return out


def _with_characteristics(
    store: PopulationStore, cohort: pd.DataFrame, people: pd.DataFrame
) -> pd.DataFrame:
    """Age, sex and deprivation at the index date, and coded eFI deficits before it."""
    found = people.reindex(cohort["person_id"])
    born = found["date_of_birth"].to_numpy()
    index = cohort["index_date"]
    born_dates = pd.to_datetime(pd.Series(born, index=cohort.index))
    before_birthday = (index.dt.month < born_dates.dt.month) | (
        (index.dt.month == born_dates.dt.month) & (index.dt.day < born_dates.dt.day)
    )
    cohort = cohort.assign(
        age=(index.dt.year - born_dates.dt.year - before_birthday.astype(int)).astype(float),
        female=(found["sex"].to_numpy() == "F").astype(float),
        imd_decile=found["imd_decile"].to_numpy(dtype="float64", na_value=np.nan),
    )
    # "Recorded before the index date": on or before the day before, as the evaluation does.
    days = pd.DataFrame(
        {
            "row_id": np.arange(len(cohort)),
            "person_id": cohort["person_id"].to_numpy(),
            "on": index - pd.Timedelta(days=1),
        }
    )
    coded = reads.codes_recorded_by(store, days, efi.efi_codelists())
    deficits = coded.groupby("row_id")["codelist_id"].nunique()
    cohort["efi_deficits"] = deficits.reindex(np.arange(len(cohort)), fill_value=0).to_numpy(
        dtype=float
    )
    return cohort


# --- matching, balance, the estimates -----------------------------------------------------------


def strata(cohort: pd.DataFrame) -> pd.Series:
    """Each person's matching stratum: age band, sex, IMD quintile (unknown its own), eFI
    category, banded GP and A&E use in the six months before, and the index date's quarter."""
    imd = cohort["imd_decile"]
    quintile = np.where(imd.isna(), 0, (imd.fillna(1).astype(int) + 1) // 2)
    index = pd.to_datetime(cohort["index_date"])
    parts = [
        np.digitize(cohort["age"], AGE_EDGES),
        cohort["female"].astype(int),
        quintile,
        np.digitize(cohort["efi_deficits"], EFI_EDGES),
        *(np.digitize(cohort[f"{o}_before"], USE_EDGES[o]) for o in OUTCOMES),
        index.dt.year * 10 + index.dt.quarter,
    ]
    return pd.Series(
        ["-".join(map(str, values)) for values in zip(*parts, strict=True)], index=cohort.index
    )


def _balance(
    cohort: pd.DataFrame, weights: np.ndarray, matched_t: int, matched_c: int
) -> list[BalanceRow]:
    rows = did.balance_table(cohort, weights, BALANCE)
    n_t, n_c = int(cohort["treated"].sum()), int((~cohort["treated"]).sum())
    return [
        BalanceRow(
            key,
            r["characteristic"],
            withheld_unless(n_t, r["treated_mean"]),
            withheld_unless(n_c, r["comparison_mean_before"]),
            withheld_unless(matched_t, r["treated_mean_after"]),
            withheld_unless(matched_c, r["comparison_mean_after"]),
            r["smd_before"],
            r["smd_after"],
        )
        for key, r in zip(BALANCE, rows, strict=True)
    ]


def _rate(cohort: pd.DataFrame, weights: np.ndarray, outcome: str, period: str) -> float:
    """Weighted count per person per six months (days registered and alive as the time)."""
    days = float(np.sum(weights * cohort[f"days_{period}"]))
    count = float(np.sum(weights * cohort[f"{outcome}_{period}"]))
    return count / days * HALF_YEAR_DAYS if days > 0 else math.nan


def did_estimate(
    cohort: pd.DataFrame, weights: np.ndarray, outcome: str, first: str, second: str
) -> tuple[float, float, float]:
    """exp(β) − 1 with its 95% interval for referred × `second` against `first` (periods)."""
    keep = weights > 0
    part = cohort[keep]
    frame = pd.DataFrame(
        {
            "person": np.tile(part["person_id"].to_numpy(), 2),
            "treated": np.tile(part["treated"].to_numpy(dtype=float), 2),
            "weight": np.tile(weights[keep], 2),
            "after": np.repeat([0.0, 1.0], len(part)),
            "count": np.concatenate(
                [part[f"{outcome}_{first}"].to_numpy(), part[f"{outcome}_{second}"].to_numpy()]
            ).astype(float),
            "at_risk": np.concatenate(
                [part[f"days_{first}"].to_numpy(), part[f"days_{second}"].to_numpy()]
            ).astype(float),
        }
    )
    frame = frame[frame["at_risk"] > 0].reset_index(drop=True)
    # A cell with no events at all has no finite rate ratio.
    cells = frame.assign(w=frame["weight"] * frame["count"]).groupby(["treated", "after"])["w"]
    if len(cells.sum()) < 4 or (cells.sum() <= 0).any():
        return math.nan, math.nan, math.nan
    design = pd.DataFrame({"treated": frame["treated"], "after": frame["after"]})
    design["treated_after"] = design["treated"] * design["after"]
    fit = did.fit_poisson(frame, design, "person")
    beta = float(fit.params["treated_after"])
    low, high = fit.conf_int().loc["treated_after"]
    return float(np.expm1(beta)), float(np.expm1(low)), float(np.expm1(high))


def _change(cohort: pd.DataFrame, weights: np.ndarray, outcome: str, label: str) -> UseChange:
    treated = cohort["treated"].to_numpy(dtype=bool)
    w_t = np.where(treated, weights, 0.0)
    w_c = np.where(~treated, weights, 0.0)
    n_t, n_c = int((w_t > 0).sum()), int((w_c > 0).sum())

    def rate(w: np.ndarray, n: int, period: str) -> float | None:
        value = _rate(cohort, w, outcome, period)
        return None if math.isnan(value) else withheld_unless(n, round(value, 3))

    change, low, high = did_estimate(cohort, weights, outcome, "before", "after")
    pre, pre_low, pre_high = did_estimate(cohort, weights, outcome, "earlier", "before")

    def shown(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 4)

    return UseChange(
        outcome=outcome,
        label=label,
        referred_before=rate(w_t, n_t, "before"),
        referred_after=rate(w_t, n_t, "after"),
        comparison_before=rate(w_c, n_c, "before"),
        comparison_after=rate(w_c, n_c, "after"),
        change=shown(change),
        low=shown(low),
        high=shown(high),
        change_before_referral=shown(pre),
        low_before_referral=shown(pre_low),
        high_before_referral=shown(pre_high),
        problem=None
        if not math.isnan(change)
        else f"no {label} in one of the four groups and periods, so no rate ratio",
    )


def _checks(report: MatchedUse, eligible: int, matched_t: int) -> list[Check]:
    worst_after = max(abs(row.smd_after) for row in report.balance)
    worst_before = max(abs(row.smd_before) for row in report.balance)
    checks = [
        Check(
            "balance after matching",
            worst_after < SMD_LIMIT,
            f"largest standardised mean difference after matching {worst_after:.3f} (limit "
            f"{SMD_LIMIT}); before matching {worst_before:.3f}",
        ),
        Check(
            "matched sample",
            matched_t >= MATCHED_SHARE * eligible,
            f"{_shown(report.matched_referred)} of {_shown(report.eligible)} eligible referred "
            f"people matched (at least {MATCHED_SHARE:.0%} wanted); unmatched people have no one "
            "alike among those not referred and are left out of the estimate",
        ),
    ]
    for c in report.changes:
        if c.change_before_referral is None:
            continue
        low, high = c.low_before_referral or 0.0, c.high_before_referral or 0.0
        steady = low <= 0.0 <= high
        checks.append(
            Check(
                f"{c.label}: no change before referral",
                steady,
                f"the six months before referral against the six before that, referred against "
                f"matched: {c.change_before_referral:+.1%} (95% interval {low:+.1%} to "
                f"{high:+.1%})"
                + (
                    ""
                    if steady
                    else (
                        "; use rose before referral, so part of any fall after it is regression "
                        "to the mean"
                        if c.change_before_referral > 0
                        else "; use fell before referral relative to the comparison"
                    )
                ),
            )
        )
    return checks


def _shown(count: int | None) -> str:
    return "withheld" if count is None else f"{count:,}"
