"""Indirect standardisation: how many events a practice would have at the area's own rates.

Method (Breslow NE, Day NE. *Statistical methods in cancer research, vol II*, IARC 1987, ch. 2;
as in the Public Health England / OHID *Technical guide: common public health statistics and
their confidence intervals*, "Indirectly standardised ratios"):

* split everyone into strata (here age band × sex × deprivation quintile, `STRATA`);
* the **area rate** of each stratum is its events ÷ its people, over every practice together;
* a practice's **expected** count is Σ over strata of (area rate × the practice's people in that
  stratum); its **observed** count is its own events;
* the **standardised ratio** is observed ÷ expected: 1 means "as the area would predict for
  people of this age, sex and deprivation", so practices with older or more deprived lists are
  compared fairly. Summed over every practice, observed equals expected exactly.

Pure pandas over one row per person; no engine involved, so it is easy to check by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

#: Age bands of the strata: ten-year bands, 90 and over together.
AGE_BAND_EDGES: tuple[int, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
STRATA: tuple[str, ...] = ("age_band", "sex", "imd_quintile")


def age_band(age: pd.Series) -> pd.Series:
    """The lower edge of each age's ten-year band (90 for 90 and over)."""
    return (age.clip(lower=0, upper=AGE_BAND_EDGES[-1]) // 10 * 10).astype("int64")


def imd_quintile(decile: pd.Series) -> pd.Series:
    """IMD decile (1 most deprived … 10) → quintile (1 most deprived … 5); 0 when unknown."""
    return ((decile.fillna(0).astype("int64") + 1) // 2).astype("int64")


def expected_counts(
    people: pd.DataFrame,
    events: str,
    *,
    by: str = "practice_code",
    strata: Sequence[str] = STRATA,
) -> pd.DataFrame:
    """Observed and expected `events` per `by`, and the people counted.

    `people` has one row per person with `by`, the `strata` columns and a numeric `events`
    column (a count, or 0/1 for a condition). Returns columns `by`, people, observed,
    expected, indexed by nothing; groups with no people are absent.
    """
    strata = list(strata)
    cells = people.groupby([by, *strata], observed=True)[events].agg(["size", "sum"])
    cells = cells.rename(columns={"size": "people", "sum": "observed"}).reset_index()
    area = cells.groupby(strata, observed=True)[["people", "observed"]].sum()
    rate = (area["observed"] / area["people"]).rename("area_rate").reset_index()
    cells = cells.merge(rate, on=strata, how="left")
    cells["expected"] = cells["area_rate"] * cells["people"]
    out = cells.groupby(by, observed=True)[["people", "observed", "expected"]].sum()
    out["observed"] = out["observed"].astype("int64")
    out["people"] = out["people"].astype("int64")
    return out.reset_index()
