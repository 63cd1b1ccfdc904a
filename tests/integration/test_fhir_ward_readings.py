"""Device readings into the virtual ward over the FHIR API, on SQLite and PostgreSQL, through real
system tokens: a transaction Bundle, NDJSON and a single Observation land in the person's stay
and raise alerts, answered as FHIR; any bad record stores nothing and every reason comes back;
senders outside the person's relationships and roles without the permission are refused."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import func, select

from joinedup.carestore.models import AuditEvent
from joinedup.governance.system_tokens import issue_token
from joinedup.interop.fhir_readings import reading_observation
from joinedup.neighbourhood import readings
from joinedup.neighbourhood.models import ReadingSet, WardAlert
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.access_support import bearer
from tests.integration.test_virtual_ward import Ward, add_user, vw  # noqa: F401
from tests.integration.test_ward_tick_and_ingest import NHS, UNWELL, _backdate, _population, _unit

NDJSON = {"Content-Type": "application/fhir+ndjson"}


@dataclass
class Feed:
    vw: Ward
    client: TestClient
    taken: dt.datetime  # an hour after the admission
    tokens: dict[str, str]


@pytest.fixture
def feed(vw: Ward, care_store: str, tmp_path: Any) -> Iterator[Feed]:  # noqa: F811
    _population(tmp_path)
    admission = vw.admit(11)
    taken = _backdate(vw, admission, 3) + dt.timedelta(hours=1)
    tokens = {}
    for username, role, org in (
        ("kit-platform", "ward_device", "NBH01"),  # the ward's neighbourhood: P81001's people
        ("other-platform", "ward_device", "P81009"),  # a practice the person is not at
        ("nhs111-system", "nhs111", "NBH01"),
    ):
        add_user(vw.sessions, username, role, org)
        tokens[username], _ = issue_token(
            vw.sessions, username, actor="admin", actor_role="administrator"
        )
    app = create_app(Settings(home=tmp_path, database_url=care_store))
    yield Feed(vw, TestClient(app), taken, tokens)
    vw.sessions.kw["bind"].dispose()


def _observations(when: dt.datetime, values: dict[str, object]) -> list[dict[str, Any]]:
    return [
        reading_observation(
            readings.Reading(f"Patient/{NHS}", when, parameter, value, _unit(parameter)),
            f"kit-{when:%H%M}-{index}",
        ).model_dump(mode="json", exclude_none=True)
        for index, (parameter, value) in enumerate(values.items())
    ]


def _transaction(resources: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }


def _outcome(answer: httpx.Response, status: int) -> list[str]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert answer.headers["cache-control"] == "no-store"
    outcome = OperationOutcome.model_validate(answer.json())
    return [issue.diagnostics or "" for issue in outcome.issue]


def _stored(feed: Feed) -> list[tuple[dt.datetime, int | None]]:
    with feed.vw.sessions() as session:
        return [
            (row.taken_at, row.news2_total)
            for row in session.scalars(select(ReadingSet).order_by(ReadingSet.taken_at))
        ]


def test_bundle_ndjson_and_one_observation_land_in_the_ward(feed: Feed) -> None:
    token = bearer(feed.tokens["kit-platform"])
    patient = {"resourceType": "Patient", "id": "kit-patient"}
    body = _transaction([*_observations(feed.taken, UNWELL), patient])
    answer = feed.client.post("/api/fhir", json=body, headers=token)
    assert answer.status_code == 200, answer.text
    response = Bundle.model_validate(answer.json())
    assert response.type == "transaction-response"
    assert [e.response.status for e in response.entry] == ["201 Created"] * 7 + ["200 OK"]
    assert _stored(feed) == [(feed.taken, 8)]  # NEWS2 8, as ward_ingest scores UNWELL
    with feed.vw.sessions() as session:
        assert session.scalar(select(func.count(WardAlert.id))) == 1  # news2-high
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ward_reading.ingest")
        ).one()
    assert (event.actor, event.detail["sets"], event.detail["alerts_raised"]) == (
        "kit-platform",
        1,
        1,
    )
    assert NHS not in json.dumps(event.detail)  # counts only, never the person or values

    again = feed.client.post("/api/fhir", json=body, headers=token)  # sent twice
    assert any("already recorded" in text for text in _outcome(again, 422))

    later = feed.taken + dt.timedelta(minutes=30)
    lines = "\n".join(json.dumps(o) for o in _observations(later, {**UNWELL, "pulse": 90.0}))
    texts = _outcome(
        feed.client.post("/api/fhir/Observation", content=lines, headers=NDJSON | token), 201
    )
    assert texts == ["7 readings read (0 resources skipped): 1 sets recorded, 1 alerts raised"]

    one = _observations(later + dt.timedelta(minutes=5), {"pulse": 72.0})[0]
    assert _outcome(feed.client.post("/api/fhir/Observation", json=one, headers=token), 201)
    # pulse 90 scores 0 (RCP 2017: 51–90), so 8 − 2; a lone pulse is an incomplete set
    assert [total for _, total in _stored(feed)] == [8, 6, None]


def test_any_bad_record_stores_nothing_and_every_reason_comes_back(feed: Feed) -> None:
    token = bearer(feed.tokens["kit-platform"])
    good = _observations(feed.taken, UNWELL)
    kilos = json.loads(json.dumps(good[4]))  # the pulse, in a unit that is not a pulse's
    kilos["valueQuantity"] |= {"unit": "kg", "code": "kg"}
    dead = json.loads(json.dumps(good[1]))  # SpO2 of 7%: no living person
    dead["valueQuantity"]["value"] = 7
    answer = feed.client.post(
        "/api/fhir", json=_transaction([good[0], kilos, dead], "batch"), headers=token
    )
    texts = _outcome(answer, 422)
    assert texts[0].startswith("Bundle.entry[1] (Observation/kit-")
    assert "is not a unit of pulse (UCUM /min or {beats}/min)" in texts[0]
    assert "7 is not a possible" in texts[1]
    assert texts[-1].startswith("nothing was stored")
    outcome = OperationOutcome.model_validate(answer.json())
    assert outcome.issue[0].expression == ["Bundle.entry[1]"]

    lines = json.dumps(good[0]) + "\n{not json\n"
    ndjson = feed.client.post("/api/fhir/Observation", content=lines, headers=NDJSON | token)
    assert any(t.startswith("NDJSON line 2: is not valid JSON") for t in _outcome(ndjson, 422))
    assert _outcome(feed.client.post("/api/fhir/Observation", content=b"{", headers=token), 400)
    collection = feed.client.post("/api/fhir", json=_transaction(good, "collection"), headers=token)
    assert any("transaction or batch" in t for t in _outcome(collection, 422))
    wrong_type = {"Content-Type": "text/csv"} | token
    assert _outcome(feed.client.post("/api/fhir", content=b"a,b", headers=wrong_type), 415)

    elsewhere = bearer(feed.tokens["other-platform"])  # works where the person is not registered
    refused = feed.client.post("/api/fhir", json=_transaction(good), headers=elsewhere)
    assert any("no relationship with this person" in t for t in _outcome(refused, 422))
    booking = bearer(feed.tokens["nhs111-system"])  # a system client without the permission
    assert _outcome(feed.client.post("/api/fhir", json=_transaction(good), headers=booking), 403)
    assert _stored(feed) == []
