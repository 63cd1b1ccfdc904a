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

Pure pandas over one row per person (`expected_counts`) or over the people and events already
summed in each practice × stratum cell (`stratum_cells`, `expected_from_cells`: the matrix sums
every indicator's cells in one pass); no engine involved, so it is easy to check by hand.
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


def stratum_cells(
    people: pd.DataFrame,
    events: str,
    *,
    by: str = "practice_code",
    strata: Sequence[str] = STRATA,
) -> pd.DataFrame:
    """People and observed `events` in each cell of `by` × `strata` that has people, sorted by
    `by` then the strata: columns `by`, the strata, ``people:<events>``, ``observed:<events>``
    (the cell layout `expected_from_cells` reads)."""
    strata = list(strata)
    cells = people.groupby([by, *strata], observed=True)[events].agg(["size", "sum"])
    names = {"size": f"people:{events}", "sum": f"observed:{events}"}
    return cells.rename(columns=names).reset_index()


def expected_from_cells(
    cells: pd.DataFrame,
    measures: Sequence[str],
    *,
    by: str = "practice_code",
    strata: Sequence[str] = STRATA,
) -> dict[str, pd.DataFrame]:
    """Observed and expected per `by` for each of `measures` (area rates in one pass).

    `cells` has one row per `by` × stratum cell (sorted by them) with ``people:<m>`` and
    ``observed:<m>`` for each measure m; a cell with no people for a measure does not count for
    it. Returns, per measure, columns `by`, people, observed, expected, one row for each `by`
    with people for that measure.
    """
    strata = list(strata)
    people = [f"people:{m}" for m in measures]
    observed = [f"observed:{m}" for m in measures]
    area = cells.groupby(strata, observed=True)[[*people, *observed]].sum()
    rates = pd.DataFrame(
        {f"rate:{m}": area[f"observed:{m}"] / area[f"people:{m}"] for m in measures}
    ).reset_index()
    cells = cells.merge(rates, on=strata, how="left")
    found = {}
    for m in measures:
        # Each measure sums over its own cells only (no empty ones), so the sums, and their
        # floating-point rounding, are those of standardising that measure alone.
        own = cells[cells[f"people:{m}"] > 0]
        out = pd.DataFrame(
            {
                by: own[by],
                "people": own[f"people:{m}"],
                "observed": own[f"observed:{m}"],
                "expected": own[f"rate:{m}"] * own[f"people:{m}"],
            }
        )
        out = out.groupby(by, observed=True)[["people", "observed", "expected"]].sum()
        found[m] = out.astype({"people": "int64", "observed": "int64"}).reset_index()
    return found


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
    cells = stratum_cells(people, events, by=by, strata=strata)
    return expected_from_cells(cells, [events], by=by, strata=strata)[events]
