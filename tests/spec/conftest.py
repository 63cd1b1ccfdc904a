"""Spec tests run every pipeline on every engine: one `con` fixture per engine.

The Spark session starts once per test session (it takes ~15 s) and is shared.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from joinedup.analytics.engine import ENGINES, connect


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def _backends():
    started: dict[str, object] = {}
    yield started
    for con in started.values():
        con.disconnect()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def con(engine: str, _backends: dict):
    """An Ibis backend for the engine under test (one per engine for the session, so a module
    can compute its pipeline once per engine and assert on it in several tests)."""
    if engine not in _backends:
        _backends[engine] = connect(engine)
    return _backends[engine]


def run(con, expr) -> pa.Table:
    """Run `expr` on `con`: an Arrow table sorted by every column (engines differ in order)."""
    table = con.to_pyarrow(expr)
    return table.sort_by([(name, "ascending") for name in table.column_names])
