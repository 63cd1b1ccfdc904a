"""A synthetic district-nursing day around real GP practices, for tests, the benchmark and demos.

Practice coordinates are read at run time from the published practice file beside the
repository (`../shared/data/gp_practice_structures_qof_wylie102/GP_info_and_coordinates.csv`:
ODS practice addresses geocoded by the QOF-visualisation author; see its SOURCE.md); nothing
of it is copied into the repository. A neighbourhood is a seed practice and its nearest
neighbours; homes are placed around their practice; nurses are based at the practices.

The visit mix and times follow the reference notes on district nursing (NEXT_DOMAINS.md §2;
the share of each kind is our assumption, marked [K] there): insulin 15 minutes at a fixed
time (morning 08:15–10:00, a fifth in the evening 17:00–18:00 for the late shift), wound care
20–45 minutes, catheter care 30 minutes, end-of-life care with a syringe driver 45 minutes,
assessments 45 minutes, general visits 30 minutes (QNI: at least 30 minutes excluding travel
for most visits); about 5% of visits are two-person; about 60% have a preferred nurse. Nurses
are bands 3–7, each band holding the skills below; shifts 08:00–16:30 (a fifth 12:00–20:00),
30-minute break, at most 12 visits. Every draw comes from one seeded generator: one seed, one
day.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from joinedup.errors import UserError
from joinedup.neighbourhood.visits.model import Day, Nurse, Visit
from joinedup.neighbourhood.visits.travel import Point, haversine_km

PRACTICES_FILE = Path("data/gp_practice_structures_qof_wylie102/GP_info_and_coordinates.csv")
BAND_SKILLS: dict[int, list[str]] = {
    3: ["insulin"],
    4: ["insulin", "wound_care"],
    5: ["insulin", "wound_care", "catheter"],
    6: ["insulin", "wound_care", "catheter", "syringe_driver", "assessment"],
    7: ["insulin", "wound_care", "catheter", "syringe_driver", "assessment"],
}
BAND_SHARE = {3: 0.15, 4: 0.15, 5: 0.35, 6: 0.25, 7: 0.10}
HOME_SPREAD_KM = 1.2  # typical distance of a home from its practice (exponential mean)


@dataclass(frozen=True)
class Kind:
    name: str
    share: float
    skills: tuple[str, ...]
    durations: tuple[int, ...]
    priority: int


KINDS = (
    Kind("insulin", 0.18, ("insulin",), (15,), 1),
    Kind("wound", 0.32, ("wound_care",), (20, 30, 45), 2),
    Kind("catheter", 0.12, ("catheter",), (30,), 2),
    Kind("end_of_life", 0.08, ("syringe_driver",), (45,), 1),
    Kind("assessment", 0.12, ("assessment",), (45,), 3),
    Kind("general", 0.18, (), (30,), 3),
)
WINDOWS = ((8 * 60 + 30, 12 * 60 + 30), (12 * 60 + 30, 16 * 60 + 30), (8 * 60 + 30, 16 * 60 + 30))


@dataclass(frozen=True)
class Practice:
    code: str
    point: Point


def read_practices(shared_dir: Path) -> list[Practice]:
    """Every practice with usable coordinates in England's published file."""
    path = shared_dir / PRACTICES_FILE
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise UserError(f"the practice coordinates file is missing: {path}") from None
    practices = []
    for row in rows:
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        if 49.8 <= lat <= 55.9 and -6.5 <= lon <= 1.8:  # England, finite
            practices.append(Practice(row["PRACTICE_CODE"], (lat, lon)))
    if not practices:
        raise UserError(f"no practice coordinates could be read from {path}")
    return practices


def neighbourhood(practices: list[Practice], rng: np.random.Generator, size: int) -> list[Practice]:
    """A random practice and its nearest `size - 1` neighbours."""
    seed = practices[int(rng.integers(len(practices)))]
    return sorted(practices, key=lambda p: (haversine_km(seed.point, p.point), p.code))[:size]


def _near(point: Point, rng: np.random.Generator) -> Point:
    distance = min(rng.exponential(HOME_SPREAD_KM), 5.0)
    bearing = rng.uniform(0, 2 * math.pi)
    lat = point[0] + distance * math.cos(bearing) / 111.2
    lon = point[1] + distance * math.sin(bearing) / (111.2 * math.cos(math.radians(point[0])))
    return round(lat, 6), round(lon, 6)


def _nurses(count: int, practices: list[Practice], rng: np.random.Generator) -> list[Nurse]:
    bands = rng.choice(list(BAND_SHARE), size=count, p=list(BAND_SHARE.values()))
    nurses = []
    for i, band in enumerate(bands):
        late = i % 5 == 4
        base = practices[i % len(practices)].point
        nurses.append(
            Nurse(
                id=f"N{i + 1:02d}",
                lat=base[0],
                lon=base[1],
                shift_start=(12 if late else 8) * 60,
                shift_end=20 * 60 if late else 16 * 60 + 30,
                skills=BAND_SKILLS[int(band)],
                break_start=(16 if late else 12) * 60,
                break_end=(18 if late else 14) * 60,
                break_min=30,
                max_visits=12,
                band=int(band),
            )
        )
    return nurses


def _visit(
    number: int, kind: Kind, home: Point, nurses: list[Nurse], rng: np.random.Generator
) -> Visit:
    duration = int(rng.choice(kind.durations))
    fixed = None
    if kind.name == "insulin":
        late_shift = any(n.shift_end >= 18 * 60 + 30 for n in nurses)
        evening = late_shift and rng.random() < 0.2
        if evening:
            fixed = 17 * 60 + 15 * int(rng.integers(0, 5))
        else:
            fixed = 8 * 60 + 15 * int(rng.integers(1, 8))
        window = (fixed - 30, fixed + duration + 30)
    else:
        window = WINDOWS[int(rng.integers(len(WINDOWS)))]
    able = [n.id for n in nurses if set(kind.skills) <= set(n.skills)]
    preferred = None
    if rng.random() < 0.6:
        preferred = str(rng.choice(able)) if able and rng.random() < 0.9 else "N99"
    return Visit(
        id=f"V{number:03d}",
        lat=home[0],
        lon=home[1],
        duration_min=duration,
        window_start=window[0],
        window_end=window[1],
        skills=list(kind.skills),
        priority=kind.priority,
        preferred_nurse=preferred,
        two_person=kind.name in ("wound", "general", "end_of_life") and rng.random() < 0.07,
        fixed_time=fixed,
    )


def generate_day(
    shared_dir: Path, *, visits: int, nurses: int, seed: int, practices: int = 5
) -> Day:
    """A day of `visits` home visits and `nurses` nurses around `practices` real practices."""
    rng = np.random.default_rng(seed)
    area = neighbourhood(read_practices(shared_dir), rng, practices)
    staff = _nurses(nurses, area, rng)
    kinds = rng.choice(len(KINDS), size=visits, p=[k.share for k in KINDS])
    homes = [_near(area[int(rng.integers(len(area)))].point, rng) for _ in range(visits)]
    return Day(
        visits=[_visit(i + 1, KINDS[k], homes[i], staff, rng) for i, k in enumerate(kinds)],
        nurses=staff,
    )
