"""Published practice data: the loader on the real shared files and on broken files, and pages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from joinedup.commissioning.published import (
    PAYMENTS_DIR,
    PAYMENTS_FILE,
    SMOKING_FILE,
    STRUCTURES_DIR,
    build_table,
    indicator_funnel,
    load_published,
    published_table,
)
from joinedup.errors import UserError
from joinedup.settings import Settings
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated


@pytest.fixture(scope="module")
def sources(shared_dir: Path) -> list[Path]:
    return [shared_dir / "data" / PAYMENTS_DIR, shared_dir / "data" / STRUCTURES_DIR]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, sources: list[Path]) -> Settings:
    home = tmp_path_factory.mktemp("published")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    migrated(settings.database_url)
    load_published(settings, sources)
    return settings


def test_real_files_give_every_english_practice_with_reasons(loaded: Settings) -> None:
    data = published_table(loaded)
    assert data is not None
    table, summary = data.table, data.summary
    assert 6_300 <= summary.practices <= 6_800 and len(table) == summary.practices
    assert table.practice_code.is_unique
    assert table.pcn_code.nunique() > 1_200 and table.icb_code.nunique() == 42
    assert table.icb_code.notna().mean() > 0.99
    assert summary.with_values["smoking_denominator"] > 6_000
    assert summary.with_values["imd_score"] > 6_300
    assert summary.rejected[PAYMENTS_FILE]["list size zero or negative"] > 0
    assert summary.rejected[SMOKING_FILE]["earlier time period"] > 6_000
    assert summary.periods["smoking"] == "2023/24"
    assert sorted(table.deprivation_quintile.dropna().unique()) == [1, 2, 3, 4, 5]
    smoking = table.dropna(subset=["smoking_denominator"])
    assert (smoking.smoking_numerator <= smoking.smoking_denominator).all()


def test_table_is_cached_until_the_file_changes(loaded: Settings) -> None:
    first = published_table(loaded)
    assert published_table(loaded) is first


def _copy(sources: list[Path], tmp_path: Path) -> list[Path]:
    copies = []
    for folder in sources:
        target = tmp_path / folder.name
        shutil.copytree(folder, target)
        target.chmod(0o755)
        for f in target.iterdir():
            f.chmod(0o644)
        copies.append(target)
    return copies


def test_missing_columns_are_a_clear_error_and_nothing_is_stored(
    sources: list[Path], tmp_path: Path
) -> None:
    copies = _copy(sources[:1], tmp_path)
    payments = copies[0] / PAYMENTS_FILE
    frame = pd.read_csv(payments, encoding="utf-8-sig", dtype=str)
    frame.drop(columns=["Number of Weighted Patients (Last Known Figure)"]).to_csv(
        payments, index=False
    )
    settings = Settings(home=tmp_path / "home", database_url="sqlite://")
    with pytest.raises(UserError, match="Number of Weighted Patients"):
        load_published(settings, copies)
    assert published_table(settings) is None


def test_bad_numbers_are_rejected_with_their_reason(sources: list[Path], tmp_path: Path) -> None:
    copies = _copy(sources[:1], tmp_path)
    payments = copies[0] / PAYMENTS_FILE
    frame = pd.read_csv(payments, encoding="utf-8-sig", dtype=str, keep_default_na=False).head(20)
    frame.loc[0, "Number of Registered Patients (Last Known Figure)"] = "lots"
    frame.loc[1, "Number of Weighted Patients (Last Known Figure)"] = "-5"
    frame.loc[2, "Practice Code"] = "BAD"
    frame.loc[3, "Practice Code"] = frame.loc[4, "Practice Code"]
    frame.to_csv(payments, index=False)
    smoking = copies[0] / SMOKING_FILE
    rows = pd.read_csv(smoking, dtype=str, keep_default_na=False)
    gp = rows.index[(rows["Area Type"] == "GPs") & (rows["Time period"] == "2023/24")][:2]
    rows.loc[gp[0], "Count"] = "n/a"
    rows.loc[gp[1], "Count"] = "999999"
    rows.to_csv(smoking, index=False)
    table, summary = build_table(copies)
    rejected = summary.rejected[PAYMENTS_FILE]
    assert rejected["list size missing or not a number"] == 1
    assert rejected["weighted list size missing, zero or negative"] == 1
    assert rejected["practice code not A99999"] == 1
    assert rejected["duplicate practice code"] == 1
    assert len(table) == 20 - sum(rejected.values())
    assert summary.rejected[SMOKING_FILE]["count or denominator missing or not a number"] == 1
    assert summary.rejected[SMOKING_FILE]["count larger than denominator"] == 1
    assert table.latitude.isna().all()  # no structures folder given


def test_no_payments_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=PAYMENTS_FILE):
        build_table([tmp_path])


def test_cli_loads_and_summarises(sources: list[Path], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from joinedup.cli import app

    monkeypatch.setenv("JOINEDUP_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["variation", "load-published", *map(str, sources)])
    assert result.exit_code == 0, result.output
    assert "Loaded 6," in result.output and "list size zero or negative" in result.output


def test_funnel_flags_fewer_practices_once_adjusted(loaded: Settings) -> None:
    data = published_table(loaded)
    assert data is not None
    plain = indicator_funnel(data, "smoking", adjustment="none")
    adjusted = indicator_funnel(data, "smoking", adjustment="additive")
    assert plain.result is not None and plain.result.phi > 10  # smoking is over-dispersed
    assert (adjusted.units.flag998 != 0).sum() < (plain.units.flag998 != 0).sum() / 10
    pcns = indicator_funnel(data, "smoking", level="pcn")
    assert pcns.units.numerator.sum() == plain.units.numerator.sum()


def test_pages_show_funnel_practice_and_csv(loaded: Settings) -> None:
    client = TestClient(signed_in_app(loaded, "commissioner"))
    index = client.get("/commissioning/published")
    assert index.status_code == 200 and "Smoking prevalence" in index.text
    page = client.get("/commissioning/published/smoking")
    assert page.status_code == 200
    assert page.text.count("<circle") > 6_000  # funnel points (linked)
    assert 'href="practices/A81001"' in page.text
    assert "Download data" in page.text
    for level in ("pcn", "icb"):
        assert client.get(f"/commissioning/published/smoking?level={level}").status_code == 200
    assert client.get("/commissioning/published/payments").status_code == 200
    assert client.get("/commissioning/published/nonsense").status_code == 404
    client.get("/commissioning/published/practices/A81002")  # warm the funnel cache
    started = time.perf_counter()
    practice = client.get("/commissioning/published/practices/A81001")
    elapsed = time.perf_counter() - started
    assert practice.status_code == 200 and "THE DENSHAM SURGERY" in practice.text
    assert "Same primary care network" in practice.text and "Within limits" in practice.text
    assert elapsed < 1.0, f"practice page took {elapsed:.2f}s"
    assert client.get("/commissioning/published/practices/Z99999").status_code == 404
    csv = client.get("/commissioning/published/smoking/data.csv?level=pcn")
    assert csv.status_code == 200 and csv.text.startswith("level,code,name")
    assert len(csv.text.splitlines()) > 1_200


def test_gp_sees_pages_without_download(loaded: Settings) -> None:
    client = TestClient(signed_in_app(loaded, "gp"))
    assert "Download data" not in client.get("/commissioning/published/smoking").text
    assert client.get("/commissioning/published/smoking/data.csv").status_code == 403


def test_not_loaded_page_says_how_to_load(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'care.db'}")
    client = TestClient(signed_in_app(settings, "commissioner"))
    page = client.get("/commissioning/published/smoking")
    assert page.status_code == 200
    assert "not loaded" in page.text and "joinedup variation load-published" in page.text
