"""A planted programme: a known effect on emergency admissions, so evaluation can be tested
against the right answer (`joinedup generate --plant-programme EFFECT`).

The programme starts on the first day of a month, 18 months before the end of the extract date's
month (1 October 2024 for an extract on 31 March 2026: `programme_start`), in a random half of
the neighbourhoods (drawn from its own random stream, so the rest of the area is the same
whatever the effect). Its cohort is fixed on the start date:

* registered on the start date at a practice in a chosen neighbourhood,
* aged 65 or over on the start date (calendar age: born on or before the start date 65 years
  earlier), and
* moderate or severe frailty: 9 or more of the 35 coded eFI deficits recorded *before* the start
  date (eFI categories: Clegg et al. 2016; polypharmacy, the 36th deficit, is left out because
  the generator holds no dated polypharmacy state).

The effect multiplies the cohort's emergency admission rate from the start date on, whatever
practice they move to (intention to treat): each of their emergency spells admitted on or
after the start is kept with probability 1 + EFFECT. Spells are thinned before A&E
attendances, costs and post-discharge care are derived from them, so those stay consistent;
a spell someone would have died in that is thinned becomes a death outside hospital. Only
reductions can be planted (thinning cannot add spells): -1 < EFFECT <= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from joinedup.population.synthetic.calendar import Calendar, day_number
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.organisations import Area
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import Streams

PROGRAMME_NAME = "planted"
MONTHS_BEFORE_EXTRACT = 18
COHORT_RULE = "65+ with moderate or severe frailty"
COHORT_MIN_AGE = 65
MODERATE_DEFICITS = 9  # eFI moderate is 9–12 deficits of 36, severe 13 or more


@dataclass(frozen=True)
class PlantedProgramme:
    effect: float
    neighbourhoods: list[str]  # codes of the neighbourhoods that run it
    cohort: np.ndarray  # per person: in the programme's cohort
    rng: np.random.Generator
    start: date

    def keeps(self, person: np.ndarray, admitted: np.ndarray, emergency: np.ndarray) -> np.ndarray:
        """Which spells survive the programme: those of its cohort that it prevents are dropped."""
        affected = emergency & self.cohort[person] & (admitted >= day_number(self.start))
        return ~affected | (self.rng.random(person.shape[0]) < 1.0 + self.effect)

    def metadata(self) -> dict[str, Any]:
        return {
            "name": PROGRAMME_NAME,
            "effect": self.effect,
            "start": self.start.isoformat(),
            "neighbourhoods": self.neighbourhoods,
            "cohort": COHORT_RULE,
            "outcome": "emergency_admissions",
        }


def programme_start(calendar: Calendar) -> date:
    """The first day of the month 18 months before the month after the extract date's."""
    after = calendar.extract_date.replace(day=1) + timedelta(days=32)
    months = after.year * 12 + after.month - 1 - MONTHS_BEFORE_EXTRACT
    return date(months // 12, months % 12 + 1, 1)


def check_effect(effect: object) -> float:
    if isinstance(effect, bool) or not isinstance(effect, int | float):
        raise ValueError(f"the planted effect must be a number, not {effect!r}")
    if not -1.0 < float(effect) <= 0.0:
        raise ValueError(
            f"the planted effect must be a relative change above -1 and at most 0 "
            f"(e.g. -0.2 for 20% fewer emergency admissions), not {effect}"
        )
    return float(effect)


def plant_programme(
    effect: float, area: Area, people: People, frailty: Frailty, streams: Streams
) -> PlantedProgramme:
    """Choose the neighbourhoods and the cohort of a programme with relative effect `effect`."""
    rng = streams("programme")
    count = len(area.neighbourhood_codes)
    if count < 2:
        raise ValueError(
            "planting a programme needs at least two neighbourhoods to compare "
            "(an area of about 60,000 people or more)"
        )
    chosen = np.sort(rng.permutation(count)[: count // 2])
    first_day = programme_start(people.calendar)
    start = day_number(first_day)
    practice = _practice_on(people, start)
    in_chosen = np.isin(area.practice_neighbourhood[np.maximum(practice, 0)], chosen)
    latest_birth = day_number(first_day.replace(year=first_day.year - COHORT_MIN_AGE))
    frail = frailty.count_before(np.full(people.n, start)) >= MODERATE_DEFICITS
    cohort = (practice >= 0) & in_chosen & (people.dob <= latest_birth) & frail
    return PlantedProgramme(
        effect=effect,
        neighbourhoods=[area.neighbourhood_codes[i] for i in chosen],
        cohort=cohort,
        rng=rng,
        start=first_day,
    )


def _practice_on(people: People, day: int) -> np.ndarray:
    """Each person's practice on `day`, or -1 when not registered then."""
    current = (people.reg_start <= day) & ((people.reg_end < 0) | (people.reg_end >= day))
    practice = np.full(people.n, -1, dtype=np.int64)
    practice[people.reg_person[current]] = people.reg_practice[current]
    return practice
