"""The calibration report: measured from the stored tables, within ±15% of published figures."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import ibis
import pyarrow.compute as pc
import pytest

from joinedup.analytics.scores import efi
from joinedup.population.calibration import (
    CalibrationFigure,
    calibration_figures,
    last_full_financial_year,
)
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings

EXTRACT = dt.date(2026, 3, 31)


def by_name(figures: list[CalibrationFigure]) -> dict[str, CalibrationFigure]:
    return {f.name: f for f in figures}


def out_of_tolerance(figures: list[CalibrationFigure]) -> list[str]:
    return [f"{f.name}: {f.measured:.3g} vs {f.target:g} {f.unit}" for f in figures if not f.within]


def test_within_means_within_fifteen_percent_either_side():
    assert CalibrationFigure("x", 100.0, 115.0, "u").within
    assert CalibrationFigure("x", 100.0, 85.0, "u").within
    assert not CalibrationFigure("x", 100.0, 115.1, "u").within
    assert not CalibrationFigure("x", 3.0, 2.5, "%").within
    assert CalibrationFigure("x", 3.0, 2.5, "%", tolerance=0.2).within


def test_the_last_full_financial_year_ends_by_the_extract_date():
    assert last_full_financial_year(EXTRACT) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    assert last_full_financial_year(dt.date(2026, 3, 30)) == (
        dt.date(2024, 4, 1),
        dt.date(2025, 3, 31),
    )


def test_the_small_area_meets_every_published_figure(small_store: PopulationStore):
    # Prevalences and eFI categories are hit exactly by construction (fixed-size sampling), so
    # even 6,000 people pass; the rates and the cost share are noisy but well inside ±15%.
    figures = calibration_figures(small_store)
    assert len(figures) == 17
    assert out_of_tolerance(figures) == []


@pytest.mark.slow
def test_a_larger_area_with_another_seed_meets_every_published_figure(area_40k: Settings):
    store = PopulationStore(area_40k.population_dir)
    assert out_of_tolerance(calibration_figures(store)) == []


def test_prevalence_is_what_an_independent_count_finds(
    small_store: PopulationStore, shared_dir: Path
):
    # Count people with a hypertension code from the full gm-sde code set in ../shared/.
    path = shared_dir / "data/codelists_gm_sde/conditions/hypertension/1/hypertension.snomed.txt"
    codes = sorted({line.split("\t")[0] for line in path.read_text().splitlines() if line})
    con = duckdb.connect()
    counted = con.execute(
        f"""
        WITH now AS (SELECT DISTINCT person_id FROM '{small_store.path("registrations")}'
                     JOIN '{small_store.path("patients")}' USING (person_id)
                     WHERE end_date IS NULL AND date_of_death IS NULL)
        SELECT 100.0 * count(DISTINCT e.person_id) / (SELECT count(*) FROM now)
        FROM '{small_store.path("clinical_events")}' e JOIN now USING (person_id)
        WHERE list_contains($codes, e.code)""",
        {"codes": codes},
    ).fetchone()[0]
    measured = by_name(calibration_figures(small_store))["Hypertension prevalence"].measured
    assert measured == pytest.approx(counted)


def test_efi_shares_agree_with_the_analytics_pipeline(small_store: PopulationStore):
    con = ibis.duckdb.connect()
    tables = {n: con.read_parquet(small_store.path(n)) for n in ("clinical_events", "medications")}
    scores = efi.from_store(tables, EXTRACT).to_pyarrow()
    older = [
        row[0]
        for row in duckdb.sql(f"""
        SELECT DISTINCT person_id FROM '{small_store.path("patients")}'
        JOIN '{small_store.path("registrations")}' USING (person_id)
        WHERE end_date IS NULL AND date_of_death IS NULL
          AND date_of_birth <= DATE '{EXTRACT.replace(year=EXTRACT.year - 65)}'""").fetchall()
    ]
    scored = dict(zip(scores["person_id"].to_pylist(), scores["deficits"].to_pylist(), strict=True))
    counts = [scored.get(p, 0) for p in older]
    severe = 100.0 * sum(n >= 13 for n in counts) / len(counts)
    fit = 100.0 * sum(n <= 4 for n in counts) / len(counts)
    figures = by_name(calibration_figures(small_store))
    assert figures["eFI severe frailty (13+), aged 65+"].measured == pytest.approx(severe)
    assert figures["eFI fit (0-4 deficits), aged 65+"].measured == pytest.approx(fit)


def test_a_broken_record_is_caught(small_store: PopulationStore, tmp_path: Path):
    broken = PopulationStore(tmp_path / "broken")
    shutil.copytree(small_store.root, broken.root)
    events = broken.read("clinical_events")
    hypertension = pc.is_in(
        events["code"],
        value_set=pc.unique(events.filter(pc.equal(events["code"], "59621000"))["code"]),
    )
    broken.write("clinical_events", events.filter(pc.invert(hypertension)))
    medications = broken.read("medications")
    broken.write("medications", medications.slice(0, 0))
    figures = by_name(calibration_figures(broken))
    assert not figures["Hypertension prevalence"].within
    assert figures["Diabetes prevalence"].within
    # Without medication issues nobody has polypharmacy, so fewer people are frail.
    assert (
        figures["eFI fit (0-4 deficits), aged 65+"].measured
        > by_name(calibration_figures(small_store))["eFI fit (0-4 deficits), aged 65+"].measured
    )


def test_a_store_without_activity_tables_says_so(small_store: PopulationStore, tmp_path: Path):
    partial = PopulationStore(tmp_path / "partial")
    shutil.copytree(small_store.root, partial.root)
    partial.path("costs").unlink()
    with pytest.raises(StoreError, match="no costs table"):
        calibration_figures(partial)
