"""Charlson Comorbidity Index from ICD-10 diagnoses.

Sources:

* Charlson ME, Pompei P, Ales KL, MacKenzie CR. A new method of classifying prognostic
  comorbidity in longitudinal studies: development and validation. J Chronic Dis
  1987;40:373-83 (the 17 conditions and the original weights, ``charlson1987``).
* Charlson M, Szatrowski TP, Peterson J, Gold J. Validation of a combined comorbidity index.
  J Clin Epidemiol 1994;47:1245-51 (the age points).
* Quan H, Sundararajan V, Halfon P, et al. Coding algorithms for defining comorbidities in
  ICD-9-CM and ICD-10 administrative data. Med Care 2005;43:1130-9 (the ICD-10 mapping).
* Quan H, Li B, Couris CM, et al. Updating and validating the Charlson comorbidity index and
  score for risk adjustment in hospital discharge abstracts using data from 6 countries.
  Am J Epidemiol 2011;173:676-82 (the updated weights, ``quan2011``).

The tables come from comorbidipy 0.8.0 (a port of R ``comorbidity``) and the weight sets
assembled in ``charlson_weight_sets.csv``: see ``data/charlson/SOURCE.md``.

Rules:

* Mapping: Quan 2005 ICD-10 (``data/charlson/charlson_icd10_quan.csv``). A diagnosis is in a
  condition when its normalised code (``joinedup.terminology.icd10``: ``E11.2`` -> ``E112``)
  starts with one of the condition's 3- or 4-character prefixes. A code can be in several
  conditions. Each condition counts once per person.
* Severe form supersedes mild: diabetes with complications (``diabwc``) over diabetes
  without (``diab``); moderate/severe liver disease (``msld``) over mild (``mld``);
  metastatic solid tumour (``metacanc``) over any malignancy (``canc``). The milder condition
  is dropped, so it neither scores nor shows as a contribution.
* Weights (``weights=``): ``"charlson1987"`` (default; 1, 2, 3 or 6 points) or
  ``"quan2011"`` (0 to 6 points; conditions weighted 0 are still shown as contributions).
* **AIDS/HIV under Quan 2011 weighs 4** (the choice asked for by ALGORITHMS.md, open item
  1, which records 2 in R ``comorbidity``'s ``make-weights.R`` and comorbidipy 0.8.0 against
  4 in OHDSI OmopIndices). We take 4 because: R ``comorbidity`` itself corrected 2 to 4 in
  pull request #44 (ellessenne/comorbidity, merged January 2022: "The score for HIV/AIDS
  based on the paper by Quan et al (2011) is 4, not 2"), R ``icd`` (jackwasey/icd) tests its
  Quan weights with AIDS/HIV 4, OmopIndices uses 4, and only 4 gives the updated index its
  0-24 range (2+2+1+1+2+1+1+4+6+4 with the hierarchy). The table was not re-read from the
  paper here. comorbidipy 0.8.0 carries the pre-fix 2, so for a person with B20 its Quan-2011
  score is 2 below ours.
* Look-back (``lookback_years=``, default none): with an index date, diagnoses dated on or
  before it count, and with a look-back of N years only those from the same day N years
  earlier; undated diagnoses then do not count. Without an index date, all count.
* Age (optional ``age`` column on the diagnoses, the person's age in whole years at the index
  date; the largest given is used): Charlson 1994 points <50: 0, 50-59: 1, 60-69: 2,
  70-79: 3, >=80: 4, added to the score as ``charlson_age_adjusted`` (null when age is
  unknown), whichever weight set is chosen (as OmopIndices does for the updated index).

``charlson_scores`` returns one row per person in the input; ``charlson_contributions`` the
conditions behind each score and the codes that put the person in them.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from joinedup.analytics.scores import icd10

WEIGHT_SETS = ("charlson1987", "quan2011")
DEFAULT_WEIGHTS = "charlson1987"
CHARLSON = icd10.WeightedIndex(
    name="charlson",
    title="Charlson",
    mapping_file="charlson_icd10_quan.csv",
    weights_file="charlson_weights.csv",
    weight_sets=WEIGHT_SETS,
    # (severe, mild): the milder condition is dropped when the severe one is present.
    hierarchy=(("diabwc", "diab"), ("msld", "mld"), ("metacanc", "canc")),
)


def charlson_contributions(
    diagnoses: ir.Table,
    *,
    index_date: dt.date | None = None,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
) -> ir.Table:
    """person_id, group, description, weight, codes: the conditions behind each score."""
    return CHARLSON.contributions(
        diagnoses, index_date=index_date, weights=weights, lookback_years=lookback_years
    )


def age_points(age: ir.IntegerValue) -> ir.IntegerValue:
    """Charlson 1994 age points: one per decade from 50, at most 4; null when age is null."""
    return ibis.cases(
        (age.isnull(), ibis.null("int64")),
        (age >= 80, 4),
        (age >= 70, 3),
        (age >= 60, 2),
        (age >= 50, 1),
        else_=0,
    )


def charlson_scores(
    diagnoses: ir.Table,
    *,
    index_date: dt.date | None = None,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
    with_groups: bool = True,
    people: ir.Table | None = None,
    lexicon: ir.Table | None = None,
) -> ir.Table:
    """person_id, charlson_score, charlson_age_adjusted, charlson_groups (left out when not
    `with_groups`): one row per person.

    `diagnoses` has person_id (int), code (ICD-10 as recorded), optionally date (needed with an
    index date) and age (int, for the age-adjusted score). A caller that has grouped the
    diagnoses by person already may pass `people` (person_id and, for the age-adjusted score,
    age: the largest given): one row each, in place of the people found in `diagnoses`; and
    `lexicon`, the distinct codes of `diagnoses` (code), if it has them.
    """
    joined = CHARLSON.totals(
        diagnoses,
        index_date=index_date,
        weights=weights,
        lookback_years=lookback_years,
        with_groups=with_groups,
        people=people,
        lexicon=lexicon,
    )
    age = joined.age if "age" in joined.columns else ibis.null("int64")
    score = joined.total.fill_null(0)
    columns = {"charlson_score": score, "charlson_age_adjusted": score + age_points(age)}
    if with_groups:
        columns["charlson_groups"] = joined.groups.fill_null("")
    return joined.select("person_id", **columns)


def from_store(
    tables: dict[str, ir.Table],
    index_date: dt.date,
    *,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
) -> ir.Table:
    """Charlson at `index_date` from `hospital_spells` + `spell_diagnoses` (date = admission).

    Everyone with a recorded diagnosis gets a row; the age-adjusted score is null (the store's
    spells carry no age).
    """
    return charlson_scores(
        icd10.diagnoses_from_store(tables),
        index_date=index_date,
        weights=weights,
        lookback_years=lookback_years,
    )
