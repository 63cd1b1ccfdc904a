"""The engine seam says what differs between engines, so no caller branches on a name."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from joinedup.analytics.engine import (
    ENGINES,
    TRAITS,
    EngineError,
    connection,
    engine_named,
    engine_title,
    put_table,
)
from joinedup.errors import UserError


def test_every_engine_has_its_traits_and_a_name_for_people() -> None:
    assert ENGINES == ("duckdb", "spark")
    assert [engine_title(e) for e in ENGINES] == ["DuckDB", "Apache Spark"]
    # Only Spark's session is shared, so only a DuckDB connection is closed after a job.
    assert {e: TRAITS[e].shared_session for e in ENGINES} == {"duckdb": False, "spark": True}


def test_an_unknown_engine_is_a_user_error_naming_the_engines() -> None:
    assert [engine_named(e) for e in ENGINES] == list(ENGINES)
    with pytest.raises(EngineError, match="duckdb or spark, not 'oracle'") as raised:
        engine_named("oracle")
    assert isinstance(raised.value, UserError)


def test_an_old_runs_unknown_engine_is_shown_as_it_is() -> None:
    assert engine_title("presto") == "presto"


def test_a_duckdb_connection_is_closed_after_the_job() -> None:
    with connection("duckdb") as con:
        table = put_table(con, "answers", pa.table({"answer": [42]}))
        assert con.to_pyarrow(table.answer.sum()).as_py() == 42
    with pytest.raises(Exception, match=r"(?i)closed"):  # DuckDB refuses any further query
        con.to_pyarrow(table.answer.sum())


def test_the_seam_imports_no_ibis_until_a_connection_is_made() -> None:
    # The command line reads the engines' names from the seam; `joinedup --help` stays fast.
    code = "import sys, joinedup.analytics.engine; print('ibis' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
