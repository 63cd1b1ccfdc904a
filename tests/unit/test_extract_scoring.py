"""Scoring a CSV extract: the NHS Digital artificial HES sample as it comes (its own
identifiers and extra columns), other identifiers, and broken files."""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from joinedup.analytics.extract_scoring import (
    SCORERS,
    ExtractError,
    ScorerSpec,
    rejects_path_for,
    score_extract,
)
from joinedup.analytics.oracles.charlson import charlson
from joinedup.analytics.oracles.elixhauser import elixhauser
from joinedup.analytics.oracles.hfrs import hfrs
from joinedup.terminology.icd10 import icd10_code_problem

APC = "artificial_hes_apc_0102.csv"
INDEX = dt.date(2002, 3, 31)  # the end of the sample's financial year, 2001/02
HES_NO_CODE = {"", "-"}  # HES writes "-" in a diagnosis column with nothing in it


def hes_extract(shared_dir: Path, target: Path) -> list[tuple[str, str, dt.date]]:
    """The APC file's diagnoses one per row, as a HES analyst would cut them: every DIAG_4_nn
    of every episode under the file's own headers (PSEUDO_HESID, a ``TEST…`` token, as the
    person; ADMIDATE as the date), keeping columns the score does not use (EPIKEY, ADMIMETH,
    the diagnosis position). Returns (person_id, code, date) of the rows written.
    """
    rows = []
    source = shared_dir / "data" / "nhs_artificial_hes_sample" / APC
    with (
        source.open(newline="", encoding="utf-8") as handle,
        target.open("w", newline="", encoding="utf-8") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["EPIKEY", "Person_ID", "ADMIMETH", "Diag_Position", "CODE", "Date"])
        for episode in csv.DictReader(handle):
            person_id = episode["PSEUDO_HESID"]
            admitted = dt.date.fromisoformat(episode["ADMIDATE"])
            for position in range(1, 21):
                code = episode[f"DIAG_4_{position:02d}"].strip()
                if code not in HES_NO_CODE:
                    rows.append((person_id, code, admitted))
                    writer.writerow(
                        [episode["EPIKEY"], person_id, episode["ADMIMETH"], position, code,
                         admitted.isoformat()]
                    )  # fmt: skip
    assert rows and all(p.startswith("TEST") for p, _, _ in rows)
    return rows


@pytest.fixture(scope="module")
def hes(shared_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hes")
    rows = hes_extract(shared_dir, folder / "apc.csv")
    return folder, rows


def test_hfrs_of_the_artificial_hes_sample(hes):
    folder, rows = hes
    result = score_extract("hfrs", folder / "apc.csv", folder / "hfrs.csv", index_date=INDEX)

    # Nothing dropped silently: each data row is scored or rejected with its reason.
    assert result.rows_read == len(rows) == result.rows_accepted + result.rows_rejected
    # The sample holds a few codes that are not ICD-10 (e.g. "0000"): each is rejected, saying so.
    assert 0 < result.rows_rejected < 20
    assert all("is not an ICD-10 code" in r.reason for r in result.rejects)
    assert all(r.row >= 2 for r in result.rejects)

    accepted = [r for r in rows if r[1] not in {j.values["code"] for j in result.rejects}]
    expected = hfrs(accepted, INDEX)
    assert result.people_scored == len(expected) == result.scores.num_rows
    got = {r["person_id"]: r for r in result.scores.to_pylist()}
    assert {p: (Decimal(repr(r["hfrs_score"])), r["hfrs_category"]) for p, r in got.items()} == {
        p: (e.score, e.category) for p, e in expected.items()
    }
    assert sum(1 for r in got.values() if r["hfrs_score"] > 0) > 100  # R54X, W19, Z74, ...
    # The extra columns are ignored and named, as the file spells them.
    assert result.ignored_columns == ["EPIKEY", "ADMIMETH", "Diag_Position"]

    # The files: scores with a header, and the rejects beside them.
    written = list(csv.DictReader((folder / "hfrs.csv").open(encoding="utf-8")))
    assert len(written) == result.people_scored
    # Identifiers written back exactly, people in order of first appearance in the extract.
    first_seen = list(dict.fromkeys(p for p, c, _ in accepted))
    assert [r["person_id"] for r in written] == first_seen
    assert {r["person_id"]: r["hfrs_score"] for r in written} == {
        p: str(float(e.score)) for p, e in expected.items()
    }
    assert list(written[0]) == ["person_id", "hfrs_score", "hfrs_category", "hfrs_groups"]
    assert (
        result.rejects_path == rejects_path_for(folder / "hfrs.csv") == folder / "hfrs.rejects.csv"
    )
    rejected = list(csv.DictReader(result.rejects_path.open(encoding="utf-8")))
    assert [int(r["row"]) for r in rejected] == [j.row for j in result.rejects]


def test_charlson_of_the_artificial_hes_sample(hes):
    folder, rows = hes
    result = score_extract("charlson", folder / "apc.csv", index_date=INDEX, weights="quan2011")
    assert result.output_path is None and result.rejects_path is None  # nothing written
    accepted = [r for r in rows if r[1] not in {j.values["code"] for j in result.rejects}]
    expected = charlson(accepted, INDEX, "quan2011")
    got = {
        r["person_id"]: (r["charlson_score"], r["charlson_groups"])
        for r in result.scores.to_pylist()
    }
    assert got == {p: (e.score, ", ".join(e.groups)) for p, e in expected.items()}
    assert sum(1 for score, _ in got.values() if score > 0) > 50


BROKEN = """\
person_id,code,date,age
1,F00,2024-01-10,81
1,W19.0,10/02/2024,81
2,I50,2024-02-30,70
3,,2024-01-01,70
,R54,2024-01-01,70
abc,R54,2024-01-01,70
4,hello,2024-01-01,70
4,I21,yesterday,70
5,I50,2024-01-01,seventy
5,J44,2024-01-01,90

6,I50,2024-01-01,90,oops
7,E11.2,,60
7,E11.9,2024-01-01,61
8,C78,2024-01-01,
"""


def test_broken_csv_rejects_each_bad_row_with_its_reason(tmp_path):
    source = tmp_path / "broken.csv"
    source.write_text(BROKEN, encoding="utf-8")
    result = score_extract("charlson", source, tmp_path / "out" / "scores.csv",
                           index_date=dt.date(2024, 6, 30))  # fmt: skip

    reasons = {r.row: r.reason for r in result.rejects}
    assert sorted(reasons) == [4, 5, 6, 8, 9, 10, 13, 14]  # row 7's person_id "abc" is fine
    assert "date '2024-02-30' is not a real date" in reasons[4]
    assert reasons[5] == "code is empty"
    assert reasons[6] == "person_id is empty"
    assert "code 'hello' is not an ICD-10 code" in reasons[8]
    assert "date 'yesterday' is not a date written YYYY-MM-DD" in reasons[9]
    assert "age 'seventy' is not a whole number" in reasons[10]
    assert "the row has 5 values but the header has 4 columns" in reasons[13]
    assert "date is empty" in reasons[14]  # an index date needs every row dated
    # Row 15 (person 7, age 61) is accepted: row 14's age 60 was on a rejected row.

    # Counts: every data row accounted for; the blank line is counted, not rejected.
    assert result.counts() == {
        "rows_read": 14,
        "rows_accepted": 6,
        "rows_rejected": 8,
        "blank_lines": 1,
        "people_scored": 5,
        "people_not_scored": 4,  # 2, 3, 4 and 6 have no accepted row (7 has one)
    }
    scores = {r["person_id"]: r for r in result.scores.to_pylist()}
    assert list(scores) == ["1", "abc", "5", "7", "8"]  # in order of first appearance
    assert scores["1"]["charlson_score"] == 1 and scores["1"]["charlson_age_adjusted"] == 5
    assert (scores["7"]["charlson_groups"], scores["7"]["charlson_age_adjusted"]) == ("diab", 3)
    assert scores["8"]["charlson_age_adjusted"] is None  # no age given

    rejected = list(csv.reader((tmp_path / "out" / "scores.rejects.csv").open(encoding="utf-8")))
    assert rejected[0] == ["row", "reason", "person_id", "code", "date", "age", "(unnamed)"]
    assert rejected[4][:2] == ["8", reasons[8]]
    assert rejected[4][2:] == ["4", "hello", "2024-01-01", "70", ""]
    assert rejected[7][-1] == "oops"


def test_an_age_that_contradicts_an_earlier_one_is_rejected(tmp_path):
    source = tmp_path / "ages.csv"
    source.write_text("person_id,code,age\n1,I50,80\n1,J44,81\n1,I21,\n", encoding="utf-8")
    result = score_extract("charlson", source)
    assert [(r.row, r.reason) for r in result.rejects] == [
        (3, "age 81 differs from age 80 given for the same person on row 2; give one age per "
            "person (at the index date)"),
    ]  # fmt: skip
    assert result.scores.to_pylist() == [
        {"person_id": "1", "charlson_score": 2, "charlson_age_adjusted": 6,
         "charlson_groups": "ami, chf"},
    ]  # fmt: skip


def test_a_later_age_on_a_rejected_row_is_named_too(tmp_path):
    """A rejected row that gives the person another age after their first is told so as well
    (the first accepted row with an age sets it; rows before it are not refused)."""
    source = tmp_path / "ages.csv"
    source.write_text(
        "person_id,code,age\n1,0000,79\n1,I50,80\n1,0000,81\n1,J44,80\n", encoding="utf-8"
    )
    result = score_extract("charlson", source)
    reasons = {r.row: r.reason for r in result.rejects}
    assert sorted(reasons) == [2, 4]
    assert "differs" not in reasons[2]
    assert reasons[4].endswith(
        "; age 81 differs from age 80 given for the same person on row 3; give one age per "
        "person (at the index date)"
    )
    assert result.rows_accepted == 2 and result.people_scored == 1


def test_identifiers_sharing_a_key_are_still_told_apart(tmp_path, monkeypatch):
    """Should two identifiers of an extract share a key (`PERSON_KEY`, a hash), every person
    is numbered instead: the scores, the order and the rejects are the same either way."""
    from joinedup.analytics.extract_scoring import checking

    source = tmp_path / "clash.csv"
    source.write_text(
        "person_id,code,age\nab,I50,80\nba,I21,61\n cd,J44,70\nab,E112,80\nzz,0000,50\n"
        "cd ,C78,70\nba,I21,62\n",
        encoding="utf-8",
    )
    plain = score_extract("charlson", source)
    monkeypatch.setattr(checking, "PERSON_KEY", "CAST(length({}) AS BIGINT)")  # all alike
    clashing = score_extract("charlson", source)
    assert clashing.scores.to_pylist() == plain.scores.to_pylist()
    assert [p["person_id"] for p in plain.scores.to_pylist()] == ["ab", "ba", "cd"]
    assert clashing.rejects == plain.rejects and len(plain.rejects) == 2
    assert clashing.counts() == plain.counts()


@pytest.mark.parametrize(
    ("content", "empty_rows", "scores"),
    [
        # No space in the file: each identifier is hashed as read (an empty one has no value).
        ('person_id,code\n,I50\n1,I50\n"",J44\n1,J44\n', [2, 4], {"1": 2}),
        # Spaces: identifiers are trimmed first, so " 1 " is 1 and "   " is empty.
        ("person_id,code\n   ,I50\n1,I50\n 1 ,J44\n,I21\n", [2, 5], {"1": 2}),
    ],
)
def test_empty_identifiers_are_rejected_with_or_without_spaces_in_the_file(
    tmp_path, content, empty_rows, scores
):
    source = tmp_path / "empty.csv"
    source.write_text(content, encoding="utf-8")
    result = score_extract("charlson", source)
    assert [(r.row, r.reason) for r in result.rejects] == [
        (row, "person_id is empty") for row in empty_rows
    ]
    assert {r["person_id"]: r["charlson_score"] for r in result.scores.to_pylist()} == scores


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"person_id,date\n1,2024-01-01\n", "has no code column"),
        (b"person_id;code\n1;I50\n", "looks separated by semicolons"),
        (b"PK\x03\x04\x00\x00binary", "is not a CSV text file"),
        (b"person_id,code\n1,I50\xff\n", "is not UTF-8 text"),
        (b"", "is empty"),
        (b"person_id,code,code\n", "names code more than once"),
        (b"person_id,code,\n", "column 3 of the header has no name"),
        # LF lines with an empty one ending CR LF: DuckDB's reader gives up on the whole file.
        (b"person_id,code\nA1,I50X\n\r\nB2,I21\n", "every line ends the same way"),
    ],
)
def test_structural_problems_raise_a_clear_error(tmp_path, content, message):
    source = tmp_path / "extract.csv"
    source.write_bytes(content)
    with pytest.raises(ExtractError) as caught:
        score_extract("hfrs", source)
    assert message in str(caught.value)


def test_missing_file_unknown_score_and_undated_extract_with_an_index_date(tmp_path):
    with pytest.raises(ExtractError, match="no such file"):
        score_extract("hfrs", tmp_path / "nowhere.csv")
    source = tmp_path / "undated.csv"
    source.write_text("person_id,code\n1,F00\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="unknown score 'frailty'"):
        score_extract("frailty", source)
    with pytest.raises(ExtractError, match="has no date column"):
        score_extract("hfrs", source, index_date=dt.date(2024, 1, 1))
    # Without an index date, an undated extract is scored whole.
    assert score_extract("hfrs", source).scores.to_pylist() == [
        {"person_id": "1", "hfrs_score": 7.1, "hfrs_category": "intermediate", "hfrs_groups": "F00"}
    ]


def test_registry_entries_name_their_columns():
    assert {"hfrs", "charlson", "elixhauser"} <= set(SCORERS)
    for spec in SCORERS.values():
        assert isinstance(spec, ScorerSpec)
        assert spec.required[:2] == ("person_id", "code")
    assert "age" in SCORERS["charlson"].optional and "age" not in SCORERS["hfrs"].columns


def test_uuids_are_people(tmp_path):
    people = [str(uuid.UUID(int=n * 7919 + 1, version=4)) for n in range(1, 4)]
    source = tmp_path / "uuids.csv"
    rows = [(people[0], "F00"), (people[1], "I50"), (people[0], "R54"), (people[2], "Z99")]
    source.write_text("person_id,code\n" + "".join(f"{p},{c}\n" for p, c in rows), encoding="utf-8")
    result = score_extract("hfrs", source, tmp_path / "hfrs.csv")
    expected = hfrs([(p, c, None) for p, c in rows])
    written = list(csv.DictReader((tmp_path / "hfrs.csv").open(encoding="utf-8")))
    assert [r["person_id"] for r in written] == people
    assert {r["person_id"]: Decimal(r["hfrs_score"]) for r in written} == {
        p: e.score for p, e in expected.items()
    }
    assert result.rejects == [] and result.ignored_columns == []


def test_identifiers_are_kept_as_written_and_extra_columns_ignored(tmp_path):
    source = tmp_path / "mixed.csv"
    source.write_text(
        "Spell_ID, AGE ,CODE,Person_Id,Ward\n"
        "s1,80,I50,007,A\n"
        "s2,80,I21,7,B\n"
        "s3,64,J44,ab 12 cd,C\n"
        "s4,64,I50,  ab 12 cd  ,C\n"
        "s5,70,E11.2,AB 12 CD,D\n",
        encoding="utf-8",
    )
    result = score_extract("charlson", source, tmp_path / "out.csv")
    assert result.ignored_columns == ["Spell_ID", "Ward"]
    written = list(csv.reader((tmp_path / "out.csv").open(encoding="utf-8")))
    # Leading zeros, inner spaces and case kept; the spaces around a value are not part of it.
    assert written == [
        ["person_id", "charlson_score", "charlson_age_adjusted", "charlson_groups"],
        ["007", "1", "5", "chf"],
        ["7", "1", "5", "ami"],  # 80: four age points
        ["ab 12 cd", "2", "4", "chf, copd"],  # 64: two
        ["AB 12 CD", "2", "5", "diabwc"],  # E11.2: diabetes with complications; 70: three
    ]


def test_an_extract_with_nothing_to_score_is_an_error_and_its_rejects_are_kept(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("person_id,code\n1,hello\n2,\n", encoding="utf-8")
    with pytest.raises(ExtractError, match=r"no row of bad\.csv could be scored: all 2 rows"):
        score_extract("hfrs", source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    rejected = list(csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8")))
    assert [r["row"] for r in rejected] == ["2", "3"]
    source.write_text("person_id,code\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="has a header but no rows"):
        score_extract("hfrs", source)


def test_row_numbers_are_lines_of_the_file_through_blank_lines_and_crlf(tmp_path):
    source = tmp_path / "crlf.csv"
    lines = ["person_id,code", "1,F00", "", "2,bad", "   ", "", "3,I50,extra", "4,x", "5,R54", ""]
    source.write_bytes("\r\n".join(lines).encode("utf-8"))
    result = score_extract("hfrs", source)
    assert [(r.row, r.reason.split(":")[0]) for r in result.rejects] == [
        (4, "code 'bad' is not an ICD-10 code"),
        (7, "the row has 3 values but the header has 2 columns; check for an unquoted comma or "
            "a missing value"),
        (8, "code 'x' is not an ICD-10 code"),
    ]  # fmt: skip
    assert result.blank_lines == 3
    assert [r["person_id"] for r in result.scores.to_pylist()] == ["1", "5"]


def test_the_stored_score_sql_is_the_pipeline_compiled_now():
    """The SQL `joinedup score` runs is what the Ibis pipelines compile to today (a change to a
    pipeline or its tables without `scripts/compile_score_sql.py` fails here)."""
    from joinedup.analytics.score_sql import pipeline_sql, stored_sql
    from joinedup.analytics.scores import hfrs as hfrs_module

    ahead = {name: spec for name, spec in SCORERS.items() if spec.compiled_ahead}
    assert set(ahead) == {"hfrs", "charlson", "elixhauser"}
    for name, spec in ahead.items():
        compiled = pipeline_sql(
            spec.load_pipeline(), spec.input_schema(spec.columns), spec.side_inputs()
        )
        assert stored_sql(name) == compiled, f"run scripts/compile_score_sql.py ({name})"
    assert SCORERS["hfrs"].lookback_years == hfrs_module.LOOKBACK_YEARS
    assert SCORERS["charlson"].lookback_years is SCORERS["elixhauser"].lookback_years is None


@pytest.mark.parametrize("index", [INDEX, dt.date(2001, 9, 30), dt.date(2003, 6, 1)])
def test_extract_scores_equal_the_oracles_at_any_index_date(hes, tmp_path, index):
    """The index date reaches the stored SQL as a window over the rows: the scores equal the
    oracles' (which take the index date themselves) before, inside and after the sample's year."""
    folder, rows = hes
    accepted = [r for r in rows if icd10_code_problem(r[1]) is None]
    got = {
        name: {
            r["person_id"]: r
            for r in score_extract(name, folder / "apc.csv", index_date=index).scores.to_pylist()
        }
        for name in ("hfrs", "charlson", "elixhauser")
    }
    assert {p: Decimal(repr(r["hfrs_score"])) for p, r in got["hfrs"].items()} == {
        p: e.score for p, e in hfrs(accepted, index).items()
    }
    assert {p: r["charlson_score"] for p, r in got["charlson"].items()} == {
        p: e.score for p, e in charlson(accepted, index).items()
    }
    assert {p: r["elixhauser_score"] for p, r in got["elixhauser"].items()} == {
        p: e.score for p, e in elixhauser(accepted, index).items()
    }


@pytest.mark.parametrize("score", ["efi", "cms"])
def test_snomed_scores_of_an_extract_equal_their_pipeline(tmp_path, score):
    """eFI and CMS (compiled with the index date when asked for) give each person what their
    Ibis pipeline gives the same rows, people known by text."""
    import ibis

    from joinedup.analytics.engine import connect, put_table
    from joinedup.analytics.scores.efi import efi_codelist_ids
    from joinedup.terminology.codelists import codelist_table

    listed = codelist_table(efi_codelist_ids(), ["snomed"]).column("code").to_pylist()
    codes = sorted(set(listed))[::7][:40]  # codes of many deficits (and conditions)
    people = [f"pt-{n:03d}" for n in range(12)]
    rows = [(people[i % 12], codes[(i * 7) % len(codes)], "2024-01-15") for i in range(60)]
    source = tmp_path / "snomed.csv"
    source.write_text(
        "person_id,code,date\n" + "".join(f"{p},{c},{d}\n" for p, c, d in rows), encoding="utf-8"
    )
    index = dt.date(2024, 6, 30)
    got = score_extract(score, source, index_date=index).scores.to_pylist()

    con = connect("duckdb")
    table = put_table(
        con,
        "codes",
        ibis.memtable(
            {
                "person_id": [people.index(p) for p, _, _ in rows],
                "code": [c for _, c, _ in rows],
                "date": [dt.date.fromisoformat(d) for _, _, d in rows],
            }
        ).to_pyarrow(),
    )
    expected = con.to_pyarrow(SCORERS[score].load_pipeline()(table, index_date=index)).to_pylist()
    con.disconnect()
    assert [r["person_id"] for r in got] == people  # in order of first appearance
    numbers = [v for r in got for v in r.values() if isinstance(v, int | float)]
    assert any(numbers), "every score zero: the test would not see a wrong join"
    assert {r.pop("person_id"): r for r in got} == {people[r.pop("person_id")]: r for r in expected}


def test_a_second_age_after_empty_lines_names_the_lines_of_both_rows(tmp_path):
    # The empty lines are found while the people are grouped, after the rows with a problem
    # were set aside: both kinds of row are numbered again by them (ADR 0040).
    source = tmp_path / "ages.csv"
    lines = ["person_id,code,age", "", "1,I50,70", "", "", "1,bad,71", "1,I21,72", "2,I10,60", ""]
    source.write_text("\n".join(lines), encoding="utf-8")
    result = score_extract("charlson", source)
    assert [(r.row, r.reason.split(";")[0]) for r in result.rejects] == [
        (6, "code 'bad' is not an ICD-10 code: it should start with a letter and two digits, "
            "e.g. I50, I50.0 or I500"),
        (7, "age 72 differs from age 70 given for the same person on row 3"),
    ]  # fmt: skip
    assert (
        "age 71 differs from age 70 given for the same person on row 3" in result.rejects[0].reason
    )
    assert result.blank_lines == 3


def test_the_empty_line_search_hands_back_an_error_of_the_work_beside_it(tmp_path):
    from joinedup.analytics.extract_scoring.checking import _empty_lines_meanwhile

    source = tmp_path / "e.csv"
    source.write_bytes(b"person_id,code\n\n1,I50\r\n\r\n2,I10\n")
    ran: list[bool] = []
    assert _empty_lines_meanwhile(source, lambda: ran.append(True)) == [2, 4]
    assert ran == [True]

    def fail() -> None:
        raise ValueError("the people could not be grouped")

    with pytest.raises(ValueError, match="could not be grouped"):
        _empty_lines_meanwhile(source, fail)
