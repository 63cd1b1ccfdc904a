"""Real published practice data: every English GP practice, one tidy row each.

Reads the public files beside the repository (never copied into it):

- ``gp_practice_payments_fingertips_heec/`` (Health Equity Evidence Centre snapshot of
  NHS England "NHS Payments to General Practice, England 2022/23" and OHID Fingertips exports,
  Open Government Licence v3.0): practice, PCN, sub-ICB, list sizes and payments; IMD 2019 score
  per practice (Fingertips 93553); QOF smoking prevalence per practice (Fingertips 91547);
  the sub-ICB to ICB lookup.
- ``gp_practice_structures_qof_wylie102/`` (QOF 2023/24 geography mapping, MIT/OGL): ICB for
  sub-ICBs the lookup lacks, and practice coordinates (geocoded by that repository's author).

QOF dementia (Fingertips 247) and learning disability (200) prevalence are read the same way as
smoking, from any practice-level rows their files hold; the shared snapshot holds only England
and deprivation-decile rows for them, so those columns stay empty and the pages say so.

``load_published`` validates everything, counts every row it rejects by reason, and writes
``JOINEDUP_HOME/published/practices.parquet`` plus ``load.json`` atomically (both or neither).
``published_table`` reads the table once per process and re-reads it only when the file changes.
"""

from __future__ import annotations

from joinedup.commissioning.published.indicators import (
    ADJUSTMENTS,
    INDICATORS,
    LEVELS,
    Indicator,
    IndicatorFunnel,
    indicator_funnel,
    robust_z,
)
from joinedup.commissioning.published.peers import (
    PeerComparison,
    PracticeIndicator,
    practice_profile,
)
from joinedup.commissioning.published.reading import build_table
from joinedup.commissioning.published.sources import (
    COLUMNS,
    COORDINATES_FILE,
    DEMENTIA_FILE,
    FINGERTIPS_COLUMNS,
    ICB_LOOKUP_FILE,
    IMD_FILE,
    IMD_YEAR,
    LD_FILE,
    PAYMENT_COLUMNS,
    PAYMENTS_DIR,
    PAYMENTS_FILE,
    PRACTICE_CODE,
    PREVALENCES,
    SMOKING_FILE,
    STRUCTURES_DIR,
    STRUCTURES_FILE,
    LoadSummary,
    Prevalence,
    default_sources,
    published_dir,
    table_path,
)
from joinedup.commissioning.published.store import (
    PublishedData,
    load_published,
    published_table,
    summary_lines,
)

__all__ = [
    "ADJUSTMENTS",
    "COLUMNS",
    "COORDINATES_FILE",
    "DEMENTIA_FILE",
    "FINGERTIPS_COLUMNS",
    "ICB_LOOKUP_FILE",
    "IMD_FILE",
    "IMD_YEAR",
    "INDICATORS",
    "LD_FILE",
    "LEVELS",
    "PAYMENTS_DIR",
    "PAYMENTS_FILE",
    "PAYMENT_COLUMNS",
    "PRACTICE_CODE",
    "PREVALENCES",
    "SMOKING_FILE",
    "STRUCTURES_DIR",
    "STRUCTURES_FILE",
    "Indicator",
    "IndicatorFunnel",
    "LoadSummary",
    "PeerComparison",
    "PracticeIndicator",
    "Prevalence",
    "PublishedData",
    "build_table",
    "default_sources",
    "indicator_funnel",
    "load_published",
    "practice_profile",
    "published_dir",
    "published_table",
    "robust_z",
    "summary_lines",
    "table_path",
]
