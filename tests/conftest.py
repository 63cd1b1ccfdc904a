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
