"""The web app in-process: pages, the JSON API, errors, health and the vendored assets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from joinedup.governance.aggregates import aggregate_overview
from joinedup.population.contracts import CONTRACTS
from joinedup.population.overview import PopulationOverview
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.navigation import AREAS, Area, built_areas, route_paths, visible_areas
from tests.auth_support import principal, signed_in_app
from tests.carestore_support import migrated
from tests.html_support import html_table, html_tables, page_row

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "joinedup" / "web" / "static" / "vendor"


def migrated_care_store(folder: Path) -> str:
    """The URL of a new SQLite care store in `folder`, migrated (aggregates read objections)."""
    url = f"sqlite:///{folder / 'care.db'}"
    migrated(url)
    return url


@pytest.fixture(scope="module")
def client(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    url = migrated_care_store(tmp_path_factory.mktemp("web-care"))
    return TestClient(signed_in_app(Settings(home=small_area.home, database_url=url)))


@pytest.fixture
def empty_client(tmp_path: Path) -> TestClient:
    """An app whose population store has not been generated."""
    settings = Settings(home=tmp_path, database_url=migrated_care_store(tmp_path))
    return TestClient(signed_in_app(settings))


def shown(store: PopulationStore, neighbourhood: str | None = None) -> PopulationOverview:
    """The overview as the pages show it (no objections recorded): counts suppressed."""
    return aggregate_overview(store, neighbourhood, frozenset())


def fmt(count: int | None) -> str:
    return "withheld" if count is None else f"{count:,}"


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


# The population overview ------------------------------------------------------------------


def test_the_overview_page_shows_the_area(client: TestClient, small_store: PopulationStore) -> None:
    expected = shown(small_store)
    metadata = small_store.metadata()

    response = client.get("/")

    assert response.status_code == 200
    html = response.text
    assert '<h1 class="nhsuk-heading-xl">Population overview</h1>' in html
    assert str(escape(expected.area_name)) in html
    assert f'data-figure="total">{fmt(expected.total or 0)}<' in html
    day = expected.extract_date
    assert f"{day.day} {day:%B %Y}" in html
    assert metadata["synthetic"] is True
    assert f"This is a synthetic area, generated with seed {metadata['seed']}." in html
    for practice in expected.by_practice:
        row = html_table(html, "practice-table").row("key", practice.key).html
        assert str(escape(practice.label)) in row
        assert fmt(practice.count) in row


def test_page_and_api_show_the_same_figures(
    client: TestClient, small_store: PopulationStore
) -> None:
    api = client.get("/api/population/overview").json()
    html = client.get("/").text

    assert api == json.loads(shown(small_store).model_dump_json())
    assert api["total"] % 5 == 0 and api["objectors_left_out"] == 0
    assert f'data-figure="total">{fmt(api["total"])}<' in html
    assert f'data-figure="practices">{len(api["by_practice"])}<' in html
    for name, table_id in [
        ("by_age_band", "chart-age"),
        ("by_sex", "chart-sex"),
        ("by_imd_decile", "chart-imd"),
    ]:
        # Each chart's table, found by the chart's title (the table's caption).
        caption = re.search(rf'<title id="{table_id}-title">([^<]+)</title>', html)
        assert caption, table_id
        table = html_table(html, caption=caption.group(1))
        for row in api[name]:
            cells = table.row("key", row["key"]).html
            assert f">{fmt(row['count'])}<" in cells, (name, row)
    hoods = html_table(html, "neighbourhood-table")
    for row in api["by_neighbourhood"]:
        assert f"{fmt(row['count'])}<" in hoods.row("key", row["key"]).html


def test_the_charts_describe_themselves(client: TestClient) -> None:
    html = client.get("/").text

    charts = re.findall(r'<svg class="joinedup-chart"[^>]*>', html)
    assert len(charts) == 3
    for chart in charts:
        assert 'role="img"' in chart
        ids = re.search(r'aria-labelledby="([^"]+)"', chart)
        assert ids
        for part in ids.group(1).split():
            assert f'id="{part}"' in html
    assert "The largest group is" in html


def test_the_neighbourhood_filter_works_as_a_plain_link(
    client: TestClient, small_store: PopulationStore
) -> None:
    area = shown(small_store)
    hood = area.neighbourhoods[0]
    expected = shown(small_store, hood.code)

    page = client.get("/").text
    link = f'href="/?neighbourhood={hood.code}"'
    assert link in page  # from the neighbourhood table, usable without JavaScript

    response = client.get(f"/?neighbourhood={hood.code}")

    assert response.status_code == 200
    assert response.text.startswith("<!DOCTYPE html>")
    assert f'data-figure="total">{fmt(expected.total or 0)}<' in response.text
    assert f'<option value="{hood.code}" selected>' in response.text
    assert f"Population overview: {escape(hood.name)}" in response.text


def test_the_filter_form_is_an_ordinary_get_form(client: TestClient) -> None:
    html = client.get("/").text

    form = re.search(r'<form class="joinedup-filter"[^>]*>', html)
    assert form and 'method="get"' in form.group(0) and 'action="/"' in form.group(0)
    assert 'name="neighbourhood"' in html
    assert (
        '<button class="nhsuk-button nhsuk-button--secondary nhsuk-button--small" type="submit">'
        in html
    )
    whole_area = client.get("/?neighbourhood=")  # "Whole area" submits an empty value
    assert whole_area.status_code == 200
    assert '<option value="" selected>Whole area</option>' in whole_area.text


def test_htmx_gets_only_the_part_that_changes(
    client: TestClient, small_store: PopulationStore
) -> None:
    hood = shown(small_store).neighbourhoods[-1]
    expected = shown(small_store, hood.code)

    response = client.get(f"/?neighbourhood={hood.code}", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text and "nhsuk-header" not in response.text
    assert '<div id="overview"' in response.text
    assert f'data-figure="total">{fmt(expected.total or 0)}<' in response.text
    assert response.headers["HX-Push-Url"] == f"/?neighbourhood={hood.code}"
    assert "HX-Request" in response.headers["Vary"]
    assert 'hx-swap-oob="innerHTML"' in response.text  # the status message for screen readers

    restore = client.get(
        f"/?neighbourhood={hood.code}",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert restore.text.startswith("<!DOCTYPE html>")


def test_an_unknown_neighbourhood_is_not_found(client: TestClient) -> None:
    page = client.get("/?neighbourhood=NOPE")
    api = client.get("/api/population/overview?neighbourhood=NOPE")

    assert page.status_code == 404
    assert "Neighbourhood not found" in page.text and "nhsuk-header" in page.text
    assert api.status_code == 404
    assert api.json() == {"detail": "This area has no neighbourhood with that code."}


# A service with no population store yet -------------------------------------------------


def test_without_a_store_the_page_says_how_to_make_one(empty_client: TestClient) -> None:
    response = empty_client.get("/")

    assert response.status_code == 503
    assert "There is no population data yet" in response.text
    assert "joinedup generate" in response.text
    assert "Traceback" not in response.text
    assert "nhsuk-header" in response.text


def test_without_a_store_the_api_says_so(empty_client: TestClient) -> None:
    response = empty_client.get("/api/population/overview")

    assert response.status_code == 503
    assert "joinedup generate" in response.json()["detail"]


def test_without_a_store_the_dictionary_still_works(empty_client: TestClient) -> None:
    assert empty_client.get("/data-dictionary").status_code == 200
    assert empty_client.get("/api/contracts").status_code == 200


# The data dictionary ---------------------------------------------------------------------


def test_the_dictionary_lists_every_contract_column(client: TestClient) -> None:
    html = client.get("/data-dictionary").text

    for table in CONTRACTS.values():
        assert f'id="{table.name}"' in html
        assert str(escape(table.description)) in html
        assert str(escape(table.grain)) in html
        [columns] = [t for t in html_tables(html) if t.attrs.get("data-table") == table.name]
        for column in table.columns:
            row = columns.row("column", column.name).html
            assert f">{column.type}<" in row
            assert str(escape(column.description)) in row
            for rule in column.rules():
                assert str(escape(rule)) in row, (table.name, column.name, rule)
        for key in table.primary_key:
            assert 'class="nhsuk-tag nhsuk-tag--blue">Key<' in columns.row("column", key).html


@pytest.mark.parametrize("table", list(CONTRACTS))
def test_each_table_has_its_own_page(client: TestClient, table: str) -> None:
    response = client.get(f"/data-dictionary/{table}")

    assert response.status_code == 200
    assert f"<title>{table} – Data dictionary – joinedup</title>" in response.text
    for column in CONTRACTS[table].columns:
        assert f'data-column="{column.name}"' in response.text


def test_the_contracts_api_describes_every_table(client: TestClient) -> None:
    tables = client.get("/api/contracts").json()

    assert [t["name"] for t in tables] == list(CONTRACTS)
    for entry in tables:
        contract = CONTRACTS[entry["name"]]
        assert entry["primary_key"] == list(contract.primary_key)
        assert [c["name"] for c in entry["columns"]] == contract.column_names
        assert [c["rules"] for c in entry["columns"]] == [c.rules() for c in contract.columns]
        assert client.get(f"/api/contracts/{entry['name']}").json() == entry


def test_an_unknown_table_is_not_found(client: TestClient) -> None:
    page = client.get("/data-dictionary/no_such_table")
    api = client.get("/api/contracts/no_such_table")

    assert page.status_code == 404
    assert "Page not found" in page.text and "There is no table called no_such_table." in page.text
    assert api.status_code == 404
    assert "patients" in api.json()["detail"]  # lists the known tables


# Navigation, errors and the layout ---------------------------------------------------------


def test_the_header_links_every_area_the_role_may_open(client: TestClient) -> None:
    html = client.get("/").text
    nav = section(html, '<nav class="nhsuk-header__navigation"', "</nav>")

    assert '<span class="nhsuk-header__service-name">joinedup</span>' in html
    links = re.findall(r'href="([^"]+)"[^>]*>(?:<strong[^>]*>)?([^<]+)<', nav)
    built = client.app.state.areas  # type: ignore[attr-defined]
    assert links == [(area.href, area.title) for area in visible_areas(principal("gp").can, built)]
    assert "Governance" not in dict(links).values()  # a GP does not govern
    current = re.search(r'<a [^>]*aria-current="page"><strong [^>]*>([^<]+)<', nav)
    assert current and current.group(1) == "Population"
    assert '<a class="nhsuk-skip-link" data-module="nhsuk-skip-link" href="#maincontent">' in html
    assert 'id="maincontent"' in html
    assert '<footer class="nhsuk-footer"' in html


@pytest.mark.parametrize("role", ["receptionist", "care_navigator"])
def test_front_desk_roles_are_not_offered_care_coordination(role: str) -> None:
    # Its only page they may open is the overview, whose register counts they may not see.
    titles = [area.title for area in visible_areas(principal(role).can, AREAS)]
    assert "Care coordination" not in titles
    for clinical in ("gp", "nurse", "care_coordinator", "commissioner", "manager"):
        assert "Care coordination" in [
            a.title for a in visible_areas(principal(clinical).can, AREAS)
        ]


def test_an_area_is_built_when_a_route_serves_it() -> None:
    paths = ["/", "/case-finding/{list_id}", "/static", "/api/population/overview", "/sign-in"]

    assert [a.title for a in built_areas(paths)] == ["Population", "Case finding"]
    assert [a.title for a in built_areas(["/population/segments"])] == ["Population"]
    assert built_areas(["/accessibility", "/neighbourhoods"]) == ()


@pytest.mark.parametrize("area", AREAS, ids=lambda a: a.href)
def test_the_header_links_an_area_only_when_it_has_pages(client: TestClient, area: Area) -> None:
    nav = section(client.get("/").text, '<nav class="nhsuk-header__navigation"', "</nav>")
    served = [p for p in route_paths(client.app.routes) if area.is_current(p)]  # type: ignore[attr-defined]

    linked = f'href="{area.href}"' in nav
    assert served or not linked, f"{area.title} is linked but has no page"
    if not served:
        assert client.get(area.href).status_code == 404


def test_an_unknown_page_is_an_nhs_style_404(client: TestClient) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert '<h1 class="nhsuk-heading-xl">Page not found</h1>' in response.text
    assert "If you typed the web address, check it was correct." in response.text
    assert "nhsuk-header" in response.text and "nhsuk-footer" in response.text


def test_an_unknown_api_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/no/such/thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_a_server_error_is_a_page_not_a_traceback(small_area: Settings) -> None:
    app = signed_in_app(small_area)

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("secret internals")

    response = TestClient(app, raise_server_exceptions=False).get("/broken")

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text


# Health ------------------------------------------------------------------------------------


def test_health_reports_each_store(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok" and report["population_store"] is True
    # The test's care store is migrated, so it is reachable.
    assert report["care_store"]["backend"] == "sqlite"
    assert report["care_store"]["reachable"] is True


def test_health_without_a_population_store(empty_client: TestClient) -> None:
    assert empty_client.get("/health").json()["population_store"] is False


def test_health_never_shows_the_database_url(tmp_path: Path) -> None:
    url = "postgresql+psycopg://joinedup:s3cret@127.0.0.1:1/care"
    client = TestClient(signed_in_app(Settings(home=tmp_path, database_url=url)))

    body = client.get("/health").text

    care_store = json.loads(body)["care_store"]
    assert care_store["backend"] == "postgresql" and care_store["reachable"] is False
    assert "s3cret" not in body and "127.0.0.1:1" not in body


def test_a_failing_health_check_degrades_the_status(small_area: Settings) -> None:
    app: FastAPI = signed_in_app(small_area)

    def broken(settings: Settings) -> bool:
        raise OSError("unreachable")

    app.state.health_checks["search_index"] = broken

    body = TestClient(app).get("/health").json()

    assert body["status"] == "degraded"
    assert body["search_index"] is False
    assert body["population_store"] is True


# The API's description ---------------------------------------------------------------------


def test_the_openapi_document_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    assert set(spec["paths"]) == {
        "/api/population/overview",
        "/api/contracts",
        "/api/contracts/{table}",
        "/api/fhir/Patient/{person_id}",
        "/api/fhir/Patient/{person_id}/$everything",
        "/api/fhir",
        "/api/fhir/Observation",
        "/api/fhir/Slot",
        "/api/fhir/Appointment",
        "/api/fhir/Appointment/{appointment_id}",
        "/api/oruk/",
        "/api/oruk/services",
        "/api/oruk/services/{service_id}",
        "/api/oruk/service_at_locations",
        "/api/oruk/taxonomies",
        "/api/oruk/taxonomies/{taxonomy_id}",
        "/api/oruk/taxonomy_terms",
        "/api/oruk/taxonomy_terms/{term_id}",
        "/health",
    }
    overview = spec["paths"]["/api/population/overview"]["get"]
    assert overview["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PopulationOverview"
    }
    assert {"404", "503"} <= set(overview["responses"])
    fields = spec["components"]["schemas"]["PopulationOverview"]["properties"]
    assert {"total", "by_practice", "by_neighbourhood", "by_age_band", "by_sex"} <= set(fields)
    assert "TableEntry" in spec["components"]["schemas"]


def test_the_api_reference_page_lists_every_endpoint(client: TestClient) -> None:
    html = client.get("/api/docs").text

    for path in ("/api/population/overview", "/api/contracts", "/api/contracts/{table}", "/health"):
        assert f"GET {path}</code>" in html
    assert 'href="/openapi.json"' in html
    assert "PopulationOverview" in html


# Pages that work offline under a strict Content-Security-Policy ---------------------------


PAGES = [
    "/",
    "/data-dictionary",
    "/data-dictionary/patients",
    "/case-finding",
    "/api/docs",
    "/nope",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(client: TestClient, path: str) -> None:
    response = client.get(path)
    html = response.text

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in tag, tag
    assert all(
        not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    )
    assert " style=" not in html and "<style" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_every_asset_a_page_uses_is_served(client: TestClient) -> None:
    html = client.get("/").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)

    assert len(assets) >= 6
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    module = client.get("/static/js/joinedup.js")
    assert "javascript" in module.headers["content-type"]


def test_the_vendored_assets_match_package_json() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    versions = (VENDOR / "VERSIONS").read_text()

    for name, version in package["devDependencies"].items():
        assert f"\n{name} {version} " in versions, name
    assert (
        f'"{package["devDependencies"]["nhsuk-frontend"]}"'
        in (VENDOR / "nhsuk-frontend" / "nhsuk-frontend.min.css").read_text()[:200]
    )
    for listed in re.findall(r"^[0-9a-f]{64}  (\S+)$", versions, re.M):
        assert (VENDOR / listed).is_file(), listed
    for licence in ("nhsuk-frontend/LICENSE", "htmx/LICENSE"):
        assert (VENDOR / licence).is_file()


def test_the_stylesheet_needs_nothing_from_the_internet(client: TestClient) -> None:
    css_url = "/static/vendor/nhsuk-frontend/nhsuk-frontend.min.css"
    css = client.get(css_url).text

    urls = re.findall(r"url\(\s*[\"']?([^\"')]+)", css)
    assert "@font-face" not in css
    assert urls
    for url in urls:
        assert not url.startswith(("http:", "https:", "//", "/")), url
        assert client.get(css_url.rsplit("/", 1)[0] + "/" + url).status_code == 200, url


# Withheld counts and the chart geometry ------------------------------------------------------


def test_pages_show_withheld_counts_as_withheld(
    client: TestClient, small_store: PopulationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When governance withholds small counts, the page says so rather than failing."""
    import joinedup.web.pages

    withheld = shown(small_store).with_counts(lambda n: None if n < 500 else n)
    monkeypatch.setattr(
        joinedup.web.pages, "aggregate_overview", lambda store, hood, objectors: withheld
    )

    html = client.get("/").text

    small = [row for row in withheld.by_age_band if row.count is None]
    assert small, "the area should have an age band under 500 people"
    for row in small:
        assert ">withheld<" in page_row(html, "key", row.key).html


def test_a_chart_of_nobody_has_no_bars_and_says_so() -> None:
    from joinedup.population.overview import Count
    from joinedup.web.charts import bar_chart

    chart = bar_chart("c", "Nobody", [Count(key="a", label="A", count=0)], 0)

    assert [bar.width for bar in chart.bars] == [0]
    assert chart.bars[0].share == "–"
    assert chart.description.startswith("No one is counted")


def test_a_chart_scales_bars_to_the_largest_group() -> None:
    from joinedup.population.overview import Count
    from joinedup.web.charts import bar_chart

    rows = [
        Count(key="a", label="A", count=30),
        Count(key="b", label="B", count=10),
        Count(key="c", label="C", count=None),
    ]
    chart = bar_chart("c", "Some", rows, 40)

    assert [bar.fraction for bar in chart.bars] == [1.0, pytest.approx(1 / 3), 0.0]
    assert chart.bars[0].width == pytest.approx(chart.bar_area, abs=0.1)
    assert [bar.value_text for bar in chart.bars] == ["30 (75.0%)", "10 (25.0%)", "withheld"]
    assert "The largest group is A: 30 people (75.0%)" in chart.description


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", {}),  # a page
        ("/", {"HX-Request": "true"}),  # an HTMX fragment
        ("/api/population/overview", {}),  # JSON
        ("/no-such-page", {}),  # an error page
        ("/sign-in", {}),  # a public page: one rule, no exceptions to get wrong
    ],
)
def test_every_answer_but_the_static_assets_is_no_store(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.headers["cache-control"] == "no-store"


def test_the_static_assets_may_be_cached(client: TestClient) -> None:
    response = client.get("/static/css/joinedup.css")
    assert response.status_code == 200 and "cache-control" not in response.headers
