"""Small JSON files read on every request are parsed once per version of the file
(`joinedup.json_files`): a changed, replaced or rewritten file is read again, and a caller's
changes to what it got never reach the next caller."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from joinedup.json_files import forget, read_json
from joinedup.population.store import PopulationStore, StoreError


def _write(path: Path, value: dict[str, object]) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


def test_a_file_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "area.json"
    _write(path, {"extract_date": "2026-01-01"})
    assert read_json(path)["extract_date"] == "2026-01-01"
    _write(path, {"extract_date": "2026-02-01", "more": 1})  # another size
    assert read_json(path) == {"extract_date": "2026-02-01", "more": 1}


def test_same_size_same_clock_tick_is_read_again_after_forget(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    _write(path, {"index_date": "2026-01-01"})
    stamp = path.stat().st_mtime_ns
    assert read_json(path)["index_date"] == "2026-01-01"
    _write(path, {"index_date": "2026-03-01"})  # the same length
    os.utime(path, ns=(stamp, stamp))  # as if within the file system's clock tick
    assert read_json(path)["index_date"] == "2026-01-01"  # why writers must call forget
    forget(path)
    assert read_json(path)["index_date"] == "2026-03-01"


def test_a_file_replaced_by_rename_is_read_again(tmp_path: Path) -> None:
    path, staged = tmp_path / "area.json", tmp_path / "staged.json"
    _write(path, {"area_name": "Old"})
    stamp = path.stat().st_mtime_ns
    assert read_json(path)["area_name"] == "Old"
    _write(staged, {"area_name": "New"})
    os.utime(staged, ns=(stamp, stamp))
    staged.replace(path)  # another inode, as a store or run written elsewhere arrives
    assert read_json(path)["area_name"] == "New"


def test_what_a_caller_sets_does_not_reach_the_next_caller(tmp_path: Path) -> None:
    path = tmp_path / "area.json"
    _write(path, {"area_name": "Area"})
    first = read_json(path)
    first["area_name"] = "changed by a caller"
    first["added"] = True
    assert read_json(path) == {"area_name": "Area"}


def test_store_metadata_follows_its_writes_and_says_when_there_is_no_store(
    tmp_path: Path,
) -> None:
    store = PopulationStore(tmp_path / "population")
    with pytest.raises(StoreError, match="no population store"):
        store.metadata()
    store.write_metadata({"extract_date": "2026-01-01"})
    assert store.metadata()["extract_date"] == "2026-01-01"
    store.write_metadata({"extract_date": "2026-01-02"})  # same size, at once
    assert store.metadata()["extract_date"] == "2026-01-02"
