"""Hospital Frailty Risk Score (HFRS).

Source: Gilbert T, Neuburger J, Kraindler J, et al. Development and validation of a Hospital
Frailty Risk Score focusing on older people in acute care settings using electronic hospital
records: an observational study. Lancet 2018;391:1775-82. doi:10.1016/S0140-6736(18)30668-8.
The points table (supplementary appendix) is taken from jamesvanoppen/hfrs
``inst/extdata/points.tsv`` and checked against comorbidipy 0.8.0 and OHDSI/OmopIndices: see
``data/hfrs/SOURCE.md``.

Rules:

* 109 ICD-10 groups, each a 3-character category with its points (weights from 0.1 to 7.1,
  summing to 173.2), in ``data/hfrs/hfrs_weights.csv``. A diagnosis belongs to a group when
  the first three characters of its normalised code (``joinedup.terminology.icd10``) are the group:
  ``F00``, ``F00.1``, ``F001`` and ``f00 `` are all group F00.
* Look-back: with an index date, the diagnoses dated from the same day two years before the
  index date up to and including the index date count (the index admission and the admissions
  of the previous two years); an undated diagnosis does not. Without an index date, every
  diagnosis given counts (the caller has chosen the window).
* Each group counts once per person, however many times and in however many spellings it
  was recorded (comorbidipy 0.8.0 counts ``F00.1`` + ``F001`` twice: a defect not followed).
* The score is the sum of the points of the person's groups, **summed exactly**: the points
  are added as integer tenths and the score is tenths / 10 (the nearest double to the exact
  one-decimal sum, so 1.1 + 7.1 + 3.2 + 3.6 is 15.0, not 14.999999999999998).
* Categories (on the exact sum): low < 5; intermediate 5 to 15 inclusive; high > 15.
  (jamesvanoppen/hfrs puts exactly 5 in "low" because ``cut()`` is right-closed: not
  followed.)
* Age: the score was developed and validated in people aged 75 and over; choosing that
  cohort is the caller's step (case finding filters by age). Every person given is scored.

``hfrs_scores`` returns one row per person in the input (those with nothing counted score 0,
low); ``hfrs_contributions`` returns the groups behind each score and the codes that put the
person in them.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from joinedup.analytics.scores import icd10

LOOKBACK_YEARS = 2
LOW_BELOW_TENTHS = 50  # a score under 5.0 is low
HIGH_ABOVE_TENTHS = 150  # a score over 15.0 is high
CATEGORIES = ("low", "intermediate", "high")


@functools.cache
def hfrs_weights() -> dict[str, Decimal]:
    """The 109 published groups (3-character ICD-10 codes) and their points, exactly."""
    return {
        r["group"]: Decimal(r["weight"]) for r in icd10.reference_rows("hfrs", "hfrs_weights.csv")
    }


def category(score: Decimal) -> str:
    """The HFRS risk category of an exact score."""
    if score < Decimal(LOW_BELOW_TENTHS) / 10:
        return "low"
    return "intermediate" if score <= Decimal(HIGH_ABOVE_TENTHS) / 10 else "high"


@functools.cache
def _groups_table() -> pa.Table:
    rows = icd10.reference_rows("hfrs", "hfrs_weights.csv")
    return pa.table(
        {
            "group": [r["group"] for r in rows],
            "description": [r["description"] for r in rows],
            # integer tenths: exact sums on every engine
            "weight": [int(Decimal(r["weight"]) * 10) for r in rows],
        }
    )


def _matched(
    diagnoses: ir.Table, index_date: dt.date | None, lexicon: ir.Table | None = None
) -> ir.Table:
    return icd10.matched_groups(
        diagnoses,
        mapping=[(group, group) for group in hfrs_weights()],
        index_date=index_date,
        lookback_years=LOOKBACK_YEARS if index_date is not None else None,
        lexicon=lexicon,
    )


def hfrs_contributions(diagnoses: ir.Table, *, index_date: dt.date | None = None) -> ir.Table:
    """person_id, group, description, weight (points), codes: the groups behind each score."""
    tenths = icd10.group_contributions(_matched(diagnoses, index_date), _groups_table())
    return tenths.mutate(weight=tenths.weight / 10)


def hfrs_scores(
    diagnoses: ir.Table,
    *,
    index_date: dt.date | None = None,
    with_groups: bool = True,
    people: ir.Table | None = None,
    lexicon: ir.Table | None = None,
) -> ir.Table:
    """person_id, hfrs_score, hfrs_category, hfrs_groups (left out when not `with_groups`): one
    row per person in `diagnoses` (or, when given, in `people`: person_id, one row each, from a
    caller that has grouped them; `lexicon`: the distinct codes of `diagnoses`, from a caller
    that has them).

    `diagnoses` has person_id (int), code (ICD-10 as recorded, any format) and, when an index
    date is given, date (date of the admission the diagnosis was recorded in).
    """
    totals = icd10.group_totals(
        _matched(diagnoses, index_date, lexicon), _groups_table(), with_groups=with_groups
    )
    if people is None:
        people = diagnoses.select("person_id").distinct()
    joined = people.select("person_id").left_join(totals, "person_id")
    tenths = joined.total.fill_null(0)
    columns = {
        "hfrs_score": tenths / 10,
        "hfrs_category": ibis.cases(
            (tenths < LOW_BELOW_TENTHS, "low"),
            (tenths <= HIGH_ABOVE_TENTHS, "intermediate"),
            else_="high",
        ),
    }
    if with_groups:
        columns["hfrs_groups"] = joined.groups.fill_null("")
    return joined.select("person_id", **columns)


def from_store(tables: dict[str, ir.Table], index_date: dt.date) -> ir.Table:
    """HFRS at `index_date` from the population store's `hospital_spells` + `spell_diagnoses`.

    A diagnosis is dated by its spell's admission date; everyone with a recorded diagnosis gets
    a row (0, low when none falls in the two years up to the index date).
    """
    return hfrs_scores(icd10.diagnoses_from_store(tables), index_date=index_date)
