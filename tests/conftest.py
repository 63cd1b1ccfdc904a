"""Fixtures shared by every kind of test.

`small_area` generates one small synthetic area per test session (deterministic seed) so that
unit, integration and browser tests all look at the same realistic data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SMALL_AREA_PATIENTS = 6_000
SMALL_AREA_SEED = 7


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared reference tables and third-party data beside the repository."""
    if not SHARED.is_dir():
        pytest.fail(f"the shared folder is missing beside the repository: {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def small_area(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose population store holds a generated 6,000-person area."""
    from joinedup.population.synthetic import generate_area

    home = tmp_path_factory.mktemp("area")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    generate_area(
        PopulationStore(settings.population_dir), patients=SMALL_AREA_PATIENTS, seed=SMALL_AREA_SEED
    )
    return settings


@pytest.fixture(scope="session")
def small_store(small_area: Settings) -> PopulationStore:
    return PopulationStore(small_area.population_dir)


@pytest.fixture(scope="session")
def scored_area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small area with a trained risk model and one stratification run scored by it (risk
    and its top factors included): read-only, shared by every test that needs a run.

    Tests that write runs, models or objections make a home of their own; tests that need a
    care store of their own point `database_url` elsewhere and keep this home
    (``Settings(home=scored_area.home, database_url=...)``).
    """
    import ibis

    from joinedup.analytics.risk.registry import load_model, score_population, train_admission_model
    from joinedup.analytics.stratify import stratify
    from joinedup.carestore.migrate import upgrade

    home = tmp_path_factory.mktemp("scored-area")
    (home / "population").symlink_to(small_area.population_dir, target_is_directory=True)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    upgrade(settings.database_url)
    train_admission_model(settings)
    model = load_model(settings)

    def explained(tables: dict[str, ibis.Table], index_date: object) -> ibis.Table:
        return ibis.memtable(score_population(model, tables, index_date))

    stratify(settings, risk_scorer=explained)
    return settings
