"""Checking a submission from text fields (a form or a CSV line): every problem named."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joinedup.commissioning.delivery.areas import Area
from joinedup.commissioning.specification import (
    Element,
    Quarter,
    QuarterError,
    Specification,
)
from joinedup.errors import UserError

MAX_NOTES = 2000


class SubmissionError(UserError, ValueError):
    """A submission cannot be recorded; `reasons` says every problem found."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


@dataclass(frozen=True)
class SubmissionInput:
    area_code: str
    element_id: str
    quarter: Quarter
    planned_percent: float | None
    actual_percent: float | None
    notes: str = ""


def check_submission(
    spec: Specification, areas: Sequence[Area], raw: Mapping[str, Any]
) -> SubmissionInput:
    """A submission from text fields (a form or a CSV line), or `SubmissionError` naming every
    problem: a known area and element, a quarter of the specification like 2026-27 Q3,
    percentages from 0 to 100 (at least one of them), and no typed actual where joinedup
    measures it."""
    reasons: list[str] = []
    by_code = {a.code: a for a in areas}
    area_code = _text(raw.get("area_code"))
    area = by_code.get(area_code)
    if area is None:
        reasons.append(f"area {area_code!r} is not a delivery area" if area_code else "no area")
    element_id = _text(raw.get("element_id")).upper()
    element: Element | None = None
    try:
        element = spec.element(element_id)
    except KeyError:
        reasons.append(
            f"element {element_id!r} is not in the specification" if element_id else "no element"
        )
    quarter: Quarter | None = None
    try:
        quarter = Quarter.parse(_text(raw.get("quarter")))
        if not spec.first_quarter <= quarter <= spec.last_quarter:
            reasons.append(
                f"quarter {quarter} is outside the specification's quarters "
                f"({spec.first_quarter} to {spec.last_quarter})"
            )
    except QuarterError as exc:
        reasons.append(str(exc))
    planned = _percent("planned", raw.get("planned_percent"), reasons)
    actual = _percent("actual", raw.get("actual_percent"), reasons)
    if planned is None and actual is None and not any("%" in r for r in reasons):
        reasons.append("give a planned %, an actual % or both")
    if actual is not None and element and element.measured and area and area.measurable:
        reasons.append(
            f"{element.id}'s actual % is measured by joinedup for {area.name}: give the planned "
            "% only"
        )
    notes = _text(raw.get("notes"))
    if len(notes) > MAX_NOTES:
        reasons.append(f"notes are longer than {MAX_NOTES} characters")
    if reasons:
        raise SubmissionError(reasons)
    assert quarter is not None
    return SubmissionInput(area_code, element_id, quarter, planned, actual, notes)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _percent(what: str, value: Any, reasons: list[str]) -> float | None:
    text = _text(value).removesuffix("%").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        reasons.append(f"{what} % {text!r} is not a number")
        return None
    if not math.isfinite(number) or not 0 <= number <= 100:
        reasons.append(f"{what} % {text} is not between 0 and 100")
        return None
    return round(number, 1)
