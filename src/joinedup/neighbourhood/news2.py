"""National Early Warning Score 2 (NEWS2).

Source: Royal College of Physicians. *National Early Warning Score (NEWS) 2: Standardising the
assessment of acute-illness severity in the NHS.* Updated report of a working party. London:
RCP, 2017. Chart 1 "The NEWS scoring system" (parameter bands, SpO2 Scales 1 and 2), Chart 4
"Clinical response to the NEWS trigger thresholds" (risk bands and responses). © Royal College
of Physicians 2017. Bands as collected in ``../shared/reference/ALGORITHMS.md`` §5 and
``../shared/reference/NEXT_DOMAINS.md`` §1.3; the tests hold this module to the transcribed
chart ``../shared/reference/news2/news2_chart.json``.

Rules
-----
* Seven parameters, each scored 0–3 from inclusive bands: respiration rate, SpO2, air or oxygen
  (oxygen scores 2 on either SpO2 scale), systolic blood pressure, pulse, consciousness (ACVPU:
  Alert 0; new Confusion, Voice, Pain or Unresponsive 3) and temperature. Total 0–20.
* **SpO2 Scale 2** is for patients with hypercapnic respiratory failure whose target range
  (usually 88–92%) a competent clinical decision-maker has recorded. It is used only when the
  caller passes that recorded `Scale2Decision`; otherwise Scale 1 is used and the result says so
  (`News2Result.scale_note`). On Scale 2, 93% or more scores 0 on air and rises only on oxygen.
* **Red score**: 3 in any single parameter.
* **Clinical risk** (Chart 4, and the chart's ``clinical_risk``): total ≥ 7 high; 5–6 medium;
  otherwise a red score is low–medium; otherwise (0–4) low. A total of 5 or 6 with a red score
  is medium: the aggregate threshold is the higher one.
* **Precision** (joinedup's policy; the chart prints whole numbers and temperature to one
  decimal place): a measurement is rounded half up to the chart's precision before it is
  scored, as a person reading the chart would (35.05 °C is read as 35.1 °C; pulse 90.5 as 91).
* **Incomplete sets** (joinedup's policy, ADR 0012): home kits often lack respiration rate or
  consciousness. A set missing any parameter is *incomplete*: the result names what is missing
  and gives the partial sum of what was measured and whether a measured parameter scores 3,
  but never a total or a risk band — a partial sum is not a NEWS2.
* **Plausibility** (joinedup's limits, not RCP's): a value no living person at home can have
  (SpO2 over 100%, a pulse of 0 or 400, 50 °C) is a measuring or typing error. Such a set is
  refused with every reason (`ImplausibleObservations`), never scored: scoring it would send
  a nurse to a number that does not exist. The limits in `PLAUSIBLE` are wide on purpose: a
  real but extreme value must reach a nurse, so only values no living person can have are
  refused.
* Not for people under 16 or in pregnancy (RCP); the caller decides who is scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from joinedup.errors import UserError

Risk = Literal["low", "low-medium", "medium", "high"]
Band = tuple[float | None, float | None, int]  # (lowest, highest inclusive; None = open), score

#: The parameters of a full NEWS2, in chart order, named as joinedup's columns name them.
PARAMETERS = (
    "resp_rate",
    "spo2",
    "on_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)
LABELS = {
    "resp_rate": "respiration rate",
    "spo2": "SpO2",
    "on_oxygen": "air or oxygen",
    "systolic_bp": "systolic blood pressure",
    "pulse": "pulse",
    "consciousness": "consciousness (ACVPU)",
    "temperature": "temperature",
}

# Chart 1, row by row: (lowest, highest, score), inclusive, at the chart's precision.
RESP_RATE: tuple[Band, ...] = ((None, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, None, 3))
SPO2_SCALE1: tuple[Band, ...] = ((None, 91, 3), (92, 93, 2), (94, 95, 1), (96, None, 0))
# Scale 2 up to 92% is the same on air and oxygen; from 93% it depends on oxygen.
SPO2_SCALE2: tuple[Band, ...] = ((None, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0))
SPO2_SCALE2_ON_AIR: tuple[Band, ...] = ((93, None, 0),)
SPO2_SCALE2_ON_OXYGEN: tuple[Band, ...] = ((93, 94, 1), (95, 96, 2), (97, None, 3))
OXYGEN_SCORE = 2  # "Air or oxygen?": oxygen 2, air 0, on both scales
SYSTOLIC_BP: tuple[Band, ...] = (
    (None, 90, 3),
    (91, 100, 2),
    (101, 110, 1),
    (111, 219, 0),
    (220, None, 3),
)
PULSE: tuple[Band, ...] = (
    (None, 40, 3),
    (41, 50, 1),
    (51, 90, 0),
    (91, 110, 1),
    (111, 130, 2),
    (131, None, 3),
)
TEMPERATURE: tuple[Band, ...] = (
    (None, 35.0, 3),
    (35.1, 36.0, 1),
    (36.1, 38.0, 0),
    (38.1, 39.0, 1),
    (39.1, None, 2),
)
ACVPU = {"A": 0, "C": 3, "V": 3, "P": 3, "U": 3}
ACVPU_WORDS = {
    "A": "alert",
    "C": "new confusion",
    "V": "responds to voice",
    "P": "responds to pain",
    "U": "unresponsive",
}
DECIMALS = {"temperature": 1}  # every other measured parameter is read as a whole number

#: joinedup's plausibility limits (inclusive) for a living adult measured at home.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "resp_rate": (1, 80, "breaths/min"),
    "spo2": (50, 100, "%"),
    "systolic_bp": (40, 300, "mmHg"),
    "pulse": (20, 300, "beats/min"),
    "temperature": (25.0, 45.0, "°C"),
}

#: Chart 4: the response each clinical risk calls for (paraphrased; RCP 2017).
RESPONSES: dict[str, str] = {
    "low (0)": "Continue routine NEWS monitoring, at least every 12 hours.",
    "low": (
        "A registered nurse assesses the person and decides whether to monitor more often or "
        "escalate care; observations at least every 4–6 hours."
    ),
    "low-medium": (
        "Urgent ward-based response: a registered nurse informs the medical team caring for "
        "the person, who review and decide whether to escalate care; observations at least "
        "hourly."
    ),
    "medium": (
        "Key threshold for urgent response: a registered nurse immediately informs the medical "
        "team and asks for urgent assessment by a clinician competent in acute illness; "
        "observations at least hourly, in a setting with monitoring."
    ),
    "high": (
        "Emergency response: a registered nurse immediately informs the medical team (at least "
        "specialist registrar level); emergency assessment by a team with critical-care "
        "competencies; consider transfer to level 2 or 3 care; continuous monitoring."
    ),
}


class ImplausibleObservations(UserError, ValueError):
    """A set with values no living person can have; `problems` holds one reason each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Scale2Decision:
    """A recorded clinical decision that this person's SpO2 is scored on Scale 2: who made it,
    when (None only where the source does not say, as in a CSV extract), and the target
    saturation range prescribed (usually 88–92%). The target is recorded with the decision;
    it does not move the chart's Scale 2 bands."""

    decided_by: str
    decided_at: dt.datetime | None
    target_low: int = 88
    target_high: int = 92

    def __post_init__(self) -> None:
        if not self.decided_by.strip():
            raise ValueError("a Scale 2 decision names who made it")
        if not 0 < self.target_low < self.target_high <= 100:
            raise ValueError(
                f"a Scale 2 target range {self.target_low}–{self.target_high}% is not a range "
                "of saturations"
            )

    def describe(self) -> str:
        when = f" on {self.decided_at:%d %b %Y %H:%M}" if self.decided_at else ""
        return (
            f"Scale 2 (target {self.target_low}–{self.target_high}%), decided by "
            f"{self.decided_by}{when}"
        )


@dataclass(frozen=True)
class Observations:
    """One set of observations; None where a parameter was not measured. `consciousness` is an
    ACVPU letter (A, C, V, P or U)."""

    resp_rate: float | None = None
    spo2: float | None = None
    on_oxygen: bool | None = None
    systolic_bp: float | None = None
    pulse: float | None = None
    consciousness: str | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class News2Result:
    """What a set scores. `total`, `risk` and `response` are None when the set is incomplete."""

    sub_scores: dict[str, int]
    missing: tuple[str, ...]
    scale: int
    scale_note: str
    partial_sum: int
    red_score: bool
    total: int | None
    risk: Risk | None
    response: str | None

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        if self.complete:
            return f"NEWS2 {self.total} ({self.risk})"
        missing = ", ".join(LABELS[p] for p in self.missing)
        return f"incomplete set ({missing} missing): partial sum {self.partial_sum}, not a NEWS2"


def score(observations: Observations, scale2: Scale2Decision | None = None) -> News2Result:
    """Score one set. Raises `ImplausibleObservations` (every reason) for impossible values."""
    problems = plausibility_problems(observations)
    if problems:
        raise ImplausibleObservations(problems)
    sub_scores = {
        name: value
        for name, value in _sub_scores(observations, scale2 is not None).items()
        if value is not None
    }
    # Missing means not measured; a measured SpO2 that Scale 2 cannot score without knowing air
    # or oxygen is left out of the sum, and the set is incomplete for want of that parameter.
    missing = tuple(p for p in PARAMETERS if getattr(observations, p) is None)
    partial_sum = sum(sub_scores.values())
    red_score = any(s == 3 for s in sub_scores.values())
    total = None if missing else partial_sum
    risk = None if total is None else clinical_risk(total, red_score)
    return News2Result(
        sub_scores=sub_scores,
        missing=missing,
        scale=2 if scale2 else 1,
        scale_note=scale2.describe() if scale2 else "Scale 1 (no recorded Scale 2 decision)",
        partial_sum=partial_sum,
        red_score=red_score,
        total=total,
        risk=risk,
        response=None if total is None else response_for(total, red_score),
    )


def clinical_risk(total: int, red_score: bool) -> Risk:
    """Chart 4's clinical risk of a complete set's total."""
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    return "low-medium" if red_score else "low"


def response_for(total: int, red_score: bool) -> str:
    risk = clinical_risk(total, red_score)
    return RESPONSES["low (0)" if total == 0 else risk]


def plausibility_problems(observations: Observations) -> list[str]:
    """One reason for each measured value outside `PLAUSIBLE`, or an unknown ACVPU letter."""
    problems = []
    for name, (lowest, highest, unit) in PLAUSIBLE.items():
        value = getattr(observations, name)
        if value is not None and not lowest <= value <= highest:
            problems.append(
                f"{LABELS[name]} {value:g} {unit} is not possible for a living person "
                f"(plausible range {lowest:g}–{highest:g} {unit})"
            )
    level = observations.consciousness
    if level is not None and level not in ACVPU:
        problems.append(f"consciousness {level!r} is not an ACVPU level (A, C, V, P or U)")
    return problems


def _sub_scores(obs: Observations, on_scale2: bool) -> dict[str, int | None]:
    return {
        "resp_rate": _banded("resp_rate", obs.resp_rate, RESP_RATE),
        "spo2": spo2_score(obs.spo2, obs.on_oxygen, on_scale2),
        "on_oxygen": None if obs.on_oxygen is None else OXYGEN_SCORE * obs.on_oxygen,
        "systolic_bp": _banded("systolic_bp", obs.systolic_bp, SYSTOLIC_BP),
        "pulse": _banded("pulse", obs.pulse, PULSE),
        "consciousness": None if obs.consciousness is None else ACVPU[obs.consciousness],
        "temperature": _banded("temperature", obs.temperature, TEMPERATURE),
    }


def spo2_score(spo2: float | None, on_oxygen: bool | None, on_scale2: bool) -> int | None:
    """The SpO2 score; on Scale 2 at 93% or more it needs to know air or oxygen (None if not)."""
    if spo2 is None:
        return None
    if not on_scale2:
        return _banded("spo2", spo2, SPO2_SCALE1)
    found = _banded("spo2", spo2, SPO2_SCALE2)
    if found is not None:
        return found
    if on_oxygen is None:
        return None  # Scale 2 at ≥ 93% cannot be scored without knowing air or oxygen
    return _banded("spo2", spo2, SPO2_SCALE2_ON_OXYGEN if on_oxygen else SPO2_SCALE2_ON_AIR)


def read_as_charted(name: str, value: float) -> Decimal:
    """`value` rounded half up to the chart's precision for `name`."""
    places = DECIMALS.get(name, 0)
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _banded(name: str, value: float | None, bands: tuple[Band, ...]) -> int | None:
    if value is None:
        return None
    if round(value, DECIMALS.get(name, 0)) == value:
        # Already at the chart's precision (most readings): the float is the same float as
        # the printed edge it equals, so plain comparison is exact, and quicker.
        return _band_of(value, bands)
    return _band_of(read_as_charted(name, value), _decimal_bands(bands))


def _band_of(value: Any, bands: Any) -> int | None:
    for lowest, highest, points in bands:
        if (lowest is None or value >= lowest) and (highest is None or value <= highest):
            return points
    return None


_DECIMAL_BANDS: dict[int, tuple[tuple[Decimal | None, Decimal | None, int], ...]] = {}


def _decimal_bands(
    bands: tuple[Band, ...],
) -> tuple[tuple[Decimal | None, Decimal | None, int], ...]:
    """The band edges as exact decimals (35.1 is 35.1, not the float nearest it); made once."""
    found = _DECIMAL_BANDS.get(id(bands))
    if found is None:
        found = _DECIMAL_BANDS[id(bands)] = tuple(
            (_exact(lowest), _exact(highest), points) for lowest, highest, points in bands
        )
    return found


def _exact(edge: float | None) -> Decimal | None:
    return None if edge is None else Decimal(repr(edge))
