"""The person page's population-store reads, held to the store itself on the small area."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from joinedup.analytics.case_finding import extract_date
from joinedup.analytics.scores.conditions import ltc_codelists, ltc_table
from joinedup.care import person_record as record_module
from joinedup.care.person_record import TIMELINE_YEARS, person_record
from joinedup.population.reads import find_person, one_person_reader
from joinedup.population.store import PopulationStore


def test_the_identity_lookup_answers_as_the_tables_say(small_store: PopulationStore) -> None:
    """The fast lookup against the glossary's rule worked out here by hand with pandas."""
    on = extract_date(small_store)
    patients = pd.read_parquet(small_store.path("patients")).set_index("person_id")
    regs = pd.read_parquet(small_store.path("registrations"))
    orgs = pd.read_parquet(small_store.path("organisations")).set_index("org_code")
    ids = [*range(1, 6001, 97), 10**9]
    for pid in ids:
        found = find_person(small_store, pid)
        if pid not in patients.index:
            assert found is None
            continue
        me = patients.loc[pid]
        mine = regs[regs.person_id == pid]
        start, end = mine.start_date.map(_day), mine.end_date.map(_day)
        open_then = mine[(start <= on) & end.map(lambda d: d is None or d > on)]
        death = _day(me.date_of_death)
        alive = _day(me.date_of_birth) <= on and (death is None or death > on)
        practice = None
        if alive and len(open_then):
            practice = open_then.sort_values("start_date").practice_code.iloc[-1]
        assert found is not None and found.nhs_number == me.nhs_number
        assert found.date_of_birth == _day(me.date_of_birth) and found.date_of_death == death
        assert found.practice_code == practice, pid
        if practice is not None:
            assert found.practice_name == orgs.loc[practice, "name"]
            parent = orgs.loc[practice, "parent_code"]
            assert found.neighbourhood_code == parent
            assert found.neighbourhood_name == orgs.loc[parent, "name"]


def _day(value: object) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def test_conditions_are_the_long_term_conditions_recorded_first(
    small_store: PopulationStore,
) -> None:
    as_of = extract_date(small_store)
    events = pd.read_parquet(small_store.path("clinical_events"))
    codes = ltc_codelists().to_pandas().merge(ltc_table().to_pandas(), on="codelist_id")
    coded = events.merge(codes, on=["code_system", "code"])
    coded = coded[pd.to_datetime(coded.event_date).dt.date <= as_of]
    busy = int(coded.person_id.value_counts().index[0])
    firsts = coded[coded.person_id == busy].groupby("name").event_date.min()
    expected = sorted(((pd.Timestamp(d).date(), n) for n, d in firsts.items()))

    record = person_record(small_store, busy, as_of, None)

    assert [(c.first_recorded, c.name) for c in record.conditions] == expected
    assert len(expected) >= 2


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
    # Codes are shown by name (issue 13: "specialty 110", "Face to face with a other").
    words = " ".join(e.description for e in record.timeline)
    assert not re.search(r"specialty \d|treatment function \d| a other\b", words), words
    assert record.run is None
    meds = pd.read_parquet(small_store.path("medications"))
    issued = pd.to_datetime(meds[meds.person_id == busy].issue_date).dt.date
    recent = meds[meds.person_id == busy][
        (issued > as_of - dt.timedelta(days=365)) & (issued <= as_of)
    ]
    assert sorted(m.name for m in record.medicines) == sorted(set(recent.name))
    assert sum(m.issues for m in record.medicines) == len(recent)


def test_a_record_opened_again_is_remembered_until_the_store_is_written(
    small_store: PopulationStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person's store reads are remembered (ADR 0035), but a table written again (an ingest)
    is read again: the record never shows what the store no longer says."""
    reads: list[str] = []
    real = record_module.person_rows
    monkeypatch.setattr(
        record_module, "person_rows", lambda h, name, p: reads.append(name) or real(h, name, p)
    )
    store = PopulationStore(tmp_path / "population")
    shutil.copytree(small_store.root, store.root)
    as_of = extract_date(store)
    meds = pq.read_table(store.path("medications"))
    busy = int(pd.Series(meds["person_id"].to_pylist()).value_counts().index[0])
    first = person_record(store, busy, as_of, None)
    assert len(reads) == 8
    assert person_record(store, busy, as_of, None).medicines == first.medicines
    assert len(reads) == 8  # opened again: nothing read

    mine = meds.filter(pc.equal(meds["person_id"], busy)).slice(0, 1).to_pylist()[0]
    extra = {name: [value] for name, value in mine.items()}
    extra.update(name=["Adrenaline 1mg/ml (test)"], issue_date=[as_of])
    pq.write_table(
        pa.concat_tables([meds, pa.table(extra, schema=meds.schema)]), store.path("medications")
    )
    os.utime(store.path("medications"), ns=(time.time_ns(), time.time_ns() + 1_000_000))

    again = person_record(store, busy, as_of, None)
    assert len(reads) == 16
    assert "Adrenaline 1mg/ml (test)" in {m.name for m in again.medicines}
    assert len(again.medicines) == len(first.medicines) + 1


def test_the_record_reads_rows_held_in_memory_not_the_files(
    small_store: PopulationStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each table's rows for the record's dates are copied into memory once (issue 14: a person
    page read eight Parquet files, 15 ms of CPU a page at 300,000 people); the tests above hold
    what the record shows to the files themselves."""
    store = PopulationStore(tmp_path / "population")  # a store of its own: nothing remembered
    shutil.copytree(small_store.root, store.root)
    as_of = extract_date(store)
    gp = pd.read_parquet(store.path("gp_appointments"), columns=["person_id"])
    busy = [int(p) for p in gp.person_id.value_counts().index[:3]]
    person_record(store, busy[0], as_of, None)  # the first copies the rows
    queries: list[str] = []
    real = one_person_reader.con
    monkeypatch.setattr(
        type(one_person_reader), "con", property(lambda _: queries.append("") or real)
    )

    others = [person_record(store, p, as_of, None) for p in busy[1:]]

    assert queries == []  # no query at all: neither the files nor DuckDB
    assert all(record.timeline for record in others)
