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
    done = raw[(raw.EPISTAT == "3") & (raw.DISDATE != "")]
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
