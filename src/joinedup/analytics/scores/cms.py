"""Cambridge Multimorbidity Score (CMS), general-outcome weights, 20 conditions.

Source: Payne RA, Mendonca SC, Elliott MN, Saunders CL, Edwards DA, Marshall M, Roland M.
*Development and validation of the Cambridge Multimorbidity Score.* CMAJ
2020;192(5):E107–E114. doi:10.1503/cmaj.190757 (PMC7004217). Weights: the general-outcome
column of ``../shared/reference/cambridge_multimorbidity/cms_weights.csv`` (two independent
implementations agree; sum 16.33), copied to ``data/cms/weights.csv``. Condition "usage
definitions": Cambridge code lists v1.1 as tabulated by HFAnalyticsLab/CMD_multimorbidity
(``Appendix_1_Cam_UD_based_logic.csv``, MIT) and applied in its ``03_Create_Cambridge_Score.R``.

Score = Σ weight × condition present, summed in hundredths (integers) and divided by 100, so
every engine and the oracle give the same float. Anxiety and depression are one item (0.50).

Usage definitions as implemented (index date inclusive; "last 12 months" = the 365 days ending
on the index date, "last 5 years" = 1,826 days, as in the Cambridge logic table)
-------------------------------------------------------------------------------------------
* Code ever recorded: hypertension, hearing loss, diabetes, coronary heart disease, atrial
  fibrillation, stroke/TIA, COPD, connective tissue disorder, alcohol problems, heart failure,
  dementia.
* Anxiety or depression: an anxiety *or* depression code in the last 12 months, OR ≥ 4
  anxiolytic/hypnotic issues, OR ≥ 4 antidepressant issues in the last 12 months.
* Painful condition: ≥ 4 prescription-only analgesic issues in the last 12 months, OR ≥ 4
  issues of specified anti-epileptics (gabapentin, pregabalin, carbamazepine) in the last 12
  months with no epilepsy code ever.
* Irritable bowel syndrome: code ever OR ≥ 4 antispasmodic issues in the last 12 months.
* Asthma: code ever AND ≥ 1 asthma-treatment issue in the last 12 months.
* Epilepsy: code ever AND ≥ 1 anti-epileptic issue in the last 12 months.
* Constipation: ≥ 4 laxative issues in the last 12 months.
* Schizophrenia/bipolar (psychosis): code ever OR lithium ever issued.
* Cancer: the *first* cancer code is in the last 5 years.
* Chronic kidney disease: where the person has an eGFR result (a code of the ``egfr`` list
  with a value 0 < v ≤ 250, as the Cambridge reference implementation filters), the best
  (highest) of the last two results is < 60 mL/min/1.73 m²; with no eGFR result, a CKD
  stage 3–5 diagnosis code ever recorded.

Simplifications (where our data or codelists fall short of the Cambridge lists)
-----------------------------------------------------------------------------
* Codelists are gm-sde / NHS PCD SNOMED CT, CTV3 and Read v2 sets, not the Cambridge Read v2
  lists (only coronary heart disease is derived from them); hearing loss uses the eFI hearing
  codes; alcohol problems the gm-sde heavy-drinker set; IBS is one hand-added SNOMED concept;
  connective tissue disorder = rheumatoid arthritis + psoriatic arthritis + SLE.
* Medicines are recognised by *ingredient name* (case-insensitive substring of
  ``medications.name``) from ``data/cms/medication_groups.csv``, a list we derived from the
  BNF sections the Cambridge definitions name — not the Cambridge product-code lists. One issue
  counts once per group. Antidepressants exclude the tricyclics most often used at low dose for
  pain (amitriptyline, nortriptyline, imipramine, dosulepin, doxepin, trimipramine) because we
  cannot see the dose; "prescription-only" analgesics are the opioids and nefopam.
* Without medication data (``medications=None``, e.g. a SNOMED-only extract) the
  prescription-only conditions (painful condition, constipation) are absent, the OR rules use
  their code part alone, and the AND rules (asthma, epilepsy) fall back to "code ever" — else
  nobody could have them.
* The CKD code fallback uses stage 3–5 codes (the coded equivalent of eGFR < 60).
* Everyone in the input tables (any date) gets a row; nothing recorded scores 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import ibis
import pyarrow as pa

from joinedup.analytics.scores.conditions import (
    DATA_DIR,
    LOOKBACK_DAYS,
    _read_csv,
    as_date,
    coded_events,
    persons,
    window_start,
)
from joinedup.terminology.codelists import codelist_table

CITATION = (
    "Payne RA, Mendonca SC, Elliott MN, et al. Development and validation of the Cambridge "
    "Multimorbidity Score. CMAJ 2020;192(5):E107-E114. doi:10.1503/cmaj.190757"
)
CANCER_LOOKBACK_DAYS = 1826
RX_LOOKBACK_DAYS = LOOKBACK_DAYS
EGFR_THRESHOLD = 60.0
EGFR_PLAUSIBLE = (0.0, 250.0)  # exclusive lower, inclusive upper

CODELIST_IDS = {
    "hypertension": "hypertension",
    "anxiety": "anxiety",
    "depression": "depression",
    "hearing": "hearing-loss",
    "ibs": "irritable-bowel-syndrome",
    "asthma": "asthma",
    "diabetes": "diabetes",
    "chd": "coronary-heart-disease",
    "ckd": "ckd-stage-3-5",
    "egfr": "egfr",
    "af": "atrial-fibrillation",
    "stroke": "stroke-tia",
    "copd": "copd",
    "tissue": "connective-tissue-disorder",
    "cancer": "cancer",
    "alcohol": "alcohol-problems",
    "hf": "heart-failure",
    "dementia": "dementia",
    "psychosis": "severe-mental-illness",
    "epilepsy": "epilepsy",
}
MEDICATION_GROUPS = (
    "anxiolytic_hypnotic",
    "antidepressant",
    "asthma_treatment",
    "antiepileptic",
    "pain_antiepileptic",
    "pom_analgesic",
    "laxative",
    "antispasmodic",
    "lithium",
)


@dataclass(frozen=True)
class CmsCondition:
    code: str
    name: str
    weight: Decimal

    @property
    def hundredths(self) -> int:
        return int(self.weight * 100)


CONDITIONS: tuple[CmsCondition, ...] = tuple(
    CmsCondition(r["condition_code"], r["condition"], Decimal(r["general_outcome_weight"]))
    for r in _read_csv(DATA_DIR / "cms" / "weights.csv")
)


def cms_codelists(systems: list[str] | None = None) -> pa.Table:
    """The CMS codelists as (codelist_id, code_system, code) for the pipelines."""
    return codelist_table(list(dict.fromkeys(CODELIST_IDS.values())), systems)


def medication_groups() -> pa.Table:
    """(medication_group, ingredient) — lower-case ingredient names matched in medicine names."""
    rows = _read_csv(DATA_DIR / "cms" / "medication_groups.csv")
    return pa.table(
        {
            "medication_group": [r["medication_group"] for r in rows],
            "ingredient": [r["ingredient"].lower() for r in rows],
        }
    )


def _code_flags(events: ibis.Table, codelists: ibis.Table, index_date: dt.date) -> ibis.Table:
    """Per person: one boolean per code rule (ever / last 12 months / first in 5 years)."""
    coded = coded_events(events, codelists, index_date)
    summary = coded.group_by(["person_id", "codelist_id"]).aggregate(
        first=coded.event_date.min(), last=coded.event_date.max()
    )
    recent = ibis.literal(window_start(index_date, LOOKBACK_DAYS))
    five_years = ibis.literal(window_start(index_date, CANCER_LOOKBACK_DAYS))
    s = summary
    flags = {f"ever_{key}": (s.codelist_id == cid).any() for key, cid in CODELIST_IDS.items()}
    flags["recent_anxiety"] = ((s.codelist_id == CODELIST_IDS["anxiety"]) & (s.last > recent)).any()
    flags["recent_depression"] = (
        (s.codelist_id == CODELIST_IDS["depression"]) & (s.last > recent)
    ).any()
    flags["new_cancer"] = ((s.codelist_id == CODELIST_IDS["cancer"]) & (s.first > five_years)).any()
    return summary.group_by("person_id").aggregate(**flags)


def _egfr(events: ibis.Table, codelists: ibis.Table, index_date: dt.date) -> ibis.Table:
    """Per person with an eGFR result: egfr_low = best of the last two results < 60."""
    egfr_list = codelists.filter(codelists.codelist_id == CODELIST_IDS["egfr"])
    results = coded_events(events, egfr_list, index_date, value=True)
    low, high = EGFR_PLAUSIBLE
    results = results.filter(
        results.value.notnull() & (results.value > low) & (results.value <= high)
    )
    window = ibis.window(
        group_by="person_id", order_by=[ibis.desc("event_date"), ibis.desc("value")]
    )
    ranked = results.mutate(_rank=ibis.row_number().over(window))
    last_two = ranked.filter(ranked._rank < 2)
    best = last_two.group_by("person_id").aggregate(best=last_two.value.max())
    return best.select(
        "person_id", has_egfr=ibis.literal(True), egfr_low=best.best < EGFR_THRESHOLD
    )


def _medicine_groups(medications: ibis.Table) -> ibis.Table:
    """(name, medication_group) for each distinct medicine name containing a group ingredient.

    Why: a substring match cannot be an equi-join, so engines run it as a nested-loop join.
    Matching every issue costs issues x ingredients comparisons (7.6M x 110 on a 300,000-person
    area, ~15 s on DuckDB). An area has only tens to thousands of distinct medicine names, so
    we match those once here and the issues join this small table on the exact name (a hash
    join). Joining on the name, not the code, keeps the result identical to matching each issue.
    """
    groups = ibis.memtable(medication_groups())
    names = medications.select("name").distinct()
    names = names.filter(names.name.notnull())
    matched = names.join(groups, names.name.cast("string").lower().contains(groups.ingredient))
    # One row per (name, group): a name with two ingredients of one group counts once.
    return matched.select("name", "medication_group").distinct()


def _rx_flags(medications: ibis.Table, index_date: dt.date) -> ibis.Table:
    """Per person: issue counts of each medication group (last 12 months; lithium ever)."""
    issued = medications.filter(medications.issue_date <= ibis.literal(index_date))
    issued = issued.select("person_id", "issue_id", "issue_date", "name")
    lookup = _medicine_groups(medications)
    matched = issued.join(lookup, "name")
    # An issue counts once per group, even if recorded twice (e.g. under two names).
    issues = matched.select("person_id", "issue_id", "issue_date", "medication_group").distinct()
    recent = issues.issue_date > ibis.literal(window_start(index_date, RX_LOOKBACK_DAYS))
    counts = {
        f"rx_{group}": ((issues.medication_group == group) & recent).cast("int64").sum()
        for group in MEDICATION_GROUPS
        if group != "lithium"
    }
    counts["rx_lithium_ever"] = (issues.medication_group == "lithium").cast("int64").sum()
    return issues.group_by("person_id").aggregate(**counts)


def cms_conditions(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """One row per person: person_id and a boolean column per CMS condition code.

    Also carries ``ckd_basis`` ("egfr" when an eGFR result decided CKD, else "code").
    """
    index_date = as_date(index_date)
    everyone = persons(events, medications)
    codes = _code_flags(events, codelists, index_date)

    code_cols = [c for c in codes.columns if c != "person_id"]
    t = everyone.left_join(codes, "person_id").select(
        everyone.person_id, *[codes[c].fill_null(False).name(c) for c in code_cols]
    )
    if "value" in events.columns:
        egfr = _egfr(events, codelists, index_date)
        t = t.left_join(egfr, "person_id").select(
            *[t[c] for c in t.columns],
            has_egfr=egfr.has_egfr.fill_null(False),
            egfr_low=egfr.egfr_low.fill_null(False),
        )
    else:  # no measurement values: CKD from codes alone
        t = t.mutate(has_egfr=ibis.literal(False), egfr_low=ibis.literal(False))
    rx_cols = [f"rx_{g}" for g in MEDICATION_GROUPS if g != "lithium"] + ["rx_lithium_ever"]
    if medications is not None:
        counts = _rx_flags(medications, index_date)
        t = t.left_join(counts, "person_id").select(
            *[t[c] for c in t.columns], *[counts[c].fill_null(0).name(c) for c in rx_cols]
        )
    else:
        t = t.mutate(**{c: ibis.literal(0, "int64") for c in rx_cols})
    have_rx = medications is not None

    def rx(group: str, at_least: int) -> ibis.BooleanValue:
        return t[f"rx_{group}"] >= at_least

    rules: dict[str, ibis.BooleanValue] = {
        "HYP": t.ever_hypertension,
        "ANX_DEP": t.recent_anxiety
        | t.recent_depression
        | rx("anxiolytic_hypnotic", 4)
        | rx("antidepressant", 4),
        "PNC": rx("pom_analgesic", 4) | (rx("pain_antiepileptic", 4) & ~t.ever_epilepsy),
        "HEL": t.ever_hearing,
        "IBS": t.ever_ibs | rx("antispasmodic", 4),
        "AST": t.ever_asthma & rx("asthma_treatment", 1) if have_rx else t.ever_asthma,
        "DIA": t.ever_diabetes,
        "CHD": t.ever_chd,
        "CKD": ibis.ifelse(t.has_egfr, t.egfr_low, t.ever_ckd),
        "ATR": t.ever_af,
        "CON": rx("laxative", 4),
        "STR": t.ever_stroke,
        "COPD": t.ever_copd,
        "RHE": t.ever_tissue,
        "CAN": t.new_cancer,
        "ALC": t.ever_alcohol,
        "HEF": t.ever_hf,
        "DEM": t.ever_dementia,
        "SCZ": t.ever_psychosis | (t.rx_lithium_ever >= 1),
        "EPI": t.ever_epilepsy & rx("antiepileptic", 1) if have_rx else t.ever_epilepsy,
    }
    return t.select(
        "person_id",
        *[rules[c.code].name(c.code) for c in CONDITIONS],
        ckd_basis=ibis.ifelse(t.has_egfr, ibis.literal("egfr"), ibis.literal("code")),
    )


def cms_scores(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """One row per person: person_id, conditions (how many of the 20), cms (general outcome)."""
    wide = cms_conditions(events, medications, index_date=index_date, codelists=codelists)
    zero = ibis.literal(0, "int64")
    hundredths = sum(
        (ibis.ifelse(wide[c.code], ibis.literal(c.hundredths, "int64"), zero) for c in CONDITIONS),
        zero,
    )
    count = sum((wide[c.code].cast("int64") for c in CONDITIONS), zero)
    return wide.select("person_id", conditions=count, cms=hundredths.cast("float64") / 100.0)


def cms_contributions(
    events: ibis.Table,
    medications: ibis.Table | None = None,
    *,
    index_date: dt.date | str,
    codelists: ibis.Table,
) -> ibis.Table:
    """Each condition present per person: person_id, condition_code, condition, weight."""
    wide = cms_conditions(events, medications, index_date=index_date, codelists=codelists)
    # One pass, no 20-way union: pair each person with the 20 conditions, keep those present.
    table = ibis.memtable(
        pa.table(
            {
                "condition_code": [c.code for c in CONDITIONS],
                "condition": [c.name for c in CONDITIONS],
                "weight": pa.array([c.hundredths for c in CONDITIONS], pa.int64()),
            }
        )
    )
    pairs = wide.cross_join(table)
    present = ibis.cases(
        *[(pairs.condition_code == c.code, pairs[c.code]) for c in CONDITIONS],
        else_=ibis.literal(False),
    )
    return pairs.filter(present).select(
        "person_id", "condition_code", "condition", weight=pairs.weight.cast("float64") / 100.0
    )


def from_store(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """`cms_scores` over population-store tables (`clinical_events`, optional `medications`)."""
    return cms_scores(
        tables["clinical_events"],
        tables.get("medications"),
        index_date=index_date,
        codelists=ibis.memtable(cms_codelists()),
    )


def score_codes(codes: ibis.Table, *, index_date: dt.date | str | None = None) -> ibis.Table:
    """CMS over a bare extract of SNOMED codes: columns person_id, code and optionally date.

    With a ``date`` column, codes after `index_date` (default: today) are ignored; without
    one (or where a row's date is empty), a code is taken as recorded on the index date (so
    "last 12 months" and "first in the last 5 years" hold). No medication or eGFR values: see
    the simplifications above.
    """
    when = as_date(index_date) if index_date is not None else dt.date.today()
    # A row with no date is taken as recorded on the index date.
    date = (
        codes.date.cast("date").fill_null(ibis.literal(when))
        if "date" in codes.columns
        else ibis.literal(when)
    )
    events = codes.select(
        person_id=codes.person_id.cast("int64"),
        code_system=ibis.literal("snomed"),
        code=codes.code.cast("string").strip(),
        event_date=date,
        value=ibis.literal(None, "float64"),
    )
    return cms_scores(
        events, None, index_date=when, codelists=ibis.memtable(cms_codelists(["snomed"]))
    )
