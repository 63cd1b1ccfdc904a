"""Outcome measures of social prescribing: ONS4 personal wellbeing, WEMWBS and SWEMWBS.

* **ONS4** — the Office for National Statistics' four personal wellbeing questions (GSS
  harmonised standard "Personal well-being"): life satisfaction, worthwhile, happy yesterday,
  anxious yesterday, each 0–10. There is no total: each item is reported on its own, and for
  anxiety lower is better. Free to use.
* **WEMWBS** — Warwick-Edinburgh Mental Wellbeing Scale (Tennant et al. 2007, Health and Quality
  of Life Outcomes 5:63): 14 items scored 1–5, total 14–70.
* **SWEMWBS** — the short, Rasch-compatible 7-item scale (Stewart-Brown et al. 2009, Health and
  Quality of Life Outcomes 7:15): items 1–5, raw total 7–35, which must be converted to a
  metric score with the published conversion table (Warwick Medical School, "Collect, score,
  analyse and interpret WEMWBS"; the table is in `swemwbs_conversion.csv` beside this file)
  before scores are compared or averaged.

WEMWBS and SWEMWBS are © NHS Health Scotland, University of Warwick and University of Edinburgh;
free to use once the user registers with Warwick Medical School (ADR 0022).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from joinedup.errors import UserError

CONVERSION_TABLE = Path(__file__).with_name("swemwbs_conversion.csv")

ONS4_ITEMS = (
    ("life_satisfaction", "Overall, how satisfied are you with your life nowadays?"),
    (
        "worthwhile",
        "Overall, to what extent do you feel the things you do in your life are worthwhile?",
    ),
    ("happy", "Overall, how happy did you feel yesterday?"),
    ("anxious", "Overall, how anxious did you feel yesterday?"),
)
#: ONS4 items where a higher answer is worse.
ONS4_LOWER_IS_BETTER = frozenset({"anxious"})
WEMWBS_ITEMS = 14
SWEMWBS_ITEMS = 7
INSTRUMENT_NAMES = {"ons4": "ONS4 personal wellbeing", "wemwbs": "WEMWBS", "swemwbs": "SWEMWBS"}


class MeasureError(UserError, ValueError):
    """The answers do not make a complete measure; `problems` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Scored:
    """A measure's answers with what is reported from them."""

    instrument: str
    items: tuple[int, ...]
    score: float | None  # WEMWBS total; SWEMWBS metric score; None for ONS4
    raw_score: int | None  # SWEMWBS raw total


@functools.cache
def swemwbs_conversion() -> dict[int, float]:
    """The published SWEMWBS raw (7–35) to metric score table."""
    with CONVERSION_TABLE.open(newline="") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#"))]
    return {int(r["raw_score"]): float(r["metric_score"]) for r in rows}


def swemwbs_metric(raw: int) -> float:
    table = swemwbs_conversion()
    if raw not in table:
        raise MeasureError([f"a SWEMWBS raw score is 7 to 35, not {raw}"])
    return table[raw]


def score(instrument: str, answers: Sequence[int | None]) -> Scored:
    """Check every answer of `instrument` and work out its score; every problem is reported."""
    shape = {
        "ons4": (len(ONS4_ITEMS), 0, 10),
        "wemwbs": (WEMWBS_ITEMS, 1, 5),
        "swemwbs": (SWEMWBS_ITEMS, 1, 5),
    }.get(instrument)
    if shape is None:
        raise MeasureError([f"{instrument!r} is not a measure joinedup records"])
    count, low, high = shape
    problems = []
    if len(answers) != count:
        problems.append(f"{INSTRUMENT_NAMES[instrument]} has {count} questions, not {len(answers)}")
    for number, answer in enumerate(answers, start=1):
        if answer is None:
            problems.append(f"question {number} is not answered")
        elif not low <= answer <= high:
            problems.append(f"question {number} is answered {low} to {high}, not {answer}")
    if problems:
        raise MeasureError(problems)
    items = tuple(int(a) for a in answers if a is not None)
    if instrument == "ons4":
        return Scored(instrument, items, None, None)
    if instrument == "wemwbs":
        return Scored(instrument, items, float(sum(items)), None)
    raw = sum(items)
    return Scored(instrument, items, swemwbs_metric(raw), raw)


def ons4_item(items: Sequence[int], name: str) -> int:
    """One ONS4 answer by its name (`ONS4_ITEMS`)."""
    names = [n for n, _ in ONS4_ITEMS]
    return int(items[names.index(name)])
