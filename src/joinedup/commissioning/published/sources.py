"""Where the published files are, the columns of the tidy table, and what a load reports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from joinedup.settings import Settings

PAYMENTS_DIR = "gp_practice_payments_fingertips_heec"


STRUCTURES_DIR = "gp_practice_structures_qof_wylie102"


PAYMENTS_FILE = "nhs_payments_to_general_practice_2022_23.csv"


ICB_LOOKUP_FILE = "ccg_icb_code_lookup.csv"


IMD_FILE = "fingertips_practice_imd_score_93553.csv"


SMOKING_FILE = "fingertips_smoking_qof_prevalence_91547.csv"


DEMENTIA_FILE = "fingertips_dementia_qof_prevalence_247.csv"


LD_FILE = "fingertips_learning_disability_qof_prevalence_200.csv"


STRUCTURES_FILE = "structures_2023_2024.csv"


COORDINATES_FILE = "GP_info_and_coordinates.csv"


PRACTICE_CODE = re.compile(r"^[A-Z]\d{5}$")


IMD_YEAR = 2019


PAYMENT_COLUMNS = {
    "Practice Code": "practice_code",
    "Practice Name": "practice_name",
    "Code": "pcn_code",
    "CCG NAME": "pcn_name",  # in this NHS England file the "CCG NAME" column holds the PCN name
    "CCG Code": "sub_icb_code",
    "Sub ICB NAME": "sub_icb_name",
    "NHS England (Region) Name": "region_name",
    "Practice Close Date": "closed_on",
    "Number of Registered Patients (Last Known Figure)": "list_size",
    "Number of Weighted Patients (Last Known Figure)": "weighted_list_size",
    "Average payments per weighted patient": "payments_per_weighted_patient",
}


FINGERTIPS_COLUMNS = ["Area Code", "Area Type", "Time period", "Count", "Denominator", "Category"]


#: Columns of the tidy table, in order.
COLUMNS = [
    "practice_code", "practice_name", "pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name",
    "icb_code", "icb_name", "region_name", "closed_on", "list_size", "weighted_list_size",
    "payments_per_weighted_patient",
    "smoking_numerator", "smoking_denominator",
    "dementia_numerator", "dementia_denominator",
    "learning_disability_numerator", "learning_disability_denominator",
    "imd_score", "deprivation_quintile", "latitude", "longitude",
]  # fmt: skip


@dataclass(frozen=True)
class Prevalence:
    """A QOF prevalence indicator read from a Fingertips export."""

    key: str
    file: str


PREVALENCES = [
    Prevalence("smoking", SMOKING_FILE),
    Prevalence("dementia", DEMENTIA_FILE),
    Prevalence("learning_disability", LD_FILE),
]


@dataclass
class LoadSummary:
    """What a load kept and rejected, per source file and reason."""

    practices: int
    loaded_at: str
    sources: dict[str, str]
    periods: dict[str, str | None]
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    with_values: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.rejected.values())


def published_dir(settings: Settings) -> Path:
    return settings.home / "published"


def table_path(settings: Settings) -> Path:
    return published_dir(settings) / "practices.parquet"


def default_sources(repo_root: Path | None = None) -> list[Path]:
    """The two shared data folders beside the repository."""
    root = repo_root or Path(__file__).resolve().parents[3]
    return [
        root.parent / "shared" / "data" / PAYMENTS_DIR,
        root.parent / "shared" / "data" / STRUCTURES_DIR,
    ]
