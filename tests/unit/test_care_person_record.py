"""The person page's population-store reads, held to the store itself on the small area."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from joinedup.analytics.case_finding import extract_date
from joinedup.care.person_record import TIMELINE_YEARS, find_person_quickly, person_record
from joinedup.population.people import find_person
from joinedup.population.store import PopulationStore


def test_the_identity_index_answers_as_find_person_does(small_store: PopulationStore) -> None:
    ids = [*range(1, 6001, 97), 10**9]
    assert [find_person_quickly(small_store, p) for p in ids] == [
        find_person(small_store, p) for p in ids
    ]


def test_the_record_holds_every_contact_in_the_window(small_store: PopulationStore) -> None:
    as_of = extract_date(small_store)
    since = as_of.replace(year=as_of.year - TIMELINE_YEARS)
    gp = pd.read_parquet(small_store.path("gp_appointments"))
    busy = int(gp.person_id.value_counts().index[0])

    record = person_record(small_store, busy, as_of, None)

    def within(table: str, column: str) -> int:
        frame = pd.read_parquet(small_store.path(table))
        days = pd.to_datetime(frame[frame.person_id == busy][column]).dt.date
        return int(((days > since) & (days <= as_of)).sum())

    contacts = pd.read_parquet(small_store.path("community_contacts"))
    mine = contacts[contacts.person_id == busy]
    days = pd.to_datetime(mine.contact_date).dt.date
    in_window = mine[(days > since) & (days <= as_of)]
    assert record.timeline_counts.get("gp", 0) == within("gp_appointments", "appointment_date")
    assert record.timeline_counts.get("ae", 0) == within("ae_attendances", "arrival_date")
    assert record.timeline_counts.get("admission", 0) == within("hospital_spells", "admission_date")
    assert record.timeline_counts.get("outpatient", 0) == within(
        "outpatient_appointments", "appointment_date"
    )
    assert record.timeline_counts.get("social_care", 0) == int(
        (in_window.service == "social_care").sum()
    )
    assert record.timeline_counts.get("community", 0) == int(
        (in_window.service != "social_care").sum()
    )
    assert [e.day for e in record.timeline] == sorted(
        (e.day for e in record.timeline), reverse=True
    )
    assert record.run is None
    meds = pd.read_parquet(small_store.path("medications"))
    issued = pd.to_datetime(meds[meds.person_id == busy].issue_date).dt.date
    recent = meds[meds.person_id == busy][
        (issued > as_of - dt.timedelta(days=365)) & (issued <= as_of)
    ]
    assert sorted(m.name for m in record.medicines) == sorted(set(recent.name))
    assert sum(m.issues for m in record.medicines) == len(recent)
