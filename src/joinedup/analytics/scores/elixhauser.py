"""Elixhauser comorbidity score (van Walraven points) from ICD-10 diagnoses.

Sources:

* Elixhauser A, Steiner C, Harris DR, Coffey RM. Comorbidity measures for use with
  administrative data. Med Care 1998;36:8-27 (the comorbidity groups).
* Quan H, Sundararajan V, Halfon P, et al. Coding algorithms for defining comorbidities in
  ICD-9-CM and ICD-10 administrative data. Med Care 2005;43:1130-9 (the ICD-10 mapping of
  31 groups).
* van Walraven C, Austin PC, Jennings A, Quan H, Forster AJ. A modification of the Elixhauser
  comorbidity measures into a point system for hospital death using administrative data.
  Med Care 2009;47:626-33 (the points, ``van_walraven``, default).
* Also selectable: the Swiss points (Sharma N, Schwendimann R, Endrich O, Ausserhofer D,
  Simon M. Comparing Charlson and Elixhauser comorbidity indices with different weightings to
  predict in-hospital mortality. BMC Health Serv Res 2021;21:13), ``weights="swiss"``.

The tables come from comorbidipy 0.8.0 (a port of R ``comorbidity``): see
``data/elixhauser/SOURCE.md``.

Rules:

* Mapping: Quan 2005 Elixhauser ICD-10 (``data/elixhauser/elixhauser_icd10_quan.csv``). A
  diagnosis is in a group when its normalised code (``joinedup.terminology.icd10``) starts with
  one of the group's 3- or 4-character prefixes; a code can be in several groups (``I426``
  is heart failure and alcohol abuse). Each group counts once per person.
* Hierarchy, the severe form supersedes the milder: complicated over uncomplicated
  hypertension (``hypc`` over ``hypunc``), complicated over uncomplicated diabetes
  (``diabc`` over ``diabunc``), metastatic cancer over solid tumour without metastasis
  (``metacanc`` over ``solidtum``). The milder group is dropped.
* Score: the sum of the points of the person's groups. Points run from -7 to 12 and the
  total can be negative (drug abuse -7, depression -3, obesity -4, ...); a total is never
  clamped. Groups worth 0 points are still shown as contributions.
* Look-back (``lookback_years=``, default none): with an index date, diagnoses dated on or
  before it count, and with a look-back of N years only those from the same day N years
  earlier; undated diagnoses then do not count. Without an index date, all count.

``elixhauser_scores`` returns one row per person in the input; ``elixhauser_contributions``
the groups behind each score and the codes that put the person in them.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir

from joinedup.analytics.scores import icd10

WEIGHT_SETS = ("van_walraven", "swiss")
DEFAULT_WEIGHTS = "van_walraven"
ELIXHAUSER = icd10.WeightedIndex(
    name="elixhauser",
    title="Elixhauser",
    mapping_file="elixhauser_icd10_quan.csv",
    weights_file="elixhauser_weights.csv",
    weight_sets=WEIGHT_SETS,
    # (severe, mild): the milder group is dropped when the severe one is present.
    hierarchy=(("hypc", "hypunc"), ("diabc", "diabunc"), ("metacanc", "solidtum")),
)


def elixhauser_contributions(
    diagnoses: ir.Table,
    *,
    index_date: dt.date | None = None,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
) -> ir.Table:
    """person_id, group, description, weight, codes: the groups behind each score."""
    return ELIXHAUSER.contributions(
        diagnoses, index_date=index_date, weights=weights, lookback_years=lookback_years
    )


def elixhauser_scores(
    diagnoses: ir.Table,
    *,
    index_date: dt.date | None = None,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
    people: ir.Table | None = None,
    lexicon: ir.Table | None = None,
) -> ir.Table:
    """person_id, elixhauser_score, elixhauser_groups: one row per person in `diagnoses` (or,
    when given, in `people`: person_id, one row each, from a caller that has grouped them;
    `lexicon`: the distinct codes of `diagnoses`, from a caller that has them).

    `diagnoses` has person_id (int), code (ICD-10 as recorded) and, with an index date, date.
    """
    joined = ELIXHAUSER.totals(
        diagnoses,
        index_date=index_date,
        weights=weights,
        lookback_years=lookback_years,
        people=people,
        lexicon=lexicon,
    )
    return joined.select(
        "person_id",
        elixhauser_score=joined.total.fill_null(0),
        elixhauser_groups=joined.groups.fill_null(""),
    )


def from_store(
    tables: dict[str, ir.Table],
    index_date: dt.date,
    *,
    weights: str = DEFAULT_WEIGHTS,
    lookback_years: int | None = None,
) -> ir.Table:
    """Elixhauser at `index_date` from `hospital_spells` + `spell_diagnoses` (date = admission)."""
    return elixhauser_scores(
        icd10.diagnoses_from_store(tables),
        index_date=index_date,
        weights=weights,
        lookback_years=lookback_years,
    )
