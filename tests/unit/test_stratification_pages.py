"""The segments-and-cost and model-card pages, checked against the stored run and model.

Figures on the segments page are compared with an independent pandas computation from the
run's person_results.parquet (not with the run's own summaries); the model card page with
the saved card. The session's small area is copied first, so the run and the model made here
stay out of its home (other tests count the runs and models there).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from joinedup.analytics.risk.card import ModelCard
from joinedup.analytics.risk.registry import load_model
from joinedup.analytics.segmentation import Comparison, builtin_scheme
from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.settings import Settings
from joinedup.web.formatting import uk_datetime
from joinedup.web.stratification import comparison_words
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated
from tests.html_support import html_table, page_text

SCHEMES = ("frailty_four_group", "bridges_to_health")
PAGES = ("/population/segments", "/population/model-card")


@pytest.fixture(scope="module")
def analysed(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's scored area (a run and a trained model) with a care store of its own."""
    database = tmp_path_factory.mktemp("stratified") / "care.db"
    settings = Settings(home=scored_area.home, database_url=f"sqlite:///{database}")
    migrated(settings.database_url)  # aggregate pages read the objections
    return settings


@pytest.fixture(scope="module")
def run(analysed: Settings) -> StratificationRun:
    found = latest_run(analysed)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def card(analysed: Settings) -> ModelCard:
    return load_model(analysed).card


@pytest.fixture(scope="module")
def client(analysed: Settings) -> TestClient:
    return TestClient(signed_in_app(analysed))


@pytest.fixture(scope="module")
def empty_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    home = tmp_path_factory.mktemp("nothing-run")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'c.db'}")
    migrated(settings.database_url)
    return TestClient(signed_in_app(settings))


@pytest.fixture(scope="module")
def segments_html(client: TestClient) -> str:
    response = client.get("/population/segments")
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def card_html(client: TestClient) -> str:
    response = client.get("/population/model-card")
    assert response.status_code == 200
    return response.text


def _table(page: str, table_id: str) -> dict[str, dict[str, str]]:
    """Rows of the table `table_id` by their data key, each cell by its data-figure or data-top."""
    return html_table(page, table_id).keyed(
        ("segment", "key", "decile", "group", "scorer"), ("figure", "top")
    )


def _pounds(text: str) -> float:
    assert text.startswith("£"), text
    return float(text[1:].replace(",", ""))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _shown(count: int) -> int | None:
    """Small-number suppression, written out again: 0; 1-7 withheld; else nearest 5."""
    return 0 if count == 0 else None if count < 8 else 5 * math.floor(count / 5 + 0.5)


def _count_text(count: int) -> str:
    shown = _shown(count)
    return "withheld" if shown is None else f"{shown:,}"


# --- segments and cost -------------------------------------------------------------------------


def test_segment_figures_equal_the_runs_person_results(
    segments_html: str, run: StratificationRun
) -> None:
    people = pd.read_parquet(run.path / "person_results.parquet")
    total_people, total_cost = len(people), people["cost_12m"].sum()
    for scheme_id in SCHEMES:
        rows = _table(segments_html, f"segments-{scheme_id}")
        scheme = builtin_scheme(scheme_id)
        assert list(rows) == [s.id for s in scheme.segments]  # every segment, in rule order
        for segment in scheme.segments:
            mine = people[people[scheme_id] == segment.id]
            row = rows[segment.id]
            assert row["people"] == _count_text(len(mine))
            if 0 < len(mine) < 8:
                assert row["people_share"] == row["total_cost"] == row["cost_share"] == "withheld"
                continue
            shown_total = _shown(total_people)
            assert shown_total
            assert row["people_share"] == _pct((_shown(len(mine)) or 0) / shown_total)
            # Whole pounds of the same sum, added in another order: a total that ends in
            # 50p may round either way, so the shown pounds are within 50p (and a float's width).
            assert abs(_pounds(row["total_cost"]) - mine["cost_12m"].sum()) <= 0.5 + 1e-6
            assert row["cost_share"] == _pct(mine["cost_12m"].sum() / total_cost)


def test_each_segment_shows_its_description_and_rule_from_the_yaml(segments_html: str) -> None:
    page = page_text(segments_html)
    for scheme_id in SCHEMES:
        scheme = builtin_scheme(scheme_id)
        assert scheme.name in page
        for segment in scheme.segments:
            assert " ".join(segment.description.split()) in page
    assert "among the 1% of people who cost most" in page
    assert "2 or more emergency admissions in the last 12 months" in page
    assert "everyone not in an earlier segment" in page


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (Comparison("age", ">=", 65), "aged 65 or more"),
        (Comparison("age", "<", 1), "under 1 year old"),
        (Comparison("care_home", "==", True), "lives in a care home"),
        (Comparison("dementia", "==", False), "not dementia recorded"),
        (Comparison("efi_category", "==", "severe"), "eFI frailty category is severe"),
        (
            Comparison("efi_category", "in", ["moderate", "severe"]),
            "eFI frailty category is moderate or severe",
        ),
        (Comparison("ltc_count", ">=", 2), "2 or more long-term conditions"),
        (Comparison("cost_top_percent", "<", 1), "among the 1% of people who cost most"),
    ],
)
def test_conditions_read_as_words(condition: Comparison, words: str) -> None:
    assert comparison_words(condition) == words


def test_the_run_is_named_with_its_date_engine_and_time(
    segments_html: str, run: StratificationRun
) -> None:
    page = page_text(segments_html)
    assert run.run_id in page
    assert "Index date 31 March 2026" in page  # the small area's extract date
    assert "Engine DuckDB" in page
    created = dt.datetime.fromisoformat(run.created_at)  # e.g. 2026-11-23T12:44:19+00:00
    assert uk_datetime(created) in page  # on UK clocks (GMT or BST), not UTC


def _top_share(costs: pd.Series, pct: int) -> float:
    ranked = costs.sort_values(ascending=False)
    return float(ranked.iloc[: math.ceil(len(ranked) * pct / 100)].sum() / ranked.sum())


def test_cost_concentration_equals_an_independent_ranking(
    segments_html: str, run: StratificationRun
) -> None:
    people = pd.read_parquet(run.path / "person_results.parquet")
    for pct in (1, 2, 5, 10):
        card = re.search(
            rf'<li[^>]*data-top="{pct}".*?data-figure="share">([^<]+)<', segments_html, re.S
        )
        assert card and card.group(1) == _pct(_top_share(people["cost_12m"], pct))

    practices = _table(segments_html, "pareto-practices")
    assert set(practices) == set(people["practice_code"])
    for code, group in people.groupby("practice_code"):
        row = practices[str(code)]
        assert row["people"] == _count_text(len(group))
        for pct in (1, 2, 5, 10):
            assert row[str(pct)] == _pct(_top_share(group["cost_12m"], pct))

    hoods = _table(segments_html, "pareto-neighbourhoods")
    assert set(hoods) == set(people["neighbourhood_code"].fillna("NO_NEIGHBOURHOOD"))
    for code, group in people.groupby("neighbourhood_code"):
        assert hoods[str(code)]["10"] == _pct(_top_share(group["cost_12m"], 10))


def test_practice_and_neighbourhood_rows_are_named(segments_html: str, analysed: Settings) -> None:
    organisations = pd.read_parquet(analysed.population_dir / "organisations.parquet")
    page = page_text(segments_html)
    for code in _table(segments_html, "pareto-practices"):
        name = organisations.loc[organisations["org_code"] == code, "name"].iloc[0]
        assert name in page


def test_without_a_run_the_page_says_how_to_make_one(empty_client: TestClient) -> None:
    response = empty_client.get("/population/segments")
    assert response.status_code == 200
    assert 'id="no-run"' in response.text
    assert "joinedup stratify" in response.text


# --- the model card ----------------------------------------------------------------------------


def test_the_model_card_shows_the_saved_card(card_html: str, card: ModelCard) -> None:
    page = page_text(card_html)
    assert card.model_id in page
    assert card.outcome in page
    deciles = _table(card_html, "calibration-table")
    assert len(deciles) == len(card.model.calibration_table) == 10
    for row in card.model.calibration_table:
        shown = deciles[str(int(row["bin"]))]
        assert shown["n"] == _count_text(int(row["n"]))
        assert shown["mean_predicted"] == _pct(row["mean_predicted"])
        assert shown["observed"] == _pct(row["observed"])
    performance = _table(card_html, "performance-table")
    for key in ("model", "baseline", "rule"):
        perf = getattr(card, key)
        assert performance[key]["auroc"].startswith(f"{perf.auroc:.3f} (")
    for group, rows in card.equity.items():
        shown = _table(card_html, f"equity-{group}")
        assert [shown[r.group]["n"] for r in rows] == [_count_text(r.n) for r in rows]
    windows = re.search(r'<table[^>]*id="windows-table".*?</table>', card_html, re.S)
    assert windows
    for key, size in (("training", card.training_size), ("evaluation", card.evaluation_size)):
        row = re.search(rf'data-key="{key}".*?</tr>', windows.group(0), re.S)
        assert row and f">{_count_text(size)}<" in row.group(0), key
    assert "Counts of 1 to 7 are withheld" in page
    for limit in card.known_limits:
        assert limit in page
    assert "31 March 2024" in page and "1 April 2025 to 31 March 2026" in page  # the windows


def test_without_a_model_the_page_says_how_to_train_one(empty_client: TestClient) -> None:
    response = empty_client.get("/population/model-card")
    assert response.status_code == 200
    assert 'id="no-model"' in response.text
    assert "joinedup model train" in response.text


# --- every page --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("which", ["analysed", "empty"])
def test_pages_are_in_the_population_area_with_no_inline_script_or_style(
    client: TestClient, empty_client: TestClient, path: str, which: str
) -> None:
    response = (client if which == "analysed" else empty_client).get(path)
    page = response.text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert " src=" in tag, tag
    assert all(not b.strip() for b in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S))
    assert " style=" not in page and "<style" not in page
    current = re.search(
        r'<a class="nhsuk-header__navigation-link" href="([^"]*)" aria-current', page
    )
    assert current and current.group(1) == "/"  # the header marks Population
    nav = re.search(r'<nav[^>]*id="population-pages".*?</nav>', page, re.S)
    assert nav and 'href="/"' in nav.group(0)
    assert nav.group(0).count('aria-current="page"') == 1
    other = next(p for p in PAGES if p != path)
    assert f'href="{other}"' in nav.group(0)
