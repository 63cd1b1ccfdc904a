"""What each score takes from an extract (`SCORERS`) and what scoring one gives back."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinedup.errors import UserError
from joinedup.terminology.icd10 import icd10_code_problem

if TYPE_CHECKING:
    import pyarrow as pa

_SQL_TYPES = {"person_id": "int64", "code": "string", "date": "date", "age": "int64"}


class ExtractError(UserError, ValueError):
    """The extract cannot be scored as it is (a structural problem): the message says what to
    fix."""


def _snomed_code_problem(code: str) -> str | None:
    # Imported when a SNOMED score is asked for: the ICD-10 path stays light.
    from joinedup.terminology.codelists import snomed_code_problem

    return snomed_code_problem(code)


@dataclass(frozen=True)
class ScorerSpec:
    """How to score an extract: the pipeline and the columns it takes."""

    pipeline: str  # "module:function", imported only when the pipeline has to be compiled
    title: str
    required: tuple[str, ...] = ("person_id", "code")
    optional: tuple[str, ...] = ("date",)
    # Why a code cannot be used (None when it can): ICD-10 unless the score says otherwise.
    code_problem: Callable[[str], str | None] = icd10_code_problem
    # The ICD-10 scores: the index date only chooses the rows that count (on or before it and,
    # with a look-back, on or after the same day that many years earlier), so the pipeline is
    # compiled ahead (`analytics.score_sql`) and rows outside the window reach it without a
    # code. Other scores are compiled with the index date when they are asked for.
    compiled_ahead: bool = False
    lookback_years: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def load_pipeline(self) -> Callable[..., Any]:
        module, name = self.pipeline.split(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]

    def input_schema(self, header: Iterable[str]) -> dict[str, str]:
        """The columns the pipeline is given, with their Ibis types."""
        if self.compiled_ahead:  # person and code: the window is applied first, age is people's
            return {name: _SQL_TYPES[name] for name in ("person_id", "code")}
        names = [n for n in self.columns if n in set(header)]
        return {name: _SQL_TYPES[name] for name in names}

    def side_inputs(self) -> dict[str, dict[str, str]]:
        """What the pipeline is given besides the rows, by keyword, with the Ibis types of its
        columns (ADR 0039): for the ICD-10 scores, what the extract's checks found already,
        the people (each person's key and, if the score takes it, age) and the distinct codes
        (`lexicon`); nothing for eFI and CMS, which find them in the rows themselves."""
        if not self.compiled_ahead:
            return {}
        people = ["person_id", *(["age"] if "age" in self.columns else [])]
        return {
            "people": {name: _SQL_TYPES[name] for name in people},
            "lexicon": {"code": _SQL_TYPES["code"]},
        }


SCORERS: dict[str, ScorerSpec] = {
    "hfrs": ScorerSpec(
        "joinedup.analytics.scores.hfrs:hfrs_scores",
        "Hospital Frailty Risk Score (ICD-10)",
        compiled_ahead=True,
        lookback_years=2,  # hfrs.LOOKBACK_YEARS (a test holds them together)
    ),
    "charlson": ScorerSpec(
        "joinedup.analytics.scores.charlson:charlson_scores",
        "Charlson Comorbidity Index (ICD-10)",
        optional=("date", "age"),
        compiled_ahead=True,
    ),
    "elixhauser": ScorerSpec(
        "joinedup.analytics.scores.elixhauser:elixhauser_scores",
        "Elixhauser comorbidity, van Walraven (ICD-10)",
        compiled_ahead=True,
    ),
    "efi": ScorerSpec(
        "joinedup.analytics.scores.efi:score_codes",
        "electronic Frailty Index (SNOMED CT)",
        code_problem=_snomed_code_problem,
    ),
    "cms": ScorerSpec(
        "joinedup.analytics.scores.cms:score_codes",
        "Cambridge Multimorbidity Score, general outcome (SNOMED CT)",
        code_problem=_snomed_code_problem,
    ),
}


@dataclass(frozen=True)
class Reject:
    """A row that was not scored: where it is in the file, why, and what it held."""

    row: int
    reason: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class ExtractScoringResult:
    """What scoring an extract produced."""

    score: str
    rejects: list[Reject]
    rows_read: int
    rows_accepted: int
    blank_lines: int
    people_scored: int
    # people whose every row was rejected (so they have no score), by person_id
    people_not_scored: int
    # header columns the score does not use, as written in the file
    ignored_columns: list[str] = field(default_factory=list)
    # the scores (one row per person, in order of first appearance), unless only written out
    scores: pa.Table | None = None
    output_path: Path | None = None
    rejects_path: Path | None = None

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "blank_lines": self.blank_lines,
            "people_scored": self.people_scored,
            "people_not_scored": self.people_not_scored,
        }
