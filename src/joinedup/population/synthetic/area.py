"""Generate a whole synthetic area into a population store, one table at a time.

Stages run in causal order (people → conditions → medicines → frailty → record → activity →
costs); each table is written as soon as it is complete and dropped from memory, so a million
people fit comfortably in a few gigabytes. Everything goes into the store's staging folder:
if any stage fails the previous store is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import reference
from joinedup.population.synthetic.calendar import DEFAULT_EXTRACT_DATE, Calendar
from joinedup.population.synthetic.clinical_events import build_clinical_events
from joinedup.population.synthetic.community import build_community
from joinedup.population.synthetic.conditions import build_conditions
from joinedup.population.synthetic.costs import Ledger
from joinedup.population.synthetic.exposure import build_drivers, build_units
from joinedup.population.synthetic.frailty import build_frailty
from joinedup.population.synthetic.hospital import build_hospital
from joinedup.population.synthetic.identities import build_identities
from joinedup.population.synthetic.medications import build_issues
from joinedup.population.synthetic.organisations import build_area
from joinedup.population.synthetic.outpatients import build_outpatients
from joinedup.population.synthetic.people import build_people
from joinedup.population.synthetic.primary_care import build_gp_appointments
from joinedup.population.synthetic.programme import check_effect, plant_programme
from joinedup.population.synthetic.randomness import Streams
from joinedup.population.synthetic.records import (
    area_metadata,
    medications_table,
    organisations_table,
    patients_table,
    practice_deciles,
    registrations_table,
)

MIN_PATIENTS, MAX_PATIENTS = 100, 5_000_000
Progress = Callable[[str, float], None]

# (stage description, share of the run's time it takes) — drives the progress bar.
STAGES = (
    ("Choosing practices and people", 0.03),
    ("Diagnosing long-term conditions", 0.03),
    ("Prescribing", 0.16),
    ("Recording frailty", 0.03),
    ("Writing people and organisations", 0.02),
    ("Writing the coded record", 0.07),
    ("Writing medication issues", 0.17),
    ("Admitting to hospital", 0.11),
    ("Booking outpatient appointments", 0.07),
    ("Booking GP appointments", 0.23),
    ("Community and social care", 0.04),
    ("Costing care", 0.04),
)


def generate_area(
    store: PopulationStore,
    *,
    patients: int = 300_000,
    seed: int = 1,
    progress: Progress | None = None,
    plant_programme: float | None = None,
    extract_date: date = DEFAULT_EXTRACT_DATE,
) -> dict[str, Any]:
    """Generate a whole area into `store` (via store.staging(), so nothing partial is ever
    left), write its metadata with store.write_metadata(...) and return that metadata dict.

    `patients` is the number of people registered at the extract date; people who died or
    moved away during the history window are in the tables too. `plant_programme`, a relative
    effect such as -0.2, plants a programme with that effect on emergency admissions (see
    programme.py); the metadata then lists it under "programmes". `extract_date` is the last
    day the area's records reach (calendar.py: the window holds the five whole financial years
    before it and the part year up to it); the same seed and extract date give the same area.
    """
    _check_arguments(patients, seed, progress)
    effect = None if plant_programme is None else check_effect(plant_programme)
    calendar = Calendar(extract_date)
    tracker = _Tracker(progress)
    with store.staging() as staged:
        metadata = _generate(staged, patients, seed, tracker, effect, calendar)
        staged.write_metadata(metadata)
    tracker.done()
    return metadata


def _check_arguments(patients: object, seed: object, progress: object) -> None:
    if isinstance(patients, bool) or not isinstance(patients, int | np.integer):
        raise ValueError(f"patients must be a whole number, not {patients!r}")
    if not MIN_PATIENTS <= patients <= MAX_PATIENTS:
        raise ValueError(
            f"patients must be between {MIN_PATIENTS:,} and {MAX_PATIENTS:,}, not {patients:,}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be a whole number, not {seed!r}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be between 0 and 2**63 - 1, not {seed}")
    if progress is not None and not callable(progress):
        raise ValueError("progress must be a function taking (stage, fraction) or None")


class _Tracker:
    """Reports each stage as it starts, with the share of the work done before it."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.stage = 0

    def next(self) -> None:
        if self.stage < len(STAGES) and self.progress is not None:
            done = sum(share for _, share in STAGES[: self.stage])
            self.progress(STAGES[self.stage][0], done)
        self.stage += 1

    def done(self) -> None:
        if self.progress is not None:
            self.progress("Done", 1.0)


def _generate(
    store: PopulationStore,
    patients: int,
    seed: int,
    tracker: _Tracker,
    effect: float | None,
    calendar: Calendar,
) -> dict[str, Any]:
    streams = Streams(int(seed))
    profiles, lsoas, codes = (
        reference.practice_profiles(),
        reference.lsoas(),
        reference.concept_codes(),
    )
    rows: dict[str, int] = {}

    def write(name: str, table: pa.Table) -> None:
        store.write(name, table)
        rows[name] = table.num_rows

    tracker.next()
    area = build_area(profiles, patients, streams("area"))
    people = build_people(area, profiles, lsoas, streams, calendar)
    tracker.next()
    conditions = build_conditions(people, codes, streams)
    tracker.next()
    issues = build_issues(people, conditions, reference.medicines(), streams)
    tracker.next()
    frailty = build_frailty(
        people, conditions, issues.polypharmacy, reference.code_set_members(), streams
    )
    ledger = Ledger(people.n, calendar)
    programme = None if effect is None else plant_programme(effect, area, people, frailty, streams)

    tracker.next()
    deciles = practice_deciles(area, people)
    write("organisations", organisations_table(area, deciles, streams("organisations")))
    identities = build_identities(area, people, streams)
    write("patients", patients_table(people, lsoas, frailty, identities))
    del identities
    write("registrations", registrations_table(area, people))
    tracker.next()
    write("clinical_events", build_clinical_events(people, conditions, frailty, codes, streams))
    tracker.next()
    write("medications", medications_table(issues, ledger))
    del issues

    tracker.next()
    units = build_units(people)
    drivers = build_drivers(people, conditions, frailty, units, streams)
    hospital = build_hospital(
        people, conditions, frailty, units, drivers, codes, streams, ledger, programme
    )
    write("hospital_spells", hospital.spells)
    write("spell_diagnoses", hospital.diagnoses)
    write("ae_attendances", hospital.attendances)
    discharged = (hospital.discharged_person, hospital.discharged_day)
    del hospital
    tracker.next()
    write(
        "outpatient_appointments",
        build_outpatients(people, conditions, frailty, units, drivers, streams, ledger),
    )
    tracker.next()
    write(
        "gp_appointments",
        build_gp_appointments(area, people, frailty, units, drivers, streams, ledger),
    )
    tracker.next()
    contacts, packages = build_community(
        people, conditions, frailty, units, drivers, *discharged, streams, ledger
    )
    write("community_contacts", contacts)
    write("care_packages", packages)
    del contacts, packages
    tracker.next()
    write("costs", ledger.table())
    metadata = area_metadata(area, people, deciles, patients, seed, rows)
    if programme is not None:
        metadata["programmes"] = [programme.metadata()]
    return metadata
