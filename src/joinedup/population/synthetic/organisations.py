"""The area's organisations: practices modelled on real ones, grouped into neighbourhoods and
federations, with extended-access hubs, community teams and each practice's clinicians.

Practice sizes and age/sex/deprivation profiles come from real English practices of one
local authority (more than one for very large areas), scaled so the lists add up to the
requested population exactly. Names and codes are fictional — codes start "SYN", which no ODS
code does — so no synthetic figure can be read as a real practice's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.population.synthetic.reference import PracticeProfiles

MEAN_LIST_SIZE = 9_400  # ~32 practices for 300,000 people, as in an average English CCG
NEIGHBOURHOOD_SIZE = 40_000  # neighbourhoods serve 30–50,000 people
FEDERATION_SIZE = 100_000

AREA_STEMS = (
    "Ash",
    "Brack",
    "Calder",
    "Dun",
    "Elm",
    "Fern",
    "Glen",
    "Hart",
    "Iver",
    "Kel",
    "Lang",
    "Mar",
    "Ned",
    "Orm",
    "Pen",
    "Rad",
    "Sel",
    "Thorn",
    "Wen",
    "Yar",
)
AREA_ENDINGS = ("ford", "ley", "mouth", "wick", "ton", "bury", "dale", "field", "holme", "stow")
PLACES = (
    "Ashbrook",
    "Millford",
    "Kingsmead",
    "Oakhurst",
    "Riverside",
    "Hollins",
    "Westgate",
    "Northfield",
    "Southmoor",
    "Eastwood",
    "Brookside",
    "Fairview",
    "Highcross",
    "Lowfield",
    "Marshgate",
    "Newlands",
    "Old Town",
    "Parkside",
    "Queensbury",
    "Redhill",
    "Stonebridge",
    "Thornbury",
    "Upperton",
    "Valley",
    "Whitecliff",
    "Yewdale",
    "Castleton",
    "Deanfield",
    "Greenhill",
    "Harbourside",
)
PRACTICE_WORDS = (
    "Riverside",
    "Parkview",
    "Oakwood",
    "Millbrook",
    "Hillside",
    "Meadowbank",
    "Elmfield",
    "Ashgrove",
    "Beechwood",
    "Cedar House",
    "Willowbank",
    "Fernlea",
    "Brookfield",
    "Highfield",
    "Kingsway",
    "Queensway",
    "Station Road",
    "Church Lane",
    "Market Street",
    "Valley",
    "Northgate",
    "Southgate",
    "Westfield",
    "Eastgate",
    "Greenacres",
    "Woodlands",
    "Harbour",
    "Castle",
    "Abbey",
    "Priory",
    "Orchard",
    "Lakeside",
    "Moorland",
    "Heathfield",
    "Rosewood",
    "Springfield",
    "Bridge Street",
    "Mill Lane",
    "The Crescent",
    "Holly Tree",
    "Larchwood",
    "Birchfield",
    "Sycamore",
    "Hawthorn",
    "Chestnut",
    "Maple",
    "Linden",
    "Foxhill",
)
PRACTICE_SUFFIXES = (
    "Medical Centre",
    "Surgery",
    "Health Centre",
    "Medical Practice",
    "Family Practice",
    "Group Practice",
)
COMPASS = (
    "North",
    "South",
    "East",
    "West",
    "Central",
    "North East",
    "North West",
    "South East",
    "South West",
    "Inner",
    "Outer",
    "Coastal",
)

# Clinician roles in the contract's order, the list size each whole-time post serves, and the
# short form used in clinician keys.
ROLES = ("gp", "nurse", "pharmacist", "healthcare_assistant", "paramedic", "other")
ROLE_KEYS = ("GP", "PN", "PH", "HC", "PA", "OT")
PATIENTS_PER_CLINICIAN = (1_800, 3_500, 9_000, 6_000, 10_000, 12_000)


@dataclass(frozen=True)
class Area:
    name: str
    code: str
    practice_codes: np.ndarray  # per practice
    practice_names: np.ndarray
    practice_profile: np.ndarray  # row of PracticeProfiles each practice is modelled on
    practice_lad: np.ndarray
    list_sizes: np.ndarray  # registered at the extract date
    practice_neighbourhood: np.ndarray
    neighbourhood_codes: list[str]
    neighbourhood_names: list[str]
    neighbourhood_federation: np.ndarray
    federation_codes: list[str]
    federation_names: list[str]
    profile_areas: list[str]  # real local authorities whose practices were used
    clinicians: np.ndarray  # clinician keys, grouped by practice then role
    clinician_offset: np.ndarray  # (practices × roles) first index into clinicians
    clinician_count: np.ndarray  # (practices × roles) number of clinicians

    @property
    def practices(self) -> int:
        return len(self.practice_codes)


def practice_count(patients: int) -> int:
    """Number of practices for an area: a typical list size each, at least two."""
    return max(2, round(patients / MEAN_LIST_SIZE))


def build_area(profiles: PracticeProfiles, patients: int, rng: np.random.Generator) -> Area:
    n = practice_count(patients)
    chosen = _choose_profiles(profiles, n, rng)
    sizes = _scale_lists(profiles.list_size[chosen].astype(np.float64), patients)
    neighbourhood = _group_by_size(sizes, max(1, round(patients / NEIGHBOURHOOD_SIZE)))
    n_neighbourhoods = int(neighbourhood.max()) + 1
    n_federations = min(n_neighbourhoods, max(1, round(patients / FEDERATION_SIZE)))
    totals = np.bincount(neighbourhood, weights=sizes, minlength=n_neighbourhoods)
    federation = _group_by_size(totals, n_federations)

    name = AREA_STEMS[rng.integers(len(AREA_STEMS))] + AREA_ENDINGS[rng.integers(len(AREA_ENDINGS))]
    places = [str(p) for p in rng.permutation(PLACES)]
    neighbourhood_names = [_numbered(places, i) for i in range(n_neighbourhoods)]
    federation_names = [
        f"{name} {_numbered(list(COMPASS), i)} Federation"
        if n_federations > 1
        else f"{name} Federation"
        for i in range(n_federations)
    ]
    practice_names = _practice_names(n, rng)

    # Order practices by neighbourhood then name, so codes read naturally down a list.
    order = np.lexsort((practice_names, neighbourhood))
    chosen, sizes, neighbourhood, practice_names = (
        chosen[order],
        sizes[order],
        neighbourhood[order],
        practice_names[order],
    )
    codes = np.array([f"SYNP{i + 1:03d}" for i in range(n)], dtype=object)
    clinicians, offset, count = _clinicians(codes, sizes)
    return Area(
        name=name,
        code="SYNICB",
        practice_codes=codes,
        practice_names=practice_names,
        practice_profile=chosen,
        practice_lad=profiles.lad_code[chosen],
        list_sizes=sizes,
        practice_neighbourhood=neighbourhood,
        neighbourhood_codes=[f"SYNN{i + 1:02d}" for i in range(n_neighbourhoods)],
        neighbourhood_names=neighbourhood_names,
        neighbourhood_federation=federation,
        federation_codes=[f"SYNF{i + 1:02d}" for i in range(n_federations)],
        federation_names=federation_names,
        profile_areas=sorted(set(profiles.area[chosen])),
        clinicians=clinicians,
        clinician_offset=offset,
        clinician_count=count,
    )


def _choose_profiles(profiles: PracticeProfiles, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` practice rows from one real local authority, adding neighbouring ones only when it
    has too few practices (very large areas), never repeating a practice unless all are used."""
    areas = list(dict.fromkeys(profiles.area))
    pool: list[int] = []
    for area in rng.permutation(areas):
        pool.extend(np.flatnonzero(profiles.area == area))
        if len(pool) >= n:
            break
    pool_array = np.array(pool)
    if n <= len(pool_array):
        return np.sort(rng.choice(pool_array, size=n, replace=False))
    return np.sort(np.concatenate([pool_array, rng.choice(pool_array, size=n - len(pool_array))]))


def _scale_lists(sizes: np.ndarray, patients: int) -> np.ndarray:
    """Scale list sizes to add up to `patients` exactly (largest remainders get the rounding)."""
    exact = sizes / sizes.sum() * patients
    floor = np.floor(exact).astype(np.int64)
    short = patients - int(floor.sum())
    floor[np.argsort(floor - exact, kind="stable")[:short]] += 1
    return floor


def _group_by_size(sizes: np.ndarray, groups: int) -> np.ndarray:
    """Assign items to `groups` of similar total size (largest first, to the smallest group)."""
    groups = max(1, min(groups, len(sizes)))
    totals = np.zeros(groups)
    group = np.empty(len(sizes), dtype=np.int64)
    for i in np.argsort(-sizes, kind="stable"):  # a few hundred items at most
        g = int(np.argmin(totals))
        group[i] = g
        totals[g] += sizes[i]
    # Number groups by their first member so the numbering is stable and reads in order.
    first = {g: i for i, g in reversed(list(enumerate(group)))}
    renumber = {g: rank for rank, g in enumerate(sorted(first, key=lambda g: first[g]))}
    return np.array([renumber[g] for g in group], dtype=np.int64)


def _numbered(names: list[str], i: int) -> str:
    base = names[i % len(names)]
    return base if i < len(names) else f"{base} {i // len(names) + 1}"


def _practice_names(n: int, rng: np.random.Generator) -> np.ndarray:
    combos = [f"{w} {s}" for w in PRACTICE_WORDS for s in PRACTICE_SUFFIXES]
    picks = rng.permutation(len(combos))
    return np.array([_numbered([combos[p] for p in picks], i) for i in range(n)], dtype=object)


def _clinicians(codes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per = np.array(PATIENTS_PER_CLINICIAN, dtype=np.float64)
    count = np.maximum(np.rint(sizes[:, None] / per[None, :]), 0).astype(np.int64)
    count[:, 0] = np.maximum(count[:, 0], 1)  # every practice has a GP and a nurse
    count[:, 1] = np.maximum(count[:, 1], 1)
    offset = (np.cumsum(count.ravel()) - count.ravel()).reshape(count.shape)
    keys = [
        f"{code}-{ROLE_KEYS[r]}{k + 1:02d}"
        for code, row in zip(codes, count, strict=True)
        for r, c in enumerate(row)
        for k in range(c)
    ]
    return np.array(keys, dtype=object), offset, count
