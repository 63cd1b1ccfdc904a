"""Fixtures shared by every kind of test.

`small_area` generates one small synthetic area per test session (deterministic seed) so that
unit, integration and browser tests all look at the same realistic data.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from joinedup.governance import passwords
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.carestore_support import migrated

# The run's one Spark JVM (tests/scheduling.py) lives minutes and answers hundreds of tiny
# queries: the client JIT alone and the serial collector cost less CPU there than the server
# defaults made for long jobs (the spec tests' Spark side took ~17% less wall time), and tables
# of a few thousand rows need one shuffle partition. Whole-stage code generation compiles Java
# for every query stage, which pays on millions of rows and costs seconds a test on a dozen
# (the Spark side of a stratification run: 33 s → 23 s); Spark's interpreted operators give
# the same answers. Adaptive query execution re-plans between stages from their sizes, which
# tables this small never repay; once (a fresh machine, session 8) a stratification's collect
# waited forever in it for a stage-completion event that never came, so tests run without it.
# The same engine; only its tuning.
os.environ.setdefault("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
os.environ.setdefault("JOINEDUP_SPARK_PARTITIONS", "1")
os.environ.setdefault(
    "PYSPARK_SUBMIT_ARGS",
    "--conf spark.sql.codegen.wholeStage=false --conf spark.sql.adaptive.enabled=false "
    "pyspark-shell",
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SMALL_AREA_PATIENTS = 6_000
SMALL_AREA_SEED = 7


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadfile` refined: Spark and browser tests kept together, longest units first
    (tests/scheduling.py)."""
    if config.getoption("dist") != "loadfile":
        return None
    from tests.scheduling import LongestFirstScheduling

    return LongestFirstScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest cost for the whole run: the suite hashes and verifies hundreds
    of passwords, each ~0.2 CPU-seconds at the production parameters (RFC 9106). Tests of the
    parameters themselves ask for `production_password_hashes`."""
    previous = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    passwords.use_hasher(previous)


@pytest.fixture
def production_password_hashes() -> Iterator[None]:
    """The production hasher for one test (see `cheap_password_hashes`)."""
    cheap = passwords.use_hasher(PasswordHasher())
    yield
    passwords.use_hasher(cheap)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared reference tables and third-party data beside the repository."""
    if not SHARED.is_dir():
        pytest.fail(f"the shared folder is missing beside the repository: {SHARED}")
    return SHARED


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """A folder `build` fills once per test run, shared by every xdist worker.

    The workers of one run share the parent of their temporary folders; the first to ask
    builds under a file lock while the other waits, so a session fixture's area is generated
    once rather than once per worker. What is built here is read-only to tests: each worker
    copies or links what it may write (`worker_home`).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    shared = root / "built-once"
    shared.mkdir(exist_ok=True)
    target = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            (target / ".built").touch()
    return target


def worker_home(tmp_path_factory: pytest.TempPathFactory, built: Path, name: str) -> Settings:
    """This worker's copy of a built home: the population store linked, the rest copied."""
    home = tmp_path_factory.mktemp(name)
    for entry in built.iterdir():
        if entry.name == "population":
            (home / "population").symlink_to(entry.resolve(), target_is_directory=True)
        elif entry.is_dir():
            shutil.copytree(entry, home / entry.name, symlinks=True)
        elif entry.name != ".built":
            shutil.copy2(entry, home / entry.name)
    return Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")


def generated_area(
    tmp_path_factory: pytest.TempPathFactory, patients: int, seed: int, **options: object
) -> Settings:
    """A generated area (built once per run for these arguments), as this worker's home."""
    from joinedup.population.synthetic import generate_area

    name = f"area-{patients}-{seed}" + "".join(f"-{k}-{v}" for k, v in sorted(options.items()))
    built = built_once(
        tmp_path_factory,
        name,
        lambda home: generate_area(
            PopulationStore(home / "population"), patients=patients, seed=seed, **options
        ),
    )
    return worker_home(tmp_path_factory, built, name)


@pytest.fixture(scope="session")
def small_area(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose population store holds a generated 6,000-person area."""
    return generated_area(tmp_path_factory, SMALL_AREA_PATIENTS, SMALL_AREA_SEED)


@pytest.fixture(scope="session")
def area_40k(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A 40,000-person area (seed 11): big enough for the risk model to show what it can do
    and for calibration and structure to be judged on another seed than the small area's."""
    return generated_area(tmp_path_factory, 40_000, 11)


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

    def build(home: Path) -> None:
        (home / "population").symlink_to(small_area.population_dir.resolve())
        settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
        migrated(settings.database_url)
        train_admission_model(settings)
        model = load_model(settings)

        def explained(tables: dict[str, ibis.Table], index_date: object) -> ibis.Table:
            return ibis.memtable(score_population(model, tables, index_date))

        stratify(settings, risk_scorer=explained)

    return worker_home(
        tmp_path_factory, built_once(tmp_path_factory, "scored-area", build), "scored-area"
    )
