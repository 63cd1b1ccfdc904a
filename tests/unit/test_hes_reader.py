"""HES readers on the artificial HES sample and on small broken files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from joinedup.population.ingest.hes import read_hes
from joinedup.population.ingest.records import Rejected, SourceRow, Unsupported

HES = "data/nhs_artificial_hes_sample"
APC_HEADER = (
    "PSEUDO_HESID,EPIKEY,PROCODE3,ADMIDATE,ADMIMETH,DISDATE,EPISTAT,EPIORDER,DIAG_4_01,DIAG_4_02"
)


def _rows(items: list, table: str) -> list[SourceRow]:
    return [i for i in items if isinstance(i, SourceRow) and i.table == table]


def test_apc_admission_methods_match_an_independent_count(shared_dir: Path) -> None:
    path = shared_dir / HES / "artificial_hes_apc_0102.csv"
    items = list(read_hes("apc", path))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    # 1800-01-01 and 1801-01-01 are HES's null and invalid dates: such a spell is rejected.
    done = raw[(raw.EPISTAT == "3") & (raw.DISDATE != "") & ~raw.ADMIDATE.str.startswith("18")]
    spells = done.groupby(["PSEUDO_HESID", "PROCODE3", "ADMIDATE"]).agg(
        method=("ADMIMETH", "first")
    )
    groups = {"elective": {"11", "12", "13"}, "emergency": {"21", "22", "23", "24", "28"}}
    expected = {g: int(spells.method.isin(codes).sum()) for g, codes in groups.items()}
    got = Counter(r.values["admission_method"] for r in _rows(items, "hospital_spells"))
    assert {g: got[g] for g in groups} == expected
    rejected = [i for i in items if isinstance(i, Rejected) and i.table == "hospital_spells"]
    assert len(_rows(items, "hospital_spells")) + len(rejected) == len(raw)
    assert any("EPISTAT" in r.reason and "line" in r.location for r in rejected)


def test_episodes_make_one_spell_with_ordered_distinct_diagnoses(tmp_path: Path) -> None:
    path = tmp_path / "apc.csv"
    path.write_text(
        APC_HEADER + "\n"
        "P1,E2,RXX,2024-01-01,21,2024-01-09,3,2,I500,R54X\n"
        "P1,E1,RXX,2024-01-01,21,,3,1,J181,I500\n"
        "P1,E3,RXX,2024-01-01,99,2024-02-01,3,1,J181,-\n"
        "P2,E4,RXX,2024-03-01,11,2024-02-01,3,1,0000,\n"
    )
    items = list(read_hes("apc", path))
    spells = _rows(items, "hospital_spells")
    assert len(spells) == 1
    spell = spells[0].values
    assert spell["admission_method"] == "emergency"
    assert str(spell["discharge_date"]) == "2024-02-01" and spell["length_of_stay"] == 31
    codes = [r.values["icd10_code"] for r in _rows(items, "spell_diagnoses")]
    assert codes == ["J181", "I500", "R54"]
    reasons = [i.reason for i in items if isinstance(i, Rejected)]
    assert any("before admission" in r for r in reasons)


PEOPLE_HEADER = APC_HEADER + ",SEX,MYDOB,ETHNOS,GPPRAC,LSOA01,LSOA11"


def test_each_patient_gets_one_patients_row_registration_and_practice(tmp_path: Path) -> None:
    path = tmp_path / "apc.csv"
    path.write_text(
        PEOPLE_HEADER + "\n"
        # P1: two spells, ethnicity recorded differently, practice changes; latest wins.
        "P1,E1,RXX,2024-01-05,21,2024-01-09,3,1,I500,,1,031950,A,A81001,E01000001,\n"
        "P1,E2,RXX,2024-03-01,11,2024-03-02,3,1,R54X,,1,031950,N,B82002,,E01000002\n"
        "P1,E3,RXX,2024-04-01,11,2024-04-02,3,1,R54X,,1,031950,N,B82002,,E01000002\n"
        # P2: born in the month of admission, practice not known (V81999).
        "P2,E4,RXX,2024-02-03,82,2024-02-06,3,1,Z380,,2,022024,Z,V81999,,\n"
        # P3: sex not known (0) on every record: the patient is rejected.
        "P3,E5,RXX,2024-02-03,11,2024-02-04,3,1,J181,,0,011801,A,A81001,,\n"
    )
    items = list(read_hes("apc", path))
    patients = {r.source_id: r.values for r in _rows(items, "patients")}
    assert set(patients) == {"hes:P1", "hes:P2"}
    p1, p2 = patients["hes:P1"], patients["hes:P2"]
    assert (p1["sex"], str(p1["date_of_birth"]), p1["ethnicity"]) == ("M", "1950-03-15", "Black")
    assert p1["lsoa_code"] == "E01000002" and p1["nhs_number"] is None
    assert p1["person_id"].source_id == "hes:P1"
    assert str(p2["date_of_birth"]) == "2024-02-03"  # the 15th, but not after the admission
    assert p2["ethnicity"] == "Not stated"
    (registration,) = [r.values for r in _rows(items, "registrations")]
    assert registration["practice_code"] == "B82002"
    assert str(registration["start_date"]) == "2024-03-01" and registration["end_date"] is None
    practices = {r.values["org_code"]: r.values for r in _rows(items, "organisations")}
    assert set(practices) == {"B82002"}  # only practices someone is registered with
    assert practices["B82002"]["org_type"] == "practice"
    rejected = [i for i in items if isinstance(i, Rejected) and i.table == "patients"]
    assert len(rejected) == 1 and "hes:P3" in rejected[0].reason and "sex" in rejected[0].reason
    notes = [i for i in items if isinstance(i, Unsupported)]
    assert any("differ" in n.kind and n.detail.startswith("ethnicity") for n in notes)
    assert any(n.kind == "registration" for n in notes)  # P2 has no known practice


def test_ae_date_of_birth_comes_from_the_age_at_arrival(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(
        "PSEUDO_HESID,AEKEY,PROCODE3,ARRIVALDATE,AEATTENDDISP,SEX,ARRIVALAGE,GPPRAC\n"
        "A1,K1,RXX,2008-02-12,02,2,40.0,C81001\n"
        "A2,K2,RXX,2008-02-12,02,1,7003,C81001\n"
    )
    patients = {r.source_id: r.values for r in _rows(list(read_hes("ae", path)), "patients")}
    # The middle of the birth dates the age allows: 40 years and half a year before arrival.
    assert str(patients["hes:A1"]["date_of_birth"]) == "1967-08-14"
    assert str(patients["hes:A2"]["date_of_birth"]) == "2008-01-26"  # 7–28 days old
    assert patients["hes:A1"]["_version"] < "hes:2"  # an APC month of birth outranks it


def test_missing_columns_and_empty_file_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("PSEUDO_HESID,EPIKEY\nP1,E1\n")
    (only,) = [i for i in read_hes("apc", bad) if isinstance(i, Rejected)]
    assert "PROCODE3" in only.reason
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in next(iter(read_hes("op", empty))).reason  # type: ignore[union-attr]


def test_outpatients_first_and_follow_up_and_cancellations(shared_dir: Path) -> None:
    path = shared_dir / HES / "artificial_hes_op_0304_truncated.csv"
    items = list(read_hes("op", path))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = _rows(items, "outpatient_appointments")
    kept = raw[raw.ATTENDED.isin(["5", "6", "3", "7"]) & raw.FIRSTATT.isin(["1", "2", "3", "4"])]
    assert len(rows) <= len(kept)
    assert sum(r.values["first_attendance"] for r in rows) <= int(
        kept.FIRSTATT.isin(["1", "3"]).sum()
    )
    cancelled = [i for i in items if isinstance(i, Unsupported) and "cancelled" in i.kind]
    assert len(cancelled) == int(raw.ATTENDED.isin(["2", "4"]).sum())
