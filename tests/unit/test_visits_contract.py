"""The visit planner's edges: the JSON contract with every problem located, the travel-time
estimate against hand-worked figures, an OSRM table server on localhost, the published JSON
Schemas and worked example, and the command line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from joinedup.errors import UserError
from joinedup.neighbourhood.visits.checker import check
from joinedup.neighbourhood.visits.model import ContractError, Day, Plan, parse
from joinedup.neighbourhood.visits.schema import schemas
from joinedup.neighbourhood.visits.travel import (
    OsrmTable,
    StraightLine,
    TravelServiceError,
    haversine_km,
    travel_times,
)
from joinedup.settings import Settings
from tests.unit.test_cli import joinedup
from tests.unit.test_visits_solver import nurse, visit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "visits"


def day_json(visits: list[dict[str, Any]], nurses: list[dict[str, Any]]) -> str:
    return json.dumps({"visits": visits, "nurses": nurses})


# --- the contract ------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(ContractError) as caught:
        parse(Day, text, "the day")
    return caught.value.problems


def test_every_problem_is_reported_with_its_place() -> None:
    bad_visit = visit("V7", window_start="25:00")
    del bad_visit["lat"]
    found = problems(day_json([visit("V1"), bad_visit], [nurse("N1", shift_end="07:00")]))
    assert "visits[1] (V7).lat: Field required" in found
    assert any(
        p.startswith("visits[1] (V7).window_start: must be a clock time HH:MM") for p in found
    )
    assert "nurses[0] (N1): shift_end must be after shift_start" in found


def test_a_window_shorter_than_the_visit_and_a_fixed_time_outside_it_are_refused() -> None:
    found = problems(
        day_json(
            [
                visit("V1", window_start="09:00", window_end="09:20", duration_min=30),
                visit("V2", fixed_time="14:50", window_end="15:00"),
            ],
            [nurse("N1")],
        )
    )
    assert found == [
        "visits[0] (V1): the window 09:00–09:20 is shorter than the visit's 30 minutes",
        "visits[1] (V2): fixed_time 14:50 does not leave the whole visit inside its window "
        "09:00–15:00",
    ]


def test_repeated_ids_unknown_fields_and_not_json_are_refused() -> None:
    assert problems(day_json([visit("V1"), visit("V1")], [nurse("N1")])) == [
        "the document: visit ids must be unique: V1 repeated"
    ]
    assert problems(day_json([visit("V1", colour="red")], [nurse("N1")])) == [
        "visits[0] (V1).colour: Extra inputs are not permitted"
    ]
    assert problems("{not json") == [
        "not JSON: Expecting property name enclosed in double quotes at line 1"
    ]


# --- travel times ------------------------------------------------------------------------------


def test_haversine_matches_a_known_distance() -> None:
    # London (51.5074, -0.1278) to Paris (48.8566, 2.3522): 343.5 km (great circle).
    assert haversine_km((51.5074, -0.1278), (48.8566, 2.3522)) == pytest.approx(343.5, abs=0.5)


def test_straight_line_minutes_are_distance_times_winding_over_speed_plus_parking() -> None:
    a, b = (51.5, -0.1), (51.5 + 2.9 / 111.195, -0.1)  # 2.9 km due north
    # 2.9 km × 1.3 = 3.77 km at 30 km/h = 7.54 min → 8, + 2 parking = 10; at 60 km/h 2.9 → 3
    assert StraightLine().matrix([a, b]) == [[0, 10], [10, 0]]
    assert StraightLine(winding=1.0, speed_kmh=60, parking_min=0).minutes(a, b) == 3


class _Osrm(BaseHTTPRequestHandler):
    """Answers the OSRM table API: 61 s for each 0.001° of latitude between two places."""

    answer: dict[str, Any] | None = None
    status = 200
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        path, _, query = self.path.partition("?")
        assert path.startswith("/table/v1/driving/"), path
        params = dict(part.split("=") for part in query.split("&"))
        assert params["annotations"] == "duration"
        places = [tuple(map(float, p.split(","))) for p in path.split("/")[-1].split(";")]
        sources = [int(i) for i in params["sources"].split(";")]
        destinations = [int(i) for i in params["destinations"].split(";")]
        body = self.answer or {
            "code": "Ok",
            "durations": [
                [61.0 * round(abs(places[s][1] - places[d][1]) * 1000) for d in destinations]
                for s in sources
            ],
        }
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm() -> Iterator[tuple[str, type[_Osrm]]]:
    handler = type("Handler", (_Osrm,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_osrm_client_reads_the_table_service_in_blocks(osrm: tuple[str, type[_Osrm]]) -> None:
    url, handler = osrm
    points = [(51.5 + k * 0.001, -0.1) for k in range(5)]
    # 61 s per step, rounded up to whole minutes: 1 step → 2 min, 2 → 3, 3 → 4, 4 → 5
    expected = [[0 if i == j else -(-61 * abs(i - j) // 60) for j in range(5)] for i in range(5)]
    assert OsrmTable(url).matrix(points) == expected
    assert handler.requests == 1
    assert OsrmTable(url, block=2).matrix(points) == expected  # 3 × 3 blocks
    assert handler.requests == 1 + 9


def test_the_osrm_client_reports_refusals_gaps_and_absence(osrm: tuple[str, type[_Osrm]]) -> None:
    url, handler = osrm
    points = [(51.5, -0.1), (51.51, -0.1)]
    handler.answer, handler.status = {"code": "InvalidQuery", "message": "bad coords"}, 400
    with pytest.raises(TravelServiceError, match="refused the travel-time request: InvalidQuery"):
        OsrmTable(url).matrix(points)
    handler.answer, handler.status = {"code": "Ok", "durations": [[0, None], [None, 0]]}, 200
    with pytest.raises(TravelServiceError, match="no route from place 0"):
        OsrmTable(url).matrix(points)
    with pytest.raises(TravelServiceError, match="cannot be reached"):
        OsrmTable("http://127.0.0.1:9", timeout_s=2).matrix(points)


def test_configuration_chooses_the_travel_times(osrm: tuple[str, type[_Osrm]]) -> None:
    settings = Settings(home=Path("var"), database_url="sqlite://")
    assert travel_times(settings) == StraightLine()
    slower = Settings(home=Path("var"), database_url="sqlite://", travel_speed_kmh="20")
    assert travel_times(slower) == StraightLine(speed_kmh=20)
    assert travel_times(replace(settings, osrm_url=osrm[0])) == OsrmTable(osrm[0])


def test_a_bad_travel_setting_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINEDUP_TRAVEL_SPEED_KMH", "fast")
    with pytest.raises(UserError, match="JOINEDUP_TRAVEL_SPEED_KMH must be a number above 0"):
        travel_times(Settings.from_env())


# --- published schemas and example -------------------------------------------------------------


def test_the_published_schemas_are_the_models() -> None:
    for name, schema in schemas().items():
        published = json.loads((DOCS / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert published == schema, (
            f"regenerate docs/visits: python scripts/visits_schemas.py ({name})"
        )


def test_the_worked_example_is_valid_and_its_plan_keeps_every_rule() -> None:
    day = parse(Day, (DOCS / "example-day.json").read_text(encoding="utf-8"), "the day")
    plan = parse(Plan, (DOCS / "example-plan.json").read_text(encoding="utf-8"), "the plan")
    assert plan.day == day
    assert check(plan, StraightLine()) == []


# --- the command line --------------------------------------------------------------------------


def test_plan_from_the_command_line(tmp_path: Path) -> None:
    day = tmp_path / "day.json"
    day.write_text(day_json([visit("V1"), visit("V2", skills=["syringe_driver"])], [nurse("N1")]))
    result = joinedup(
        "visits", "plan", "--input", str(day), "-o", str(tmp_path / "plan.json"), "--seconds", "0"
    )
    assert result.returncode == 0, result.stderr
    assert "Planned 1 visits" in result.stdout
    assert "unplanned V2: no nurse with skill syringe_driver on shift" in result.stdout
    plan = parse(Plan, (tmp_path / "plan.json").read_text(), "the plan")
    assert check(plan, StraightLine()) == []


def test_a_bad_day_is_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    day = tmp_path / "day.json"
    day.write_text(day_json([visit("V1", duration_min=0)], [nurse("N1", break_min=500)]))
    result = joinedup("visits", "plan", "--input", str(day))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "day.json: visits[0] (V1).duration_min: Input should be greater than or equal to 1",
        "day.json: nurses[0] (N1).break_min: Input should be less than or equal to 120",
    ]
    missing = joinedup("visits", "plan", "--input", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "there is no file" in missing.stderr
    assert "Traceback" not in missing.stderr + result.stderr


def test_the_worked_example_events_replan_to_a_plan_that_keeps_every_rule() -> None:
    from joinedup.neighbourhood.visits.model import Events
    from joinedup.neighbourhood.visits.replan import replan

    plan = parse(Plan, (DOCS / "example-plan.json").read_text(encoding="utf-8"), "the plan")
    events = parse(Events, (DOCS / "example-events.json").read_text(encoding="utf-8"), "events")
    result = replan(plan, events, StraightLine(), seconds=0)
    assert check(result.plan, StraightLine()) == []
    assert "U01" in {s.visit_id for r in result.plan.routes for s in r.stops}
