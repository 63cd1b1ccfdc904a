"""`joinedup news2` on a CSV nobody tidied: text ids, extra columns, messy spellings, bad rows.

Expected scores are worked by hand from the RCP chart (../shared/reference/news2/), not by the
code under test.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tests.unit.test_cli import assert_one_line_error, joinedup

HEADER = "resp_rate,spo2,on_oxygen,systolic_bp,pulse,consciousness,temperature"
MESSY = (
    "\ufeff Patient ID ,Resp_Rate, SpO2 ,SpO2 Scale,On Oxygen,Systolic BP,pulse,Consciousness,"
    "Temperature,ward note\r\n"
    'PX-001,16,97,1,False,120,70,A,37.0,"fine, thanks"\r\n'
    "007,,95%,,yes,98,115,alert,38.6 °C,kit has no RR\r\n"
    "a1b2 c3,24,93,Scale 2,True,98,115,New confusion,38.6,\r\n"
    "\r\n"
    "bad,16,101,1,no,120,0,A,50,typo\r\n"
    "zz,sixteen,97,3,maybe,120,70,Q,37,\r\n"
    "short,16,97\r\n"
    "0042,25,  96 ,1,Y,111,90,a,36.1,red score only\r\n"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_a_messy_extract_is_scored_passed_through_and_its_bad_rows_explained(tmp_path: Path):
    out = tmp_path / "scored.csv"
    result = joinedup("news2", str(_write(tmp_path, MESSY)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "7 rows read: 3 scored, 1 incomplete (no total), 3 rejected" in result.stderr
    rows = {r[" Patient ID "]: r for r in _rows(out)}
    assert list(rows) == ["PX-001", "007", "a1b2 c3", "0042"]  # ids exactly as given
    assert rows["PX-001"]["ward note"] == "fine, thanks"  # other columns untouched
    normal = rows["PX-001"]
    assert (normal["news2_total"], normal["news2_risk"], normal["news2_red_score"]) == (
        "0",
        "low",
        "false",
    )
    # 24/min 2, 93% on O2 on Scale 2 1, oxygen 2, 98 mmHg 2, 115/min 2, new confusion 3, 38.6 1
    unwell = rows["a1b2 c3"]
    assert (unwell["news2_total"], unwell["news2_risk"], unwell["news2_red_score"]) == (
        "13",
        "high",
        "true",
    )
    assert [unwell[f"{p}_score"] for p in ("resp_rate", "spo2", "on_oxygen")] == ["2", "1", "2"]
    assert unwell["news2_scale"] == "2"
    # no respiration rate: never a total; 95% 1, oxygen 2, 98 2, 115 2, alert 0, 38.6 1
    kit = rows["007"]
    assert (kit["news2_total"], kit["news2_risk"], kit["news2_missing"]) == ("", "", "resp_rate")
    assert (kit["news2_partial_sum"], kit["resp_rate_score"]) == ("8", "")
    # 25/min is 3 (red), 96% 0, oxygen 2, 111 0, 90 0, alert 0, 36.1 0: total 5 → medium
    red = rows["0042"]
    assert (red["news2_total"], red["news2_risk"], red["news2_red_score"]) == (
        "5",
        "medium",
        "true",
    )

    rejects = {r["line"]: r for r in _rows(tmp_path / "scored.rejects.csv")}
    assert set(rejects) == {"6", "7", "8"}  # lines in the file (header 1, blank line 5)
    impossible = rejects["6"]["reason"]
    assert "SpO2 101" in impossible and "pulse 0" in impossible and "temperature 50" in impossible
    unreadable = rejects["7"]["reason"]
    for fragment in ("'sixteen' is not a number", "'maybe'", "'Q' is not an ACVPU", "'3'"):
        assert fragment in unreadable
    assert "3 values but the header has 10" in rejects["8"]["reason"]
    assert rejects["6"][" Patient ID "] == "bad"  # the row as given, to correct and resend


def test_without_an_output_file_the_scores_go_to_stdout(tmp_path: Path):
    result = joinedup("news2", str(_write(tmp_path, MESSY)))
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].endswith("temperature_score")
    assert len(result.stdout.splitlines()) == 5
    assert "line 6: SpO2 101" in result.stderr


def test_no_row_scored_is_an_error_and_leaves_no_output(tmp_path: Path):
    text = f"id,{HEADER}\nx,0,101,no,1,0,A,50\n"
    out = tmp_path / "out.csv"
    result = joinedup("news2", str(_write(tmp_path, text)), "-o", str(out))
    assert result.returncode == 1
    assert "error: no row could be scored" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and (tmp_path / "out.rejects.csv").exists()


def test_a_header_only_file_scores_nobody(tmp_path: Path):
    text = f"{HEADER}\n"
    assert_one_line_error(
        joinedup("news2", str(_write(tmp_path, text))), 1, "no row could be scored"
    )


def test_structural_problems_are_one_line(tmp_path: Path):
    no_pulse = "id,resp_rate,spo2,on_oxygen,systolic_bp,consciousness,temperature\n1,16,97,n\n"
    assert_one_line_error(joinedup("news2", str(_write(tmp_path, no_pulse))), 1, "no pulse column")
    twice = "pulse,Pulse,resp_rate,spo2,on_oxygen,systolic_bp,consciousness,temperature\n"
    assert_one_line_error(joinedup("news2", str(_write(tmp_path, twice))), 1, "more than once")
    assert_one_line_error(joinedup("news2", str(tmp_path / "nope.csv")), 1, "no such file")
    (tmp_path / "bin.csv").write_bytes(b"PAR1\x00\x00")
    assert_one_line_error(joinedup("news2", str(tmp_path / "bin.csv")), 1, "binary")


def test_the_command_is_listed_and_its_help_says_what_happens_to_incomplete_rows():
    listed = joinedup("--help")
    assert "news2" in listed.stdout
    helped = joinedup("news2", "--help")
    assert helped.returncode == 0
    for fragment in ("INCOMPLETE", "REJECTED", "rejects.csv", "Exits 1 when no row"):
        assert fragment in helped.stdout
