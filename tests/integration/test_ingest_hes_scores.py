"""Issue 4's check: ingest the artificial HES files; HFRS and Charlson come out for their patients.

The APC file goes into a fresh home on its own (the HES reader yields the patients, their
registrations and practices), is stratified on DuckDB at the store's extract date, and every
person's HFRS and Charlson are held to the plain-Python oracles on the ICD-10 codes read
straight from the CSV with pandas — an independent path from file to score.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from joinedup.analytics.oracles.charlson import charlson
from joinedup.analytics.oracles.hfrs import hfrs
from joinedup.analytics.stratify import StratificationRun, stratify
from joinedup.population.ingest.batch import BatchResult, run_batch, store_checksums
from joinedup.population.ingest.hes import read_hes
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

HES = "data/nhs_artificial_hes_sample"
APC = "artificial_hes_apc_0102.csv"
VALID_ADMIMETH = {"11", "12", "13", "21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D"}
VALID_ADMIMETH |= {"31", "32", "81", "82", "83", "84", "89"}
NO_PRACTICE = {"V81997", "V81998", "V81999", "&", ""}


def _real_date(text: str) -> bool:
    return bool(text) and not text.startswith(("1800-", "1801-"))


@pytest.fixture(scope="module")
def apc_csv(shared_dir: Path) -> pd.DataFrame:
    return pd.read_csv(shared_dir / HES / APC, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def ingested(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, BatchResult, StratificationRun]:
    settings = Settings.from_env(tmp_path_factory.mktemp("hes") / "home")
    batch = run_batch(settings, read_hes("apc", shared_dir / HES / APC), source="test")
    run = stratify(settings, engine="duckdb")
    return settings, batch, run


def _person_ids(settings: Settings) -> dict[str, int]:
    persons = pq.read_table(settings.population_dir / "_ingest" / "persons.parquet").to_pylist()
    return {p["source_id"].removeprefix("hes:"): p["person_id"] for p in persons if p["source_id"]}


def _scored_spells(raw: pd.DataFrame) -> pd.DataFrame:
    """Finished episodes of discharged spells with a known admission date and method, of
    patients with a known sex, month of birth and practice (counted here, not by the reader)."""
    done = raw[(raw.EPISTAT == "3") & raw.ADMIDATE.map(_real_date)].copy()
    done["order"] = pd.to_numeric(done.EPIORDER, errors="coerce").fillna(99)
    keys = ["PSEUDO_HESID", "PROCODE3", "ADMIDATE"]
    first = done.sort_values("order").groupby(keys).ADMIMETH.first()
    discharged = done.groupby(keys).DISDATE.agg(lambda d: any(_real_date(x) for x in d))
    spells = set(first[first.isin(VALID_ADMIMETH) & discharged].index)
    done = done[[k in spells for k in zip(*(done[c] for c in keys), strict=True)]]
    by_person = raw.groupby("PSEUDO_HESID")
    known_sex = by_person.SEX.agg(lambda s: bool(set(s) & {"1", "2"}))
    known_birth = by_person.MYDOB.agg(lambda s: any(not v.endswith(("1800", "1801")) for v in s))
    practice = by_person.GPPRAC.agg(lambda s: bool(set(s) - NO_PRACTICE))
    registered = set(known_sex[known_sex & known_birth & practice].index)
    return done[done.PSEUDO_HESID.isin(registered)]


def _oracle_rows(spells: pd.DataFrame, ids: dict[str, int]) -> list:
    rows = []
    diagnosis = [c for c in spells.columns if re.fullmatch(r"DIAG_4_\d\d", c)]
    for _, episode in spells.iterrows():
        admitted = dt.date.fromisoformat(episode.ADMIDATE)
        person = ids[episode.PSEUDO_HESID]
        rows.append((person, None, admitted))  # everyone with a spell, even with no codes
        for column in diagnosis:
            code = episode[column].strip().strip("-")
            if code:
                rows.append((person, code, admitted))
    return rows


def test_hes_alone_makes_registered_people_whose_scores_match_the_oracles(
    ingested: tuple[Settings, BatchResult, StratificationRun], apc_csv: pd.DataFrame
) -> None:
    settings, batch, run = ingested
    assert batch.status == "committed"
    assert batch.tables["patients"].loaded == apc_csv.PSEUDO_HESID.nunique() - 1  # one SEX 0
    assert run.index_date == dt.date(2002, 3, 31)  # the latest discharge: HFRS looks back 2 years
    results = pq.read_table(run.path / "person_results.parquet").to_pandas().set_index("person_id")
    ids = _person_ids(settings)
    spells = _scored_spells(apc_csv)
    with_spell = {ids[h] for h in spells.PSEUDO_HESID.unique()}
    assert len(with_spell) > 900
    assert with_spell <= set(results.index)  # everyone with a finished, discharged spell

    rows = _oracle_rows(spells, ids)
    expected_hfrs = hfrs(rows, run.index_date)
    expected_charlson = charlson(rows, run.index_date)
    assert set(expected_hfrs) == with_spell
    got = results.loc[sorted(with_spell)]
    hfrs_got = {p: round(s, 1) for p, s in got.hfrs_score.items()}
    assert hfrs_got == {p: float(r.score) for p, r in expected_hfrs.items()}
    assert got.hfrs_category.to_dict() == {p: r.category for p, r in expected_hfrs.items()}
    assert got.charlson_score.to_dict() == {p: r.score for p, r in expected_charlson.items()}
    assert (got.hfrs_score > 0).sum() > 400 and (got.charlson_score > 0).sum() > 300


def test_reingesting_changes_nothing_and_ae_op_link_by_pseudo_hesid(
    ingested: tuple[Settings, BatchResult, StratificationRun],
    shared_dir: Path,
    tmp_path: Path,
    apc_csv: pd.DataFrame,
) -> None:
    settings, _, _ = ingested
    store = PopulationStore(settings.population_dir)
    before = store_checksums(store)
    again = run_batch(settings, read_hes("apc", shared_dir / HES / APC), source="again")
    assert again.status == "no changes"
    assert store_checksums(store) == before
    ids = _person_ids(settings)

    # The artificial files share no patients, so the A&E file is given five APC patients' ids.
    ae = pd.read_csv(shared_dir / HES / "artificial_hes_ae_0708_truncated.csv", dtype=str)
    ae = ae.fillna("")
    shared = sorted(apc_csv.PSEUDO_HESID.unique())[:5]
    ae.loc[: len(shared) - 1, "PSEUDO_HESID"] = shared
    ae_path = tmp_path / "ae.csv"
    ae.to_csv(ae_path, index=False)
    births_before = store.read("patients", ["person_id", "date_of_birth"]).to_pylist()
    run_batch(settings, read_hes("ae", ae_path), source="ae")
    op = shared_dir / HES / "artificial_hes_op_0304_truncated.csv"
    run_batch(settings, read_hes("op", op), source="op")
    after = _person_ids(settings)
    assert {h: after[h] for h in ids} == ids  # nobody renumbered
    named = set(ae.PSEUDO_HESID) | set(pd.read_csv(op, dtype=str).PSEUDO_HESID)
    added = set(after) - set(ids)
    assert added <= named - set(shared)
    # Only someone whose every record the reader rejected (no sex, bad disposal) is not mapped.
    assert len(named - set(shared) - added) <= 2
    attendances = store.read("ae_attendances", ["person_id"]).column("person_id").to_pylist()
    assert {ids[h] for h in shared} <= set(attendances)
    # An age-derived date of birth (A&E) never replaces APC's month of birth.
    births = {r["person_id"]: r["date_of_birth"] for r in births_before}
    now = {r["person_id"]: r["date_of_birth"] for r in store.read("patients").to_pylist()}
    assert all(now[ids[h]] == births[ids[h]] for h in shared if ids[h] in births)
