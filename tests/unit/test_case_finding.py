"""Case-finding lists on the session's small synthetic area, and their pages.

The raised blood-pressure list is checked person by person against an independent pandas
computation from the Parquet files; every list must find the undiagnosed people the generator
planted.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from joinedup.analytics import case_finding as cf
from joinedup.errors import UserError
from joinedup.governance.suppression import suppress_count
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.terminology.codelists import load_codelist
from tests.case_finding_support import area_gp_client

#: The lists the store alone computes (the risk list also needs a stratification run).
AVAILABLE = [d.id for d in cf.list_definitions() if d.available and not d.run_columns]


@pytest.fixture(scope="module")
def results(small_store: PopulationStore) -> dict[str, cf.CaseFindingResult]:
    return {list_id: cf.run_list(small_store, list_id) for list_id in AVAILABLE}


@pytest.fixture(scope="module")
def client(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The pages signed in as a GP working across the whole commissioning area, so the
    identifiable lists hold everyone (who sees what is tested in
    tests/integration/test_case_finding_governance.py)."""
    return area_gp_client(small_area, f"sqlite:///{tmp_path_factory.mktemp('care') / 'care.db'}")


# --- definitions -----------------------------------------------------------------------------


def test_every_list_is_declared_with_its_rules() -> None:
    definitions = cf.list_definitions()
    assert [d.id for d in definitions] == [
        "raised-bp-no-hypertension",
        "raised-hba1c-no-diabetes",
        "irregular-pulse-no-af",
        "frailty-no-review",
        "high-gp-users",
        "top-risk-not-on-register",
    ]
    for d in definitions:
        assert d.title and d.audience and d.rule and d.numerator and d.window, d.id
        assert d.evidence and all(e.citation for e in d.evidence), d.id
        for use in d.codelists:
            assert load_codelist(use.id).version == use.version, (d.id, use.id)
    assert {d.id for d in definitions if d.available} == set(cf.PIPELINES)


def test_the_rule_in_words_states_the_numbers_the_pipeline_uses() -> None:
    bp = cf.get_definition("raised-bp-no-hypertension")
    p = bp.parameters
    assert f"{p['systolic_mmhg']}/{p['diastolic_mmhg']}" in bp.rule
    assert f"systolic {p['systolic_mmhg']} mmHg" in bp.numerator
    assert f"{p['window_days']} days" in bp.numerator
    hba1c = cf.get_definition("raised-hba1c-no-diabetes")
    assert f"{hba1c.parameters['hba1c_mmol_mol']} mmol/mol" in hba1c.rule
    frailty = cf.get_definition("frailty-no-review")
    assert f"aged {frailty.parameters['min_age']} or over" in frailty.rule
    gp = cf.get_definition("high-gp-users")
    assert f"top {round(100 * gp.parameters['top_share'])}%" in gp.rule
    assert f"at least {gp.parameters['min_appointments']} attended" in gp.rule


def test_an_unknown_list_is_a_user_error_naming_the_lists(small_store: PopulationStore) -> None:
    with pytest.raises(cf.UnknownListError) as caught:
        cf.run_list(small_store, "no-such-list")
    assert isinstance(caught.value, UserError)
    assert "no-such-list" in str(caught.value) and "raised-bp-no-hypertension" in str(caught.value)


def test_the_risk_list_needs_a_run_with_risk(small_store: PopulationStore) -> None:
    # The session's area has no stratification run (tests/unit/test_case_finding_risk.py
    # makes runs in homes of their own).
    definition = cf.get_definition("top-risk-not-on-register")
    assert definition.available and definition.run_columns == ("risk",)
    with pytest.raises(cf.ListUnavailableError, match="risk model"):
        cf.run_list(small_store, definition.id)
    assert cf.list_counts(small_store)[definition.id] is None
    assert cf.unavailable_reason(cf.get_definition("high-gp-users"), None) == ""


# --- the small area --------------------------------------------------------------------------


def test_every_list_finds_the_planted_people(results: dict[str, cf.CaseFindingResult]) -> None:
    sizes = {list_id: r.total for list_id, r in results.items()}
    assert all(n > 0 for n in sizes.values()), sizes
    for result in results.values():
        rows = result.rows
        assert rows.column_names == list(cf.ROW_COLUMNS)
        assert len(set(rows["person_id"].to_pylist())) == rows.num_rows
        assert sum(p.found for p in result.by_practice) == result.total
        assert sum(h.found for h in result.by_neighbourhood) == result.total
        assert result.index_date == dt.date.fromisoformat("2026-03-31")


def _independent_raised_bp(store: PopulationStore, index: dt.date) -> dict[int, list[tuple]]:
    """person → raised days [(date, max systolic, max diastolic)], newest first, in pandas."""
    patients = pd.read_parquet(store.path("patients"))
    regs = pd.read_parquet(store.path("registrations"))
    events = pd.read_parquet(store.path("clinical_events"))
    day = pd.Timestamp(index)
    open_ = regs[
        (pd.to_datetime(regs.start_date) <= day)
        & (regs.end_date.isna() | (pd.to_datetime(regs.end_date) > day))
    ]
    alive = patients[
        (pd.to_datetime(patients.date_of_birth) <= day)
        & (patients.date_of_death.isna() | (pd.to_datetime(patients.date_of_death) > day))
    ]
    dob = pd.to_datetime(alive.date_of_birth)
    age = (
        index.year
        - dob.dt.year
        - (
            (dob.dt.month > index.month)
            | ((dob.dt.month == index.month) & (dob.dt.day > index.day))
        ).astype(int)
    )
    adults = set(alive.person_id[age >= 18]) & set(open_.person_id)
    systolic = load_codelist("systolic-blood-pressure").codes["snomed"]
    diastolic = load_codelist("diastolic-blood-pressure").codes["snomed"]
    hypertension = load_codelist("hypertension").codes["snomed"]
    dates = pd.to_datetime(events.event_date)
    diagnosed = set(events.person_id[events.code.isin(hypertension) & (dates <= day)])
    window = events[(dates > day - pd.Timedelta(days=730)) & (dates <= day)]
    window = window[window.code.isin(systolic | diastolic) & window.value.notna()]
    found: dict[int, list[tuple]] = {}
    for (person, date), group in window.groupby(["person_id", "event_date"]):
        s = group.value[group.code.isin(systolic)].max()
        d = group.value[group.code.isin(diastolic)].max()
        if s >= 140 or d >= 90:
            found.setdefault(int(person), []).append((date, int(s), int(d)))
    return {
        person: sorted(days, reverse=True)
        for person, days in found.items()
        if len(days) >= 2 and person in adults and person not in diagnosed
    }


def test_raised_bp_matches_an_independent_computation(
    small_store: PopulationStore, results: dict[str, cf.CaseFindingResult]
) -> None:
    result = results["raised-bp-no-hypertension"]
    expected = _independent_raised_bp(small_store, result.index_date)

    got = {row["person_id"]: row for row in result.people()}
    assert set(got) == set(expected)
    for person, days in expected.items():
        (d1, s1, di1), (d0, s0, di0) = days[0], days[1]
        assert got[person]["evidence"] == (
            f"BP {s0}/{di0} on {d0.isoformat()} and {s1}/{di1} on {d1.isoformat()} "
            f"({len(days)} raised days in 2 years)"
        )
        assert got[person]["evidence_date"] == d1


def test_hba1c_evidence_is_the_latest_reading(
    small_store: PopulationStore, results: dict[str, cf.CaseFindingResult]
) -> None:
    events = pd.read_parquet(small_store.path("clinical_events"))
    hba1c = events[events.code == "999791000000106"].sort_values(["event_date", "value"])
    for row in results["raised-hba1c-no-diabetes"].people():
        latest = hba1c[hba1c.person_id == row["person_id"]].iloc[-1]
        match = re.fullmatch(
            r"Latest HbA1c (\d+) mmol/mol on (\S+) \((\d+) of 48 or more in 2 years\)",
            row["evidence"],
        )
        assert match, row["evidence"]
        assert int(match[1]) == int(latest.value) and match[2] == latest.event_date.isoformat()
        assert int(match[1]) >= 48 or int(match[3]) >= 2


def test_frailty_evidence_names_the_efi_category(
    results: dict[str, cf.CaseFindingResult],
) -> None:
    people = results["frailty-no-review"].people()
    # The synthetic area records no reviews: everyone frail aged 65+ qualifies.
    assert all(row["age"] >= 65 for row in people)
    assert all(
        re.fullmatch(
            r"eFI (moderate|severe) \((\d+) deficits, \d+/100\); no review recorded", r["evidence"]
        )
        for r in people
    )


def test_filters_and_csv_export_round_trip(
    small_store: PopulationStore, results: dict[str, cf.CaseFindingResult], tmp_path: Path
) -> None:
    whole = results["high-gp-users"]
    practice = max(whole.by_practice, key=lambda p: p.found)
    one = cf.run_list(small_store, "high-gp-users", practice=practice.code)
    assert one.total == practice.found
    assert set(one.rows["practice_code"].to_pylist()) == {practice.code}
    assert [p.code for p in one.by_practice] == [practice.code]
    hood = whole.by_neighbourhood[0]
    in_hood = cf.run_list(small_store, "high-gp-users", neighbourhood=hood.code)
    assert in_hood.total == hood.found
    with pytest.raises(cf.UnknownOrganisationError):
        cf.run_list(small_store, "high-gp-users", practice="NOPE")

    path = cf.export_csv(one, tmp_path / "list.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == list(cf.ROW_COLUMNS)
    expected = [{k: "" if v is None else str(v) for k, v in row.items()} for row in one.people()]
    assert read == expected


# --- pages ------------------------------------------------------------------------------------


def test_the_index_lists_every_list_with_its_count(
    client: TestClient, results: dict[str, cf.CaseFindingResult]
) -> None:
    html = client.get("/case-finding").text
    for definition in cf.list_definitions():
        card = re.search(rf'data-list="{definition.id}".*?</li>', html, re.S)
        assert card, definition.id
        if definition.id in results:
            assert f">{results[definition.id].total:,}</p>" in card[0]
            for use in definition.codelists:
                assert f"<code>{use.id}</code> v{use.version}" in card[0]
        else:
            assert "Not available yet" in card[0]


def test_a_list_page_shows_its_rule_people_and_counts(
    client: TestClient, results: dict[str, cf.CaseFindingResult]
) -> None:
    result = results["raised-bp-no-hypertension"]
    response = client.get("/case-finding/raised-bp-no-hypertension")
    html = response.text

    assert response.status_code == 200
    assert "NICE guideline NG136" in html
    assert "<code>hypertension</code> version 1" in html
    assert 'id="identifiable-notice"' in html and 'id="pseudonymous-notice"' not in html
    assert html.count('data-person="') == result.total
    for row in result.people()[:5]:
        assert f'data-person="{row["person_id"]}"' in html
        nhs = row["nhs_number"]
        assert f'href="/people/{row["person_id"]}/scores"' in html
        assert f">{nhs[:3]} {nhs[3:6]} {nhs[6:]}</span>" in html
    assert f'data-figure="total">{result.total:,}<' in html
    assert 'href="/case-finding/raised-bp-no-hypertension.csv"' in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in tag
    assert " style=" not in html and "<style" not in html


def test_the_filter_answers_htmx_with_a_fragment(
    client: TestClient, results: dict[str, cf.CaseFindingResult]
) -> None:
    practice = max(results["frailty-no-review"].by_practice, key=lambda p: p.found)
    url = f"/case-finding/frailty-no-review?practice={practice.code}"

    fragment = client.get(url, headers={"HX-Request": "true"})
    full = client.get(url)

    assert "<html" not in fragment.text and "<html" in full.text
    assert fragment.headers["HX-Push-Url"] == url
    assert fragment.text.count('data-person="') == practice.found
    assert f'data-figure="total">{practice.found:,}<' in full.text
    assert f"/case-finding/frailty-no-review.csv?practice={practice.code}" in full.text


def test_the_csv_download_holds_everyone(
    client: TestClient, results: dict[str, cf.CaseFindingResult]
) -> None:
    response = client.get("/case-finding/irregular-pulse-no-af.csv")

    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(response.text.splitlines()))
    expected = results["irregular-pulse-no-af"]
    assert list(rows[0]) == list(cf.ROW_COLUMNS)
    assert [int(r["person_id"]) for r in rows] == expected.rows["person_id"].to_pylist()
    assert [r["nhs_number"] for r in rows] == expected.rows["nhs_number"].to_pylist()


def test_unknown_and_unavailable_lists(client: TestClient) -> None:
    assert client.get("/case-finding/no-such-list").status_code == 404
    assert client.get("/case-finding/no-such-list.csv").status_code == 404
    assert client.get("/case-finding/high-gp-users?practice=NOPE").status_code == 404
    unavailable = client.get("/case-finding/top-risk-not-on-register")
    assert unavailable.status_code == 200
    assert "Not available yet" in unavailable.text and "risk model" in unavailable.text
    assert 'data-person="' not in unavailable.text
    assert client.get("/case-finding/top-risk-not-on-register.csv").status_code == 404


# --- restricting to practices, leaving people out, suppressing counts -------------------------


def test_a_list_restricted_to_practices_holds_only_their_people(
    small_store: PopulationStore, results: dict[str, cf.CaseFindingResult]
) -> None:
    whole = results["raised-bp-no-hypertension"]
    hood = whole.by_neighbourhood[0]
    mine = {p.code for p in whole.practices if p.neighbourhood_code == hood.code}
    mine = set(sorted(mine)[:1])  # one practice of the neighbourhood, not all of it
    (code,) = mine

    scoped = cf.run_list(small_store, whole.definition.id, within_practices=mine)

    expected = [r["person_id"] for r in whole.people() if r["practice_code"] == code]
    assert scoped.rows["person_id"].to_pylist() == expected
    assert [p.code for p in scoped.practices] == [code]
    assert [h.code for h in scoped.neighbourhoods] == [hood.code]
    practice = next(p for p in whole.practices if p.code == code)
    assert scoped.by_neighbourhood[0].found == practice.found
    assert scoped.registered == practice.registered
    other = next(p.code for p in whole.practices if p.code != code)
    with pytest.raises(cf.OrganisationOutOfScopeError):
        cf.run_list(small_store, whole.definition.id, within_practices=mine, practice=other)
    with pytest.raises(cf.UnknownOrganisationError):
        cf.run_list(small_store, whole.definition.id, within_practices=mine, practice="NOPE")
    # The small area has one neighbourhood: with no practices, even it is out of scope.
    nobody = cf.run_list(small_store, whole.definition.id, within_practices=())
    assert nobody.total == 0 and nobody.practices == () and nobody.registered == 0
    with pytest.raises(cf.OrganisationOutOfScopeError):
        cf.run_list(small_store, whole.definition.id, within_practices=(), neighbourhood=hood.code)


def test_people_left_out_leave_the_rows_and_the_registered_counts(
    small_store: PopulationStore, results: dict[str, cf.CaseFindingResult]
) -> None:
    whole = results["frailty-no-review"]
    people = whole.people()
    left_out = {people[0]["person_id"], people[-1]["person_id"], 10**9}  # one not in the area
    practice_of = {people[0]["practice_code"], people[-1]["practice_code"]}

    without = cf.run_list(small_store, whole.definition.id, excluding=left_out)

    assert without.total == whole.total - 2
    assert not left_out & set(without.rows["person_id"].to_pylist())
    assert without.registered == whole.registered - 2
    before = {p.code: p for p in whole.practices}
    for p in without.practices:
        gone = sum(1 for r in (people[0], people[-1]) if r["practice_code"] == p.code)
        assert p.found == before[p.code].found - gone
        assert p.registered == before[p.code].registered - gone
        assert (p.code in practice_of) == (gone > 0)


def test_a_published_result_suppresses_every_count(
    results: dict[str, cf.CaseFindingResult],
) -> None:
    raw = results["irregular-pulse-no-af"]
    shown = raw.published()

    assert shown.suppressed and not raw.suppressed
    assert shown.shown_total == suppress_count(raw.total)
    assert shown.shown_registered == suppress_count(raw.registered)
    for before, after in zip(raw.by_practice, shown.by_practice, strict=True):
        assert after.found == suppress_count(before.found)
        assert after.registered == suppress_count(before.registered)
    assert any(p.found is None for p in shown.by_practice)  # some 1-7 counts are withheld
    assert shown.rows.equals(raw.rows)  # rows untouched: the page pseudonymises them


def test_pseudonymised_rows_keep_only_allowed_columns(
    results: dict[str, cf.CaseFindingResult],
) -> None:
    from joinedup.governance.pseudonyms import pseudonyms

    result = results["raised-hba1c-no-diabetes"]
    key = b"k" * 32
    rows = cf.pseudonymised_rows(result.rows, key)
    assert rows.column_names == list(cf.PSEUDONYMISED_COLUMNS)
    assert "person_id" not in rows.column_names and "nhs_number" not in rows.column_names
    # The kept rows in the list's order; disclosure control may withhold people in small groups.
    kept = rows["pseudonym"].to_pylist()
    everyone = pseudonyms(key, result.rows["person_id"].to_pylist())
    assert kept == [n for n in everyone if n in set(kept)]
    assert rows.num_rows + cf.disclosed_rows(result.rows, key).withheld == result.rows.num_rows
    text = cf.csv_text(result, pseudonym_key=key)
    assert text.splitlines()[0] == ",".join(cf.PSEUDONYMISED_COLUMNS)
    assert not any(n in text for n in result.rows["nhs_number"].to_pylist())


def test_nhs_numbers_are_shown_in_groups_of_3_3_4() -> None:
    assert cf.format_nhs_number("9434765919") == "943 476 5919"
    assert cf.format_nhs_number("943 476 5919") == "943 476 5919"
