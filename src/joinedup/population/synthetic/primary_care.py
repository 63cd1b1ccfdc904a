"""GP appointments: with whom, how, and whether the person came.

About 5–6 appointments per person-year across the practice team, more for older, frailer and
multimorbid people. People tend to see their own named GP (relational continuity, stronger for
older and multimorbid people); housebound people and care-home residents are mostly seen at
home. Costs are indicative unit costs (PSSRU order of magnitude) in whole pence; a missed
appointment costs nothing here.

Each appointment has the date it was booked (`booked_date`), drawn on a random stream of its
own after everything else, so adding it changed no other value of the area. The shape follows
NHS Digital's *Appointments in General Practice* (GPAD; "time between book and appointment",
national monthly figures 2018-2024): a little over two in five appointments are booked and
held the same day (about 40-45% nationally; a press analysis of October 2022, which left out
categories usually booked ahead, found 49%), the rest spread over the bands 1 day, 2-7, 8-14,
15-21, 22-28 and more than 28 days, with roughly 5% beyond 28 days (1.4 million of about 26
million in October 2018; 3% in the October 2022 analysis). Same-day booking is commoner for
GP telephone appointments, home visits and paramedics (on-the-day triage) and rarer for
nurses, healthcare assistants and pharmacists (blood tests, reviews and clinics booked
ahead) and at the extended-access hub (Enhanced Access is pre-bookable: DES 2022/23 8.1).
The shares below are set so the area's overall same-day share is about 43%; `calibration`
and `tests/unit/test_gp_booking_dates.py` measure it from the stored table.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.population.synthetic.calendar import date_array, day_number
from joinedup.population.synthetic.costs import Ledger, pounds
from joinedup.population.synthetic.exposure import (
    Drivers,
    Units,
    chunks,
    curve,
    draw_events,
    scaled_rate,
)
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.organisations import ROLES, Area
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import Streams
from joinedup.population.unit_costs import GP_APPOINTMENT_PENCE

GP_RATE = 5.5  # appointments per person-year
MALE_CURVE = (
    (0, 8.0),
    (1, 6.0),
    (5, 3.0),
    (15, 2.2),
    (25, 2.2),
    (45, 3.5),
    (65, 6.0),
    (75, 8.5),
    (85, 10.5),
    (95, 11.0),
)
FEMALE_CURVE = (
    (0, 8.0),
    (1, 6.0),
    (5, 3.0),
    (15, 3.2),
    (25, 5.0),
    (45, 5.2),
    (65, 6.8),
    (75, 9.0),
    (85, 11.0),
    (95, 11.5),
)
ROLE_SHARES = np.array([0.52, 0.24, 0.06, 0.10, 0.04, 0.04])  # in ROLES order
MODES = ("face_to_face", "telephone", "video", "home_visit")
# Share of each role's appointments by mode for people who can get to the practice.
MODE_SHARES = np.array(
    [
        [0.55, 0.41, 0.04, 0.0],  # gp
        [0.90, 0.10, 0.0, 0.0],  # nurse
        [0.30, 0.70, 0.0, 0.0],  # pharmacist
        [0.95, 0.05, 0.0, 0.0],  # healthcare assistant
        [0.50, 0.30, 0.0, 0.20],  # paramedic
        [0.60, 0.40, 0.0, 0.0],  # other
    ]
)
#: Share of appointments (not home visits) at the federation's extended-access hub, from the day
#: the hubs opened: Enhanced Access offers about 60 minutes per 1,000 patients a week (DES
#: 2022/23 8.1), some 3-4% of a practice's appointments. On their own random stream, so adding
#: the hubs changed no other value of the area.
HUB_SHARE = 0.04
HUBS_OPENED = day_number(date(2019, 10, 1))  # `records.organisations_table`: the hubs' opening
#: Chance an appointment is booked the same day, by role (ROLES order) and mode (MODES order).
SAME_DAY = np.array(
    [
        [0.43, 0.62, 0.55, 0.85],  # gp: on-the-day triage by telephone, home visits
        [0.25, 0.35, 0.35, 0.60],  # nurse
        [0.25, 0.35, 0.35, 0.60],  # pharmacist: medication reviews booked ahead
        [0.18, 0.25, 0.25, 0.50],  # healthcare assistant: blood tests booked ahead
        [0.70, 0.80, 0.80, 0.85],  # paramedic: same-day requests and visits
        [0.35, 0.45, 0.45, 0.60],  # other
    ]
)
HUB_SAME_DAY = 0.15  # at the extended-access hub, booked ahead but for NHS 111's same-day use
#: Days from booking to appointment when not the same day: GPAD's bands (first day, last day)
#: and each band's share of the appointments not booked the same day (national, rounded).
LEAD_BANDS = ((1, 1), (2, 7), (8, 14), (15, 21), (22, 28), (29, 56))
LEAD_SHARES = np.array([0.13, 0.35, 0.23, 0.115, 0.075, 0.10])
HOME_VISIT_SHARE = 0.6  # of appointments with GPs, nurses and paramedics for people seen at home
PENCE = GP_APPOINTMENT_PENCE  # role × mode reference unit costs (population.unit_costs)


def build_gp_appointments(
    area: Area,
    people: People,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    streams: Streams,
    ledger: Ledger,
) -> pa.Table:
    rng = streams("gp-appointments")
    site_rng = streams("gp-appointment-sites")
    booking_rng = streams("gp-appointment-booking")
    d = drivers
    age_curve = np.where(d.female, curve(FEMALE_CURVE, d.age), curve(MALE_CURVE, d.age))
    rel = (
        age_curve
        * np.exp(
            0.04 * np.minimum(d.frailty, 15)
            + 0.12 * np.minimum(d.conditions, 8)
            + 0.1 * d.deprivation
            + 0.45 * d.persistence
        )
        * (1 + 0.8 * d.end_of_life)
    )
    rate = scaled_rate(rel, units, GP_RATE)
    gps = area.clinician_count[:, 0]
    usual_gp = np.floor(rng.random(people.reg_person.shape[0]) * gps[people.reg_practice]).astype(
        np.int32
    )
    # Built a million units at a time: the table is the biggest in the store.
    parts, first_id = [], 1
    for rows in chunks(units):
        part = _appointments(
            rng,
            area,
            people,
            frailty,
            units.take(rows),
            drivers.take(rows),
            rate[rows],
            usual_gp,
            ledger,
            first_id,
        )
        part = part.append_column("site_code", _sites(site_rng, area, part))
        part = part.append_column("booked_date", _booked_dates(booking_rng, part))
        first_id += part.num_rows
        parts.append(part)
    return pa.concat_tables(parts)


def _appointments(
    rng: np.random.Generator,
    area: Area,
    people: People,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    rate: np.ndarray,
    usual_gp: np.ndarray,
    ledger: Ledger,
    first_id: int,
) -> pa.Table:
    unit, day = draw_events(rng, units, rate)
    order = np.argsort(
        (unit.astype(np.int64) << 12) | (day.astype(np.int64) - people.calendar.start),
        kind="stable",
    )
    unit, day = unit[order].astype(np.int32), day[order]
    del order
    person = units.person[unit]
    practice = units.practice[unit]
    n = person.shape[0]

    role = np.searchsorted(np.cumsum(ROLE_SHARES), rng.random(n), side="right").clip(0, 5)
    role = np.where(area.clinician_count[practice, role] > 0, role, 0).astype(np.int8)
    clinician = _clinicians(rng, area, units, drivers, unit, practice, role, usual_gp)

    at_home = frailty.housebound[person] | frailty.care_home[person]
    mode = _modes(rng, role, at_home)
    age = drivers.age[unit]
    dna = np.clip(
        0.04 + 0.04 * people.deprivation[person] * ((age >= 16) & (age < 40)) - 0.02 * (age >= 65),
        0.01,
        0.2,
    )
    del age
    attended = (rng.random(n) >= dna) | (mode == MODES.index("home_visit"))
    pence = np.where(attended, PENCE[role, mode], 0).astype(np.int32)
    ledger.add("gp", person, day, pence)
    return pa.table(
        {
            "appointment_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "person_id": pa.array(person + 1),
            "practice_code": pa.array(list(area.practice_codes), pa.string()).take(
                pa.array(practice)
            ),
            "appointment_date": date_array(day),
            "clinician_id": pa.array(list(area.clinicians), pa.string()).take(pa.array(clinician)),
            "clinician_role": pa.array(list(ROLES), pa.string()).take(pa.array(role)),
            "mode": pa.array(list(MODES), pa.string()).take(pa.array(mode)),
            "attended": pa.array(attended),
            "cost": pounds(pence),
        }
    )


def _sites(rng: np.random.Generator, area: Area, part: pa.Table) -> pa.Array:
    """The hub code of the appointments that took place at the federation's hub, else null.
    Hub codes are those of `records.organisations_table` (SYNH01 for the first federation)."""
    n = part.num_rows
    practice = pc.index_in(
        part.column("practice_code"), value_set=pa.array(list(area.practice_codes))
    ).to_numpy(zero_copy_only=False)
    days = part.column("appointment_date").cast(pa.int32()).to_numpy(zero_copy_only=False)
    home = pc.equal(part.column("mode"), "home_visit").to_numpy(zero_copy_only=False)
    at_hub = (rng.random(n) < HUB_SHARE) & (days >= HUBS_OPENED) & ~home
    federation = area.neighbourhood_federation[area.practice_neighbourhood[practice]]
    codes = pa.array([f"SYNH{f + 1:02d}" for f in range(len(area.federation_codes))])
    hub = codes.take(pa.array(federation))
    return pc.if_else(pa.array(at_hub), hub, pa.scalar(None, pa.string()))


def _booked_dates(rng: np.random.Generator, part: pa.Table) -> pa.Array:
    """When each appointment was booked: the same day with a chance set by its role, mode and
    site, else some days before, drawn from GPAD's bands (module docstring)."""
    n = part.num_rows
    role = pc.index_in(part.column("clinician_role"), value_set=pa.array(list(ROLES)))
    mode = pc.index_in(part.column("mode"), value_set=pa.array(list(MODES)))
    hub = pc.is_valid(part.column("site_code")).to_numpy(zero_copy_only=False)
    chance = np.where(
        hub,
        HUB_SAME_DAY,
        SAME_DAY[role.to_numpy(zero_copy_only=False), mode.to_numpy(zero_copy_only=False)],
    )
    same_day = rng.random(n) < chance
    band = np.searchsorted(np.cumsum(LEAD_SHARES), rng.random(n) * LEAD_SHARES.sum(), side="right")
    band = band.clip(0, len(LEAD_BANDS) - 1)
    first = np.array([b[0] for b in LEAD_BANDS])[band]
    last = np.array([b[1] for b in LEAD_BANDS])[band]
    lead = first + np.floor(rng.random(n) * (last - first + 1)).astype(np.int64)
    lead = np.where(same_day, 0, lead)
    days = part.column("appointment_date").cast(pa.int32()).to_numpy(zero_copy_only=False)
    return pa.array((days - lead).astype(np.int32), pa.int32()).cast(pa.date32())


def _clinicians(
    rng: np.random.Generator,
    area: Area,
    units: Units,
    drivers: Drivers,
    unit: np.ndarray,
    practice: np.ndarray,
    role: np.ndarray,
    usual_gp: np.ndarray,
) -> np.ndarray:
    """Which clinician: for GP appointments, usually the person's own GP at that practice."""
    continuity = 0.45 + 0.15 * (drivers.age[unit] >= 65) + 0.1 * (drivers.conditions[unit] >= 2)
    own = (role == 0) & (rng.random(unit.shape[0]) < continuity)
    del continuity
    anyone = np.floor(rng.random(unit.shape[0]) * area.clinician_count[practice, role]).astype(
        np.int32
    )
    which = np.where(own, usual_gp[units.registration[unit]], anyone)
    return (area.clinician_offset[practice, role] + which).astype(np.int32)


def _modes(rng: np.random.Generator, role: np.ndarray, at_home: np.ndarray) -> np.ndarray:
    u = rng.random(int(role.shape[0]))
    mode = np.zeros(role.shape[0], dtype=np.int8)
    for r, shares in enumerate(MODE_SHARES):  # one pass per role keeps memory flat
        rows = role == r
        mode[rows] = np.searchsorted(np.cumsum(shares), u[rows], side="right")
    mode = np.minimum(mode, len(MODES) - 1)
    visits = at_home & np.isin(role, [0, 1, 4]) & (rng.random(role.shape[0]) < HOME_VISIT_SHARE)
    return np.where(visits, MODES.index("home_visit"), mode)
