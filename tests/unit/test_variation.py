"""Practice variation: standardisation by hand, indicators on the small area cross-checked with
an independent computation, peer groups, RAG, suppression and objectors, and the pages."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from joinedup.analytics import continuity as ct
from joinedup.analytics import funnel as fp
from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.person_summary import TABLES as SUMMARY_TABLES
from joinedup.analytics.person_summary import person_summary
from joinedup.analytics.variation import kept
from joinedup.analytics.variation import matrix as vm
from joinedup.analytics.variation.indicators import BY_ID, INDICATORS
from joinedup.analytics.variation.kept import load_people
from joinedup.analytics.variation.people import STANDARDISED, indicator_cells
from joinedup.analytics.variation.standardisation import expected_counts, imd_quintile
from joinedup.governance.suppression import suppress_count, suppressed_share
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated

# --- indirect standardisation by hand ----------------------------------------------------------


def test_expected_counts_match_a_hand_calculation() -> None:
    # Two strata. Area rates: young 2 events / 10 people = 0.2; old 6 / 4 = 1.5.
    rows = []
    rows += [("A", "young", 1)] * 2 + [("A", "young", 0)] * 6  # A: 8 young, 2 events
    rows += [("A", "old", 3), ("A", "old", 0)]  # A: 2 old, 3 events
    rows += [("B", "young", 0)] * 2  # B: 2 young, 0 events
    rows += [("B", "old", 1), ("B", "old", 2)]  # B: 2 old, 3 events
    people = pd.DataFrame(rows, columns=["practice_code", "band", "events"])
    found = expected_counts(people, "events", strata=["band"]).set_index("practice_code")
    # A expected = 0.2 * 8 + 1.5 * 2 = 4.6; B expected = 0.2 * 2 + 1.5 * 2 = 3.4.
    assert found.loc["A", "expected"] == pytest.approx(4.6)
    assert found.loc["B", "expected"] == pytest.approx(3.4)
    assert found.loc["A", "observed"] == 5 and found.loc["B", "observed"] == 3
    assert found.loc["A", "people"] == 10 and found.loc["B", "people"] == 4
    # Indirect standardisation: the area's observed total equals its expected total.
    assert found["observed"].sum() == pytest.approx(found["expected"].sum())


def test_a_practice_with_older_people_is_expected_to_have_more() -> None:
    # Same rates within each age band in both practices: both ratios are exactly 1, though
    # the crude rates differ four-fold.
    young = [("A", 20, "F", 1, 0)] * 90 + [("A", 20, "F", 1, 1)] * 10
    old = [("B", 80, "F", 1, 0)] * 60 + [("B", 80, "F", 1, 1)] * 40
    more = [("A", 80, "F", 1, 0)] * 6 + [("A", 80, "F", 1, 1)] * 4
    people = pd.DataFrame(
        young + old + more, columns=["practice_code", "age_band", "sex", "imd_quintile", "e"]
    )
    found = expected_counts(people, "e").set_index("practice_code")
    ratio = found["observed"] / found["expected"]
    assert ratio.tolist() == pytest.approx([1.0, 1.0])


def test_imd_quintiles_pair_the_deciles() -> None:
    deciles = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None])
    assert imd_quintile(deciles).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0]


# --- RAG and peers -----------------------------------------------------------------------------


def test_rag_depends_on_the_indicator_direction() -> None:
    admissions, prevalence, frailty = (
        BY_ID["emergency_admissions"],
        BY_ID["diabetes"],
        BY_ID["frailty"],
    )
    assert vm.rag(admissions, 1, 1).status == "red"
    assert vm.rag(admissions, 1, 0).status == "amber"
    assert vm.rag(admissions, -1, 0).status == "favourable"
    assert vm.rag(admissions, 0, 0).status == "within"
    assert vm.rag(prevalence, -1, -1).status == "red"  # fewer recorded than expected
    assert vm.rag(prevalence, 1, 1).status == "favourable"
    assert vm.rag(frailty, 1, 1).status == "higher"  # need, not performance
    assert vm.rag(admissions, 1, 1, withheld=True).status == "none"


def _practice(code: str, hood: str, quintile: int | None, size: int) -> vm.PracticeInfo:
    return vm.PracticeInfo(code, f"Practice {code}", hood, f"Hood {hood}", quintile, size)


def test_peer_groups_by_neighbourhood_deprivation_and_list_size() -> None:
    practices = [
        _practice("P1", "N1", 1, 10_000),
        _practice("P2", "N1", 3, 12_500),  # exactly +25%: similar
        _practice("P3", "N2", 1, 7_400),  # -26%: not similar
        _practice("P4", "N2", 1, 7_500),  # -25%: similar
        _practice("P5", "", None, 10_000),
    ]
    groups = {g.id: g.members for g in vm.peer_groups(practices, "P1")}
    assert groups == {
        "neighbourhood": ("P2",),
        "deprivation": ("P3", "P4"),
        "list_size": ("P2", "P4", "P5"),
    }
    # A practice with no neighbourhood or quintile has no peers on those grounds.
    lone = {g.id: g.members for g in vm.peer_groups(practices, "P5")}
    assert lone["neighbourhood"] == () and lone["deprivation"] == ()


def test_peer_values_pool_the_peers_published_counts() -> None:
    ind = BY_ID["emergency_admissions"]
    figures = {
        "P1": vm.Figure("P1", 1000, 50, 40.0, 1.25),
        "P2": vm.Figure("P2", 1000, 20, 30.0, 20 / 30),
        "P3": vm.Figure("P3", 1000, 30, 10.0, 3.0),
    }
    result = vm.IndicatorResult(ind, figures, 1.0, None, "none", None, None, None)
    group = vm.PeerGroup("neighbourhood", "Same", ("P2", "P3"))
    found = vm.compare_with_peers(result, "P1", group)
    assert found.value == pytest.approx((20 + 30) / (30.0 + 10.0))
    assert (found.rank, found.of) == (2, 3)


# --- the small area ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def as_of(small_store: PopulationStore) -> dt.date:
    return vm.extract_date(small_store)


@pytest.fixture(scope="module")
def people(small_store: PopulationStore, as_of: dt.date) -> pd.DataFrame:
    return load_people(small_store, as_of)


@pytest.fixture(scope="module")
def variation(small_store: PopulationStore) -> vm.YearVariation:
    return vm.year_variation(small_store, objectors=frozenset())


def test_indicator_people_agree_with_the_stratification_person_summary(
    small_store: PopulationStore, people: pd.DataFrame, as_of: dt.date
) -> None:
    con = connect("duckdb")
    try:
        summary = con.to_pyarrow(
            person_summary(read_store(con, small_store, list(SUMMARY_TABLES)), as_of)
        ).to_pandas()
    finally:
        con.disconnect()
    mine = people.set_index("person_id").sort_index()
    theirs = summary.set_index("person_id").sort_index()
    assert mine.index.equals(theirs.index)
    pairs = {
        "practice_code": "practice_code",
        "emergency_admissions": "emergency_admissions_12m",
        "ae_attendances": "ae_attendances_12m",
        "hypertension": "hypertension",
        "diabetes": "diabetes",
        "atrial_fibrillation": "atrial_fibrillation",
        "copd": "copd",
        "ltc_count": "ltc_count",
        "polypharmacy_10": "polypharmacy_10",
        "efi_category": "efi_category",
    }
    for mine_col, their_col in pairs.items():
        left = mine[mine_col].astype(theirs[their_col].dtype)
        assert (left == theirs[their_col]).all(), mine_col


def test_activity_counts_match_an_independent_duckdb_query(
    small_store: PopulationStore, people: pd.DataFrame, as_of: dt.date
) -> None:
    start = as_of - dt.timedelta(days=365)
    db = duckdb.connect()
    for table in ("hospital_spells", "outpatient_appointments"):
        db.execute(
            f"create view {table} as select * from read_parquet('{small_store.path(table)}')"
        )
    spells = db.execute(
        "select person_id, count(*) as n from hospital_spells where admission_method = "
        "'emergency' and admission_date > ? and admission_date <= ? group by person_id",
        [start, as_of],
    ).df()
    first = db.execute(
        "select person_id, count(*) as n from outpatient_appointments where first_attendance "
        "and attended and appointment_date > ? and appointment_date <= ? group by person_id",
        [start, as_of],
    ).df()
    for name, expected in (("emergency_admissions", spells), ("outpatient_first", first)):
        merged = people[["person_id", name]].merge(expected, on="person_id", how="left")
        assert (merged[name] == merged["n"].fillna(0).astype(int)).all(), name
        assert merged[name].sum() > 0, name


def test_standardised_figures_on_the_small_area_match_pandas(
    variation: vm.YearVariation, people: pd.DataFrame
) -> None:
    # Independent: the same method written out with pandas group-bys, 5-year-free.
    p = people.assign(
        band=np.minimum(people["age"], 90) // 10,
        q=(people["imd_decile"] + 1) // 2,
    )
    cells = p.groupby(["band", "sex", "q"])["emergency_admissions"].agg(["sum", "size"])
    rate = (cells["sum"] / cells["size"]).rename("rate")
    p = p.join(rate, on=["band", "sex", "q"])
    expected = p.groupby("practice_code")["rate"].sum()
    observed = p.groupby("practice_code")["emergency_admissions"].sum()
    result = variation.results["emergency_admissions"]
    for code, figure in result.figures.items():
        assert figure.expected == pytest.approx(expected[code])
        assert figure.observed == suppress_count(int(observed[code]))
        assert figure.value == pytest.approx(figure.observed / expected[code])
        assert figure.people == suppress_count(int((p.practice_code == code).sum()))


def test_every_shown_count_is_suppressed_and_positions_come_from_published_counts(
    variation: vm.YearVariation,
) -> None:
    for ind in INDICATORS:
        result = variation.results[ind.id]
        for figure in result.figures.values():
            for count in (figure.people, figure.observed):
                assert count is None or count % 5 == 0, (ind.id, count)
        if ind.kind != "ratio":
            continue
        codes = list(result.figures)
        usable = [c for c in codes if result.figures[c].observed is not None]
        direct = fp.funnel(
            [result.figures[c].observed for c in usable],
            [result.figures[c].expected for c in usable],
            kind="ratio",
        )
        assert [result.figures[c].flag95 for c in usable] == direct.flag95.tolist(), ind.id


def test_objectors_are_left_out_of_every_count(
    small_store: PopulationStore, variation: vm.YearVariation, people: pd.DataFrame
) -> None:
    practice = variation.practices[0].code
    admitted = people[(people.practice_code == practice) & (people.emergency_admissions > 0)]
    objectors = frozenset(int(p) for p in admitted.person_id)
    without = vm.year_variation(small_store, objectors=objectors)
    assert without.results["emergency_admissions"].figures[practice].observed == 0
    registered = int((people.practice_code == practice).sum())
    assert without.practice(practice).list_size == registered - len(objectors)  # type: ignore[union-attr]
    assert (
        vm.people_behind(small_store, practice, "emergency_admissions", excluding=objectors) == []
    )


def test_the_people_behind_a_count_are_those_counted(
    small_store: PopulationStore, people: pd.DataFrame
) -> None:
    practice = str(people.practice_code.iloc[0])
    found = vm.people_behind(small_store, practice, "frailty")
    expected = people[
        (people.practice_code == practice)
        & (people.age >= 65)
        & people.efi_category.isin(["moderate", "severe"])
    ]
    assert {p.person_id for p in found} == set(expected.person_id)
    assert all(p.age >= 65 for p in found)
    with pytest.raises(ValueError):
        vm.people_behind(small_store, practice, "slicc")


def test_standardising_cells_less_objectors_equals_standardising_their_rows(
    people: pd.DataFrame,
) -> None:
    # The fast path (the area's cells, less the objectors' cells, every indicator in one pass)
    # against the per-practice method on person rows with objectors dropped: exactly equal,
    # floating-point rounding included, for several sets of objectors.
    everyone = indicator_cells(people)
    for step in (1_000_000, 7, 9, 11, 13):
        objectors = set(people.person_id.iloc[::step])
        kept_in = people[~people.person_id.isin(objectors)]
        left_out = people[people.person_id.isin(objectors)]
        tables = vm.standardised_tables(vm.cells_without(everyone, left_out))
        for ind in STANDARDISED:
            counted = kept_in if ind.among is None else kept_in[kept_in[ind.among] == 1]
            old = expected_counts(counted, ind.events).set_index("practice_code")
            pd.testing.assert_frame_equal(tables[ind.id], old, check_exact=True, obj=ind.id)


def test_year_variation_with_objectors_equals_the_per_person_computation(
    small_store: PopulationStore, people: pd.DataFrame, as_of: dt.date
) -> None:
    objectors = frozenset(int(p) for p in people.person_id.iloc[::11])
    found = vm.year_variation(small_store, objectors=objectors)
    kept_in = people[~people.person_id.isin(objectors)]
    sizes = kept_in.groupby("practice_code").size()
    assert {p.code: p.list_size for p in found.practices} == {
        p.code: int(sizes.get(p.code, 0)) for p in found.practices
    }
    for ind in STANDARDISED:
        counted = kept_in if ind.among is None else kept_in[kept_in[ind.among] == 1]
        old = expected_counts(counted, ind.events).set_index("practice_code")
        for code, figure in found.results[ind.id].figures.items():
            assert figure.expected == old.loc[code, "expected"], (ind.id, code)
            assert figure.observed == suppress_count(int(old.loc[code, "observed"]))
    # Continuity: objectors out of the kept per-patient rows = objectors out of appointments.
    con = connect("duckdb")
    try:
        appointments = read_store(con, small_store, ["gp_appointments"])["gp_appointments"]
        direct = con.to_pyarrow(
            ct.practice_continuity_table(ct.without(appointments, objectors), as_of)
        ).to_pylist()
    finally:
        con.disconnect()
    fast = {c.practice_code: c for c in ct.practice_continuity(small_store, as_of=as_of)}
    assert set(fast) >= {r["practice_code"] for r in direct}
    for row in direct:
        figure = found.results["slicc"].figures[row["practice_code"]]
        assert figure.observed == suppress_count(row["slicc_with_usual_gp"])
        upc = found.results["upc"].figures[row["practice_code"]]
        assert upc.people == suppress_count(row["patients"])
        assert upc.observed == suppress_count(row["patients_high_upc"])
        if upc.value is not None:
            assert upc.value == suppressed_share(row["patients_high_upc"], row["patients"])


def test_inputs_are_kept_per_store_version_and_read_back_unchanged(
    small_store: PopulationStore, as_of: dt.date
) -> None:
    first = vm.year_variation(small_store, objectors=frozenset({1, 2, 3}))
    folder = kept.folder(small_store)
    names = {p.name for p in folder.iterdir()}
    assert {f"people_{as_of}.parquet", f"cells_{as_of}.parquet"} <= names
    assert any(n.startswith(f"figures_{as_of}_") for n in names)
    vm._CACHE.clear()  # a restart: figures read back from disk
    vm._INPUTS.clear()
    again = vm.year_variation(small_store, objectors=frozenset({1, 2, 3}))
    assert again.practices == first.practices
    for ind in INDICATORS:
        assert again.results[ind.id].figures == first.results[ind.id].figures, ind.id
    # Another set of objectors: worked out again, its own figures file replaces the old one.
    vm.year_variation(small_store, objectors=frozenset({4}))
    assert len(list(folder.glob(f"figures_{as_of}_*.json"))) == 1


def test_the_fingerprint_changes_with_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = PopulationStore(tmp_path / "population")
    store.write_metadata({"extract_date": "2026-03-31"})
    before = kept.fingerprint(store)
    store.write_metadata({"extract_date": "2026-03-31", "loaded": 2})
    assert kept.fingerprint(store) != before


def test_year_ends_cover_the_years_of_data(small_store: PopulationStore, as_of: dt.date) -> None:
    ends = vm.year_ends(small_store)
    assert ends[0] == as_of and len(ends) == 5
    assert ends[-1] == dt.date(as_of.year - 4, as_of.month, as_of.day)


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database = tmp_path_factory.mktemp("variation") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    migrated(settings.database_url)
    return settings


def test_matrix_page_shows_every_practice_and_domain(
    area: Settings, variation: vm.YearVariation
) -> None:
    page = TestClient(signed_in_app(area, "commissioner")).get("/commissioning/practices")
    assert page.status_code == 200
    for p in variation.practices:
        assert f'data-practice="{p.code}"' in page.text
    for ind in INDICATORS:
        assert f'data-indicator="{ind.id}"' in page.text
    assert 'id="download-csv"' in page.text


def test_matrix_is_one_heat_map_of_ratios_to_the_area_with_the_figures_behind_it(
    area: Settings, variation: vm.YearVariation
) -> None:
    """Issue 13: the matrix was a 17,800 px wall of tables. It is one table, a practice per
    row and an indicator per column, each cell its ratio to the area (worked out here again
    from the published counts), tinted by band, with the number and words as well as colour;
    the domain tables are behind it, folded."""
    from joinedup.web.practice_heatmap import BANDS
    from tests.html_support import html_table

    page = TestClient(signed_in_app(area, "commissioner")).get("/commissioning/practices")
    table = html_table(page.text, "heat-map")
    rows = {r.data("heat-practice"): r for r in table.body_rows if r.data("heat-practice")}
    assert list(rows) == [p.code for p in variation.practices]
    order = [b.id for b in BANDS]
    seen: list[tuple[float, int]] = []
    for code, row in rows.items():
        cells = {c.data("heat"): c for c in row.cells if c.data("heat")}
        assert set(cells) == {ind.id for ind in INDICATORS}
        for ind in INDICATORS:
            cell, result = cells[ind.id], variation.results[ind.id]
            f = result.figures[code]
            if f.value is None:
                assert cell.data("ratio") == "" and cell.data("band") == "withheld"
                continue
            if ind.kind == "ratio":
                expected = f.observed / f.expected
            else:
                usable = [g for g in result.figures.values() if g.observed is not None and g.people]
                pooled = sum(g.observed for g in usable) / sum(g.people for g in usable)
                expected = (f.observed / f.people) / pooled
            ratio = float(cell.data("ratio") or "nan")
            assert ratio == pytest.approx(expected, abs=1e-4), (code, ind.id)
            assert f"{expected:.2f}" in cell.text and "times the area" in cell.text
            seen.append((ratio, order.index(cell.data("band") or "")))
            if 0.95 <= ratio <= 1.05:
                assert cell.data("band") == "level"
    assert [b for _, b in sorted(seen)] == sorted(b for _, b in seen)  # darker further out
    assert len({b for _, b in seen}) > 1
    folded = page.text.index('id="figures-behind"')
    assert all(folded < page.text.index(f'id="matrix-{d.id}"') for d in vm.DOMAINS)


def test_the_upc_funnel_draws_a_funnel_and_shows_every_practices_share(
    area: Settings, variation: vm.YearVariation
) -> None:
    """Issue 13: the UPC "funnel plot" page had no funnel and withheld every practice's value.
    High continuity is a share of people, so it has binomial limits and published counts."""
    from tests.html_support import html_table

    page = TestClient(signed_in_app(area, "commissioner")).get(
        "/commissioning/practices/funnel/upc"
    )
    assert page.status_code == 200
    assert 'id="funnel-chart"' in page.text and 'id="no-funnel"' not in page.text
    rows = html_table(page.text, "funnel-table").body_rows
    shown = [r for r in rows if r.data("practice")]
    assert len(shown) == len(variation.practices)
    for row in shown:
        f = variation.results["upc"].figures[row.data("practice") or ""]
        if f.value is not None:
            assert row.cells[3].text == f"{100 * f.value:.1f}%"
            assert row.cells[2].text == f"{f.observed:,}"
    assert any(variation.results["upc"].figures[r.data("practice") or ""].value for r in shown)


def test_matrix_csv_is_for_exporters_and_holds_every_cell(
    area: Settings, variation: vm.YearVariation
) -> None:
    gp = TestClient(signed_in_app(area, "gp")).get("/commissioning/practices")
    assert gp.status_code == 200 and 'id="download-csv"' not in gp.text
    assert (
        TestClient(signed_in_app(area, "gp")).get("/commissioning/practices.csv").status_code == 403
    )
    body = TestClient(signed_in_app(area, "analyst")).get("/commissioning/practices.csv").text
    lines = body.strip().splitlines()
    assert len(lines) == 1 + len(variation.practices) * len(INDICATORS)


def test_funnel_page_has_a_chart_a_text_alternative_and_the_data(area: Settings) -> None:
    client = TestClient(signed_in_app(area, "commissioner"))
    page = client.get("/commissioning/practices/funnel/hypertension?adjustment=additive")
    assert page.status_code == 200
    assert 'role="img"' in page.text and '<desc id="funnel-desc">' in page.text
    assert 'id="funnel-table"' in page.text and "Download data" in page.text
    data = client.get("/commissioning/practices/funnel/hypertension.csv")
    assert data.status_code == 200 and data.text.startswith("practice_code,")
    assert client.get("/commissioning/practices/funnel/nothing").status_code == 404
    assert client.get("/commissioning/practices?adjustment=wild").status_code == 404


def test_practice_page_shows_peers_and_trend(area: Settings, variation: vm.YearVariation) -> None:
    code = variation.practices[0].code
    page = TestClient(signed_in_app(area, "commissioner")).get(f"/commissioning/practices/{code}")
    assert page.status_code == 200
    assert 'data-peer-group="neighbourhood"' in page.text
    assert page.text.count('data-trend="') == len(INDICATORS)
    assert (
        TestClient(signed_in_app(area, "commissioner"))
        .get("/commissioning/practices/NOSUCH")
        .status_code
        == 404
    )
