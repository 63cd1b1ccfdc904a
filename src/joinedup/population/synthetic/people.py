"""People of the area: who is registered at the extract date, who died, who moved away, and
each person's registrations over the history window.

`patients` people are registered at the extract date, with each practice's list size and
age/sex profile taken from its real model practice. People who died or left during the history
window are added on top (they are in the record too): their ages follow the registered
population weighted by mortality (deaths) or by how often people of that age move (leavers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.population.nhs_numbers import synthetic_nhs_numbers
from joinedup.population.synthetic.calendar import DAYS_PER_YEAR, Calendar
from joinedup.population.synthetic.organisations import Area
from joinedup.population.synthetic.randomness import Streams, choose_rows, cumulative
from joinedup.population.synthetic.reference import AGE_BANDS, Lsoas, PracticeProfiles

CURRENT, DIED, LEFT = 0, 1, 2
ETHNICITIES = ("White", "Asian", "Black", "Mixed", "Other", "Not stated")
MINORITY_SPLIT = np.array([0.52, 0.23, 0.14, 0.11])  # Asian, Black, Mixed, Other (Census 2021)
LEAVE_RATE = 0.025  # share of a list that moves out of the area each year
ARRIVED_IN_WINDOW = 0.12  # share of today's list who registered during the history window
MOVED_PRACTICE = 0.05  # share who changed practice within the area during the window
OLDEST = 105.0
#: England's population aged 75 and over by five-year band, in thousands (ONS mid-2022
#: population estimates for England; rounded, written without internet access: check against
#: the ONS release). The top band is 100+, about 0.3% of people aged 75+.
OLDEST_BANDS = ((75, 2118), (80, 1379), (85, 850), (90, 370), (95, 135), (100, 13))


@dataclass
class People:
    dob: np.ndarray  # int32 day numbers
    female: np.ndarray
    practice: np.ndarray  # practice at the end of the person's record
    lsoa: np.ndarray  # index into Lsoas
    imd_decile: np.ndarray
    ethnicity: np.ndarray  # index into ETHNICITIES
    status: np.ndarray  # CURRENT, DIED or LEFT
    end: np.ndarray  # extract date, date of death or date of leaving
    nhs_number: np.ndarray
    reg_person: np.ndarray
    reg_practice: np.ndarray
    reg_start: np.ndarray
    reg_end: np.ndarray  # -1 while current
    calendar: Calendar  # the extract date and history window these dates lie in

    @property
    def n(self) -> int:
        return self.dob.shape[0]

    def age_on(self, day: np.ndarray | int) -> np.ndarray:
        return (np.asarray(day) - self.dob) / DAYS_PER_YEAR

    @property
    def age_at_end(self) -> np.ndarray:
        return self.age_on(self.end)

    @property
    def current(self) -> np.ndarray:
        return self.status == CURRENT

    @property
    def first_registered(self) -> np.ndarray:
        """Day each person's first registration in the area began."""
        first = np.full(self.n, np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(first, self.reg_person, self.reg_start)
        return first

    @property
    def deprivation(self) -> np.ndarray:
        """0 for the least deprived decile, 1 for the most deprived."""
        return (10 - self.imd_decile) / 9.0


def annual_mortality(age: np.ndarray) -> np.ndarray:
    """Gompertz-shaped annual risk of death, close to England's life tables above age 40."""
    return np.minimum(0.45, np.exp(-10.45 + 0.093 * age)) + np.where(age < 1, 0.004, 0.0)


def build_people(
    area: Area,
    profiles: PracticeProfiles,
    lsoas: Lsoas,
    streams: Streams,
    calendar: Calendar,
) -> People:
    rng = streams("people")
    start_day, extract_day = calendar.start, calendar.extract
    practice = np.repeat(np.arange(area.practices), area.list_sizes)
    age = _ages(area, profiles, rng)
    n = practice.shape[0]

    deaths = round(annual_mortality(age).sum() * calendar.window_years)
    leavers = round(LEAVE_RATE * calendar.window_years * n)
    dead_from = rng.choice(n, size=deaths, p=_normalised(annual_mortality(age)))
    left_from = rng.choice(n, size=leavers, p=_normalised(_mobility(age)))
    template = np.concatenate([np.arange(n), dead_from, left_from])
    status = np.concatenate([np.full(n, CURRENT), np.full(deaths, DIED), np.full(leavers, LEFT)])
    end = np.full(template.shape[0], extract_day, dtype=np.int32)
    moved_on = n + np.arange(deaths + leavers)
    end[moved_on] = rng.integers(
        start_day, extract_day, size=deaths + leavers
    )  # all before the extract date
    age_at_end = age[template]
    dob = (end - np.round(age_at_end * DAYS_PER_YEAR)).astype(np.int32)

    practice = practice[template]
    female = _sexes(area, profiles, practice, age_at_end, rng)
    decile, lsoa = _residence(area, profiles, lsoas, practice[:n], rng)
    decile, lsoa = decile[template], lsoa[template]
    ethnicity = _ethnicities(decile, age_at_end, rng)

    # Shuffle so that person keys carry no hint of status, practice or age.
    order = rng.permutation(template.shape[0])
    dob, female, practice, lsoa = dob[order], female[order], practice[order], lsoa[order]
    decile, ethnicity, status, end = decile[order], ethnicity[order], status[order], end[order]
    registrations = _registrations(dob, status, end, practice, area.practices, rng, start_day)
    return People(
        dob=dob,
        female=female,
        practice=practice.astype(np.int32),
        lsoa=lsoa.astype(np.int32),
        imd_decile=decile.astype(np.int8),
        ethnicity=ethnicity.astype(np.int8),
        status=status.astype(np.int8),
        end=end.astype(np.int32),
        nhs_number=synthetic_nhs_numbers(template.shape[0], streams("nhs-numbers")),
        **registrations,
        calendar=calendar,
    )


def _normalised(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def _mobility(age: np.ndarray) -> np.ndarray:
    """How likely people of each age are to move away (young adults most, the old least)."""
    return np.select([age < 18, age < 35, age < 65], [1.0, 2.5, 1.0], 0.4)


def _ages(area: Area, profiles: PracticeProfiles, rng: np.random.Generator) -> np.ndarray:
    """Ages at the extract date: each practice's list split across its model's age bands."""
    bands = np.concatenate(
        [
            np.repeat(np.arange(len(AGE_BANDS)), rng.multinomial(size, profiles.band_shares[row]))
            for size, row in zip(area.list_sizes, area.practice_profile, strict=True)
        ]
    )
    lo = np.array([b[0] for b in AGE_BANDS], dtype=np.float64)[bands]
    hi = np.array([b[1] for b in AGE_BANDS], dtype=np.float64)[bands]
    u = rng.random(int(bands.shape[0]))
    age = lo + u * (hi - lo)
    old = np.flatnonzero(bands == len(AGE_BANDS) - 1)
    age[old] = _oldest_ages(old.size, rng)
    return age


def _oldest_ages(n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages of people aged 75 and over, spread as England's population is (OLDEST_BANDS)."""
    edges = np.array([band[0] for band in OLDEST_BANDS] + [OLDEST], dtype=np.float64)
    shares = np.array([band[1] for band in OLDEST_BANDS], dtype=np.float64)
    band = rng.choice(len(shares), size=n, p=shares / shares.sum())
    u = rng.random(n)
    age = edges[band] + u * (edges[band + 1] - edges[band])
    # Among centenarians the number alive still halves about every 18 months.
    top = band == len(shares) - 1
    rate, width = 0.45, OLDEST - edges[-2]
    age[top] = edges[-2] - np.log(1 - u[top] * (1 - np.exp(-rate * width))) / rate
    return age


def _sexes(
    area: Area,
    profiles: PracticeProfiles,
    practice: np.ndarray,
    age: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Female or not: the model practice's % male, with women outliving men beyond 60."""
    share_male = profiles.pct_male[area.practice_profile][practice]
    logit = np.log(share_male / (1 - share_male)) - 0.025 * np.maximum(age - 60, 0)
    return rng.random(age.shape[0]) >= 1 / (1 + np.exp(-logit))


def _residence(
    area: Area,
    profiles: PracticeProfiles,
    lsoas: Lsoas,
    practice: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """IMD decile and LSOA: deciles near the practice's own, among its local authority's LSOAs."""
    lads = sorted(set(lsoas.lad_code))
    lad_index = {lad: i for i, lad in enumerate(lads)}
    key = np.array([lad_index[x] for x in lsoas.lad_code]) * 10 + (lsoas.imd_decile - 1)
    order = np.argsort(key, kind="stable")
    group_size = np.bincount(key, minlength=len(lads) * 10).reshape(len(lads), 10)
    group_start = (np.cumsum(group_size.ravel()) - group_size.ravel()).reshape(group_size.shape)

    practice_lad = np.array([lad_index[x] for x in area.practice_lad])
    practice_decile = profiles.imd_decile[area.practice_profile].astype(np.float64)
    distance = np.abs(np.arange(1, 11)[None, :] - practice_decile[:, None])
    weights = group_size[practice_lad] * np.exp(-distance / 1.5)
    decile = choose_rows(rng, cumulative(weights)[practice])
    lad = practice_lad[practice]
    offset = np.floor(rng.random(practice.shape[0]) * group_size[lad, decile]).astype(np.int64)
    lsoa = order[group_start[lad, decile] + offset]
    return (decile + 1).astype(np.int8), lsoa


def _ethnicities(decile: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """England's mix: more diverse in deprived neighbourhoods and among younger people."""
    minority = (0.04 + 0.025 * (10 - decile)) * np.select([age < 40, age < 65], [1.3, 0.9], 0.5)
    u = rng.random(decile.shape[0])
    group = np.where(
        u < minority, 1 + np.searchsorted(np.cumsum(MINORITY_SPLIT), rng.random(decile.shape[0])), 0
    )
    group = np.minimum(group, 4)
    return np.where(rng.random(decile.shape[0]) < 0.06, len(ETHNICITIES) - 1, group)


def _registrations(
    dob: np.ndarray,
    status: np.ndarray,
    end: np.ndarray,
    practice: np.ndarray,
    practices: int,
    rng: np.random.Generator,
    window_start_day: int,
) -> dict[str, np.ndarray]:
    """Registrations: since birth or arrival, some with a move between practices in the area."""
    n = dob.shape[0]
    arrived = rng.random(n) < np.select(
        [status == CURRENT, status == LEFT], [ARRIVED_IN_WINDOW, 0.3], 0.03
    )
    window_start = np.maximum(dob, window_start_day)
    arrival = window_start + np.floor(rng.random(n) * np.maximum(end - window_start, 0))
    earlier = window_start_day - np.floor(rng.exponential(4_000, n))
    start = np.where(arrived, arrival, np.maximum(dob, earlier)).astype(np.int32)

    move_from = np.maximum(start, window_start_day) + 200
    movable = (end - 30) - move_from > 200
    # About four in five people were registered long enough to have moved in the window.
    moved = movable & (rng.random(n) < MOVED_PRACTICE / 0.8)
    move_day = (move_from + np.floor(rng.random(n) * np.maximum(end - 30 - move_from, 0))).astype(
        np.int32
    )
    other = (practice + 1 + rng.integers(0, max(practices - 1, 1), n)) % practices
    if practices == 1:
        moved[:] = False

    open_end = np.where(status == CURRENT, -1, end).astype(np.int32)
    person = np.concatenate([np.flatnonzero(moved), np.arange(n)])
    reg_practice = np.concatenate([other[moved], practice])
    reg_start = np.concatenate([start[moved], np.where(moved, move_day, start)])
    reg_end = np.concatenate([move_day[moved] - 1, open_end])
    order = np.lexsort((reg_start, person))
    return {
        "reg_person": person[order].astype(np.int64),
        "reg_practice": reg_practice[order].astype(np.int32),
        "reg_start": reg_start[order].astype(np.int32),
        "reg_end": reg_end[order].astype(np.int32),
    }
