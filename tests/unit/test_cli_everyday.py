"""README's "Everyday commands" in the order a new user types them, on a fresh home: each one
succeeds with no traceback, and the care store knows the area's organisations without any
step the README does not show."""

from __future__ import annotations

import csv

import pyarrow.compute as pc
import pytest

from joinedup.population.store import PopulationStore
from tests.unit.test_cli import assert_one_line_error, joinedup


def succeeds(*args: str, home) -> str:  # type: ignore[no-untyped-def]
    result = joinedup(*args, home=home)
    assert result.returncode == 0, f"joinedup {' '.join(args)}: {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    return result.stdout


def a_practice(home) -> str:  # type: ignore[no-untyped-def]
    organisations = PopulationStore(home / "population").read("organisations")
    practices = organisations.filter(pc.equal(organisations["org_type"], "practice"))
    return str(practices["org_code"][0])


@pytest.mark.slow
def test_the_everyday_commands_in_order_on_a_fresh_home(tmp_path):
    home = tmp_path / "home"
    assert "Generated 2,000 people" in succeeds("generate", "-n", "2000", "-s", "3", home=home)
    assert "All tables meet their contracts." in succeeds("validate", home=home)
    assert "2,000 people" in succeeds("stratify", home=home)
    upgraded = succeeds("db", "upgrade", home=home)
    assert "Organisations in the care store:" in upgraded and " added" in upgraded

    practice = a_practice(home)
    added = succeeds(
        "user", "add", "agp", "--role", "gp", "--name", "Dr A Example", "--org", practice,
        home=home,
    )  # fmt: skip
    assert "agp" in added
    listed = succeeds("user", "list", home=home)
    assert "agp" in listed and practice in listed

    # An extract cut from the area's own hospital diagnoses, identifiers as text.
    store = PopulationStore(home / "population")
    spells = {r["spell_id"]: r for r in store.read("hospital_spells").to_pylist()}
    extract = tmp_path / "extract.csv"
    with extract.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["person_id", "code", "date"])
        for dx in store.read("spell_diagnoses").to_pylist():
            spell = spells[dx["spell_id"]]
            writer.writerow([f"P{dx['person_id']:06d}", dx["icd10_code"], spell["admission_date"]])
    scored = succeeds("score", "hfrs", str(extract), "-o", str(tmp_path / "hfrs.csv"), home=None)
    assert " 0 rejected" in scored
    written = list(csv.DictReader((tmp_path / "hfrs.csv").open(encoding="utf-8")))
    assert written and all(r["person_id"].startswith("P") for r in written)

    exported = tmp_path / "list.csv"
    succeeds(
        "export", "case-finding", "frailty-no-review", "--as", "agp", "--practice", practice,
        "-o", str(exported), home=home,
    )  # fmt: skip
    assert exported.read_text(encoding="utf-8").strip()


@pytest.mark.slow
def test_organisations_follow_the_population_store_whichever_comes_first(tmp_path):
    home = tmp_path / "home"
    # Care store first: nothing to mirror yet; generate then brings the organisations.
    assert "Organisations" not in succeeds("db", "upgrade", home=home)
    generated = succeeds("generate", "-n", "500", "-s", "4", home=home)
    assert "Organisations in the care store:" in generated and " added" in generated
    practice = a_practice(home)
    succeeds("user", "add", "nurse1", "--role", "gp", "--name", "N One", "--org", practice,
             home=home)  # fmt: skip
    # The command of its own changes nothing when they are already in step.
    again = succeeds("db", "sync-organisations", home=home)
    assert "0 organisations added, 0 updated, 0 made inactive" in again


def test_sync_organisations_says_what_to_run_when_a_store_is_missing(tmp_path):
    assert_one_line_error(
        joinedup("db", "sync-organisations", home=tmp_path), 1, "joinedup generate"
    )


def test_an_ingest_brings_its_organisations_into_a_care_store_already_set_up(tmp_path):
    from tests.ingest_support import good_resources, write_bundle

    home = tmp_path / "home"
    succeeds("db", "upgrade", home=home)
    refused = joinedup("user", "add", "gp1", "--role", "gp", "--name", "G P", "--org", "Y12345",
                       home=home)  # fmt: skip
    assert_one_line_error(refused, 1, "Y12345")  # nothing ingested yet
    bundle = write_bundle(tmp_path / "bundle.json", *good_resources())
    ingested = succeeds("ingest", "fhir", str(bundle), home=home)
    assert "Organisations in the care store: 1 organisations added" in ingested
    succeeds("user", "add", "gp1", "--role", "gp", "--name", "G P", "--org", "Y12345", home=home)


def test_score_names_ignored_columns_once_and_fails_when_nothing_scores(tmp_path):
    source = tmp_path / "extract.csv"
    source.write_text(
        "EPIKEY,Person_ID,Code,Ward\n1,TESTabc,F00.1,A\n2,TESTabc,W19,A\n3,TESTdef,0000,B\n",
        encoding="utf-8",
    )
    result = joinedup("score", "hfrs", str(source), "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("note: ignored column(s) EPIKEY, Ward: hfrs does not use them") == 1
    assert "row 4: code '0000' is not an ICD-10 code" in result.stderr
    assert (
        (tmp_path / "out.csv")
        .read_text(encoding="utf-8")
        .splitlines()[1]
        .startswith(
            "TESTabc,10.3,intermediate"  # F00 7.1 + W19 3.2
        )
    )
    source.write_text("person_id,code\nTESTabc,0000\n", encoding="utf-8")
    assert_one_line_error(
        joinedup("score", "hfrs", str(source)), 1, "no row of extract.csv could be scored"
    )
