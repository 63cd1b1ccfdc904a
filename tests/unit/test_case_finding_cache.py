"""The case-finding list of the whole area is worked out once per process, store, list and run,
and the coordinated care register is taken away per view (issue 14, "Under load": a register
addition used to make every list read the whole area again, about a CPU-second a view).

Checked against the pipeline itself given the register (not against the cached path), on the
small area with its scored run (the session's `scored_area`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from joinedup.analytics import case_finding as cf
from joinedup.analytics.case_finding import run as cf_run
from joinedup.analytics.case_finding.pipeline import (
    GP_TABLES,
    TABLES,
    case_finding_pipeline,
    run_scores,
)
from joinedup.analytics.case_finding.rules import PIPELINES, REGISTER_LEFT_OUT_LAST, RUN_SCORES
from joinedup.analytics.engine import connection, put_table, read_store
from joinedup.analytics.stratify import PERSON_RESULTS, RUN_FILE, StratificationRun, latest_run
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

RISK_LIST = "top-risk-not-on-register"


@pytest.fixture(scope="module")
def store(scored_area: Settings) -> PopulationStore:
    return PopulationStore(scored_area.population_dir)


@pytest.fixture(scope="module")
def run(scored_area: Settings) -> StratificationRun:
    found = latest_run(scored_area)
    assert found is not None
    return found


def pipeline_ids(
    store: PopulationStore, run: StratificationRun, list_id: str, on_register: frozenset[int]
) -> list[int]:
    """The people the list's own pipeline finds, given the register (no cache involved)."""
    index_date = run.index_date if cf.get_definition(list_id).run_columns else None
    when = index_date or cf.extract_date(store)
    with connection("duckdb") as con:
        tables = read_store(con, store, [*TABLES, *GP_TABLES])
        tables[RUN_SCORES] = put_table(con, "cache_test_scores", run_scores(run))
        rows = con.to_pyarrow(case_finding_pipeline(list_id, tables, when, on_register=on_register))
    return sorted(rows["person_id"].to_pylist())


@pytest.mark.parametrize("list_id", sorted(PIPELINES))
def test_with_the_register_every_list_is_what_its_pipeline_finds(
    store: PopulationStore, run: StratificationRun, list_id: str
) -> None:
    everyone = cf.run_list(store, list_id, run=run)
    found = everyone.rows["person_id"].to_pylist()
    # Some of the list's people and someone not on it are on the register.
    register = frozenset(found[: max(1, len(found) // 3)]) | {10**9}

    cached = cf.run_list(store, list_id, run=run, on_register=register)

    expected = pipeline_ids(store, run, list_id, register)
    assert sorted(cached.rows["person_id"].to_pylist()) == expected
    if list_id in REGISTER_LEFT_OUT_LAST:
        assert expected == sorted(set(found) - register)
    else:  # a list not declared as leaving the register out must not depend on it
        assert expected == sorted(found)
    assert cached.registered == everyone.registered  # still registered population


def test_a_register_change_does_not_work_the_area_out_again(
    store: PopulationStore, run: StratificationRun
) -> None:
    first = cf.run_list(store, RISK_LIST, run=run)
    before = cf_run._run_area.cache_info()
    people = first.rows["person_id"].to_pylist()

    for n in range(1, 6):  # five additions to the register, one view after each
        after = cf.run_list(store, RISK_LIST, run=run, on_register=frozenset(people[:n]))
        assert after.rows["person_id"].to_pylist() == people[n:]

    assert cf_run._run_area.cache_info().misses == before.misses


def test_a_new_run_is_read_at_once(
    scored_area: Settings, run: StratificationRun, tmp_path: Path
) -> None:
    """A later run (here the scored run with every risk turned round) gives its own list."""
    store = PopulationStore(scored_area.population_dir)
    old = cf.run_list(store, RISK_LIST, run=run)
    later = _run_with_risks_reversed(run, tmp_path / "runs" / f"{run.run_id}-later")

    new = cf.run_list(store, RISK_LIST, run=later)

    assert new.run_id == later.run_id != old.run_id
    results = pq.read_table(later.path / PERSON_RESULTS, columns=["person_id", "risk"])
    scored = results.filter(pc.is_valid(results["risk"]))
    highest = scored.sort_by([("risk", "descending"), ("person_id", "ascending")])
    assert new.rows["person_id"][0].as_py() in highest["person_id"][:10].to_pylist()
    assert new.rows["person_id"].to_pylist() != old.rows["person_id"].to_pylist()


def _run_with_risks_reversed(run: StratificationRun, folder: Path) -> StratificationRun:
    shutil.copytree(run.path, folder)
    table = pq.read_table(folder / PERSON_RESULTS)
    column = table.schema.get_field_index("risk")
    reversed_risk = pc.subtract(pa.scalar(1.0), table["risk"])
    pq.write_table(table.set_column(column, "risk", reversed_risk), folder / PERSON_RESULTS)
    metadata = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    return StratificationRun(folder.name, folder, metadata)
