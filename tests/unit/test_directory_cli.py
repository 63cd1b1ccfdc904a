"""`joinedup directory …` as a user meets it: mistakes are one line with a non-zero exit, and
the synthetic directory is written as an ORUK page ready to import."""

from __future__ import annotations

import json
from pathlib import Path

from joinedup.settings import Settings
from tests.unit.test_cli import assert_one_line_error, joinedup


def test_the_directory_commands_are_listed():
    result = joinedup("directory", "--help")
    assert result.returncode == 0
    for command in ("import", "export", "synthetic"):
        assert command in result.stdout


def test_a_file_that_is_not_there_is_one_line(tmp_path: Path):
    result = joinedup("directory", "import", str(tmp_path / "nope.json"), home=tmp_path)
    assert_one_line_error(result, 1, "there is no file")


def test_a_folder_with_no_json_files_is_one_line(tmp_path: Path):
    (tmp_path / "pages").mkdir()
    result = joinedup("directory", "import", str(tmp_path / "pages"), home=tmp_path)
    assert_one_line_error(result, 1, "holds no .json files")


def test_a_care_store_not_set_up_is_one_line_saying_what_to_run(tmp_path: Path):
    feed = tmp_path / "feed.json"
    feed.write_text("[]", encoding="utf-8")
    for command in (("directory", "import", str(feed)), ("directory", "export")):
        assert_one_line_error(joinedup(*command, home=tmp_path), 1, "joinedup db upgrade")


def test_synthetic_without_an_area_says_what_to_run(tmp_path: Path):
    assert_one_line_error(joinedup("directory", "synthetic", home=tmp_path), 1, "joinedup generate")


def test_synthetic_writes_an_oruk_page(small_area: Settings, tmp_path: Path):
    out = tmp_path / "directory.json"
    result = joinedup("directory", "synthetic", "-o", str(out), home=small_area.home)
    assert result.returncode == 0, result.stderr
    page = json.loads(out.read_text(encoding="utf-8"))
    assert page["total_items"] == len(page["contents"]) > 0 and page["last_page"]
