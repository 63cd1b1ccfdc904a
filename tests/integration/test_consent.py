"""Consent to share the care plan, objections, and re-identifying a pseudonym: the services and
their pages, on both databases.

Hostile text in the free-text fields (the consent note, the re-identification reason) must be
stored exactly as written, shown escaped, and change nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from joinedup.analytics import case_finding as cf
from joinedup.errors import UserError
from joinedup.governance import consent as consents
from joinedup.governance.models import Consent, User
from joinedup.governance.objections import active_objectors
from joinedup.governance.pseudonyms import area_key, pseudonym, registered_people
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import CSRF_TOKEN, principal
from tests.integration.test_case_finding_governance import (
    LIST,
    World,
    add_user,
    client_as,
    events,
    make_world,
)

HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE users; --"]
REASON = "Visiting them at home tomorrow for a review"


@pytest.fixture
def world(care_store: str, small_area: Settings, small_store: PopulationStore) -> Iterator[World]:
    with make_world(care_store, small_area, small_store) as made:
        yield made


def person_of(world: World, practice: str) -> int:
    """Someone registered at `practice` (the first on a list there)."""
    return int(cf.run_list(world.store, LIST, within_practices={practice}).people()[0]["person_id"])


def counts(world: World) -> tuple[int, int]:
    """(users, consents) rows in the care store."""
    with world.sessions() as session:
        users = session.scalar(select(func.count()).select_from(User))
        rows = session.scalar(select(func.count()).select_from(Consent))
    return int(users or 0), int(rows or 0)


def post(client: TestClient, url: str, data: dict[str, str], *, csrf: bool = True):  # type: ignore[no-untyped-def]
    form = {**data, **({"csrf_token": CSRF_TOKEN} if csrf else {})}
    return client.post(url, data=form, follow_redirects=False)


# --- the consent service ---------------------------------------------------------------------


def test_consent_history_is_kept_and_the_latest_decision_stands(world: World) -> None:
    gp = principal("gp", username="dr-consent")
    person = person_of(world, world.practices[0])
    assert consents.current_consent(world.sessions, person) is None

    for decision in ("given", "refused", "withdrawn"):
        consents.record_consent(world.sessions, gp, person, decision=decision, note=decision)

    current = consents.current_consent(world.sessions, person)
    assert current is not None and current.decision == "withdrawn"
    history = consents.consent_history(world.sessions, person)
    assert [c.decision for c in history] == ["withdrawn", "refused", "given"]
    assert consents.current_consent(world.sessions, person + 1) is None
    audit = events(world, "consent.record")
    assert [e.detail["decision"] for e in audit] == ["given", "refused", "withdrawn"]
    assert {e.person_id for e in audit} == {person} and {e.actor for e in audit} == {gp.actor}
    assert [e.entity_id for e in audit] == [str(c.id) for c in reversed(history)]
    assert all("note" not in e.detail for e in audit)  # free text stays out of the audit trail


def test_a_bad_decision_is_a_user_error_and_writes_nothing(world: World) -> None:
    gp = principal("gp")
    person = person_of(world, world.practices[0])
    for kwargs in (
        {"decision": "maybe"},
        {"decision": "given", "kind": "share_everything"},
        {"decision": "given", "note": "x" * (consents.NOTE_MAX + 1)},
    ):
        with pytest.raises(consents.ConsentError) as caught:
            consents.record_consent(world.sessions, gp, person, **kwargs)  # type: ignore[arg-type]
        assert isinstance(caught.value, UserError)
    with pytest.raises(consents.ConsentNotAllowed):
        consents.record_consent(world.sessions, principal("commissioner"), person)
    assert consents.consent_history(world.sessions, person) == []
    assert events(world) == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_note_is_stored_verbatim(world: World, hostile: str) -> None:
    person = person_of(world, world.practices[0])
    before = counts(world)
    consents.record_consent(
        world.sessions, principal("nurse"), person, "share_care_plan", "given", hostile
    )
    (saved,) = consents.consent_history(world.sessions, person)
    assert saved.note == hostile
    assert counts(world) == (before[0], before[1] + 1)


# --- the consent page ------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_gp_records_consent_for_their_patient(world: World, hostile: str) -> None:
    mine, _ = world.practices
    gp = add_user(world, "gp", (mine,))
    person = person_of(world, mine)
    client = client_as(world, gp)
    url = f"/people/{person}/consent"

    page = client.get(url)
    assert page.status_code == 200 and 'data-decision="none"' in page.text
    (view,) = events(world, "view.person.consent")
    assert view.person_id == person and view.actor == gp.actor
    users_before, _ = counts(world)

    response = post(client, url, {"action": "consent", "decision": "given", "note": hostile})

    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?recorded=consent"
    shown = client.get(response.headers["location"]).text
    assert 'data-decision="given"' in shown and 'id="recorded"' in shown
    assert hostile not in shown  # never raw
    assert str(escape(hostile)) in shown
    (saved,) = consents.consent_history(world.sessions, person)
    assert saved.note == hostile and saved.recorded_by == gp.actor
    assert counts(world) == (users_before, 1)


def test_a_form_without_its_csrf_token_records_nothing(world: World) -> None:
    mine, _ = world.practices
    person = person_of(world, mine)
    client = client_as(world, add_user(world, "gp", (mine,)))

    response = post(
        client, f"/people/{person}/consent", {"action": "consent", "decision": "given"}, csrf=False
    )

    assert response.status_code == 403
    assert consents.consent_history(world.sessions, person) == []


def test_no_decision_chosen_shows_the_form_again_with_the_error(world: World) -> None:
    mine, _ = world.practices
    person = person_of(world, mine)
    client = client_as(world, add_user(world, "gp", (mine,)))
    response = post(client, f"/people/{person}/consent", {"action": "consent", "note": "<b>x</b>"})
    assert response.status_code == 400
    assert "Choose the person&#39;s decision" in response.text
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text  # the note is kept, escaped
    assert consents.consent_history(world.sessions, person) == []


def test_without_a_relationship_the_page_is_refused_with_a_way_to_break_glass(
    world: World,
) -> None:
    mine, other = world.practices
    stranger = person_of(world, other)
    client = client_as(world, add_user(world, "gp", (mine,)))
    url = f"/people/{stranger}/consent"

    page = client.get(url)
    posted = post(client, url, {"action": "consent", "decision": "given"})

    assert page.status_code == posted.status_code == 403
    assert f'href="/people/{stranger}/break-glass"' in page.text
    assert consents.consent_history(world.sessions, stranger) == []
    assert events(world) == []


@pytest.mark.parametrize(
    ("role", "organisations"),
    [("commissioner", ()), ("analyst", ()), ("receptionist", ("SYNN01",))],
)
def test_roles_that_cannot_see_the_record_are_refused(
    world: World, role: str, organisations: tuple[str, ...]
) -> None:
    # A receptionist may record consent but has no `record.view`, so no legitimate relationship.
    person = person_of(world, world.practices[0])
    client = client_as(world, add_user(world, role, organisations))
    assert client.get(f"/people/{person}/consent").status_code == 403
    assert post(client, f"/people/{person}/consent", {"decision": "given"}).status_code == 403
    assert consents.consent_history(world.sessions, person) == []


def test_an_unknown_person_is_not_found(world: World) -> None:
    client = client_as(world, add_user(world, "gp", (world.neighbourhood,)))
    assert client.get("/people/987654321/consent").status_code == 404


def test_objections_are_recorded_and_withdrawn_from_the_page(world: World) -> None:
    mine, _ = world.practices
    person = person_of(world, mine)
    client = client_as(world, add_user(world, "care_coordinator", (mine,)))
    url = f"/people/{person}/consent"

    recorded = post(client, url, {"action": "objection", "objection_kind": "type_1"})
    assert recorded.status_code == 303
    assert person in active_objectors(world.sessions)
    page = client.get(url).text
    assert re.search(r'data-objection="type_1" data-active="true"', page)

    withdrawn = post(client, url, {"action": "withdraw_objection", "objection_kind": "type_1"})
    assert withdrawn.status_code == 303
    assert person not in active_objectors(world.sessions)
    assert re.search(r'data-objection="type_1" data-active="false"', client.get(url).text)
    assert [e.action for e in events(world) if e.action.startswith("objection.")] == [
        "objection.record",
        "objection.withdraw",
    ]
    bad = post(client, url, {"action": "objection", "objection_kind": "<script>"})
    assert bad.status_code == 400 and "<script>" not in bad.text


# --- re-identification -----------------------------------------------------------------------


def _reidentify(client: TestClient, name: str, reason: str, *, csrf: bool = True):  # type: ignore[no-untyped-def]
    return post(client, "/pseudonyms/reidentify", {"pseudonym": name, "reason": reason}, csrf=csrf)


def _someone(world: World) -> tuple[int, str]:
    person = int(registered_people(world.store)[42])
    return person, pseudonym(area_key(world.settings), person)


def test_a_gp_reidentifies_a_pseudonym_and_it_is_audited(world: World) -> None:
    gp = add_user(world, "gp", (world.neighbourhood,))
    client = client_as(world, gp)
    person, name = _someone(world)
    assert 'name="reason"' in client.get("/pseudonyms/reidentify").text

    response = _reidentify(client, name, REASON)

    assert response.status_code == 200
    assert f'data-person="{person}"' in response.text
    assert f'href="/people/{person}/scores"' in response.text
    (event,) = events(world, "pseudonym.reidentify")
    assert (event.actor, event.person_id) == (gp.actor, person)
    assert event.detail == {"pseudonym": name, "reason": REASON}


@pytest.mark.parametrize("role", ["commissioner", "analyst", "nurse", "manager"])
def test_reidentification_needs_the_permission(world: World, role: str) -> None:
    client = client_as(world, add_user(world, role, ()))
    _, name = _someone(world)
    assert client.get("/pseudonyms/reidentify").status_code == 403
    assert _reidentify(client, name, REASON).status_code == 403
    assert events(world) == []


def test_a_wrong_pseudonym_or_a_short_reason_is_explained(world: World) -> None:
    client = client_as(world, add_user(world, "gp", ()))
    _, name = _someone(world)
    wrong = pseudonym(b"not this area's key at all......", 1)

    unknown = _reidentify(client, wrong, REASON)
    short = _reidentify(client, name, "because")
    malformed = _reidentify(client, "PX-NOTONE", REASON)
    no_token = _reidentify(client, name, REASON, csrf=False)

    assert unknown.status_code == 404 and "no one registered in this area" in unknown.text.lower()
    assert short.status_code == 400 and "at least 15 characters" in short.text
    assert malformed.status_code == 400 and "A pseudonym is PX-" in malformed.text
    assert no_token.status_code == 403
    assert events(world) == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_reason_is_kept_verbatim_and_shown_escaped(world: World, hostile: str) -> None:
    gp: Principal = add_user(world, "gp", ())
    client = client_as(world, gp)
    person, name = _someone(world)
    reason = f"{hostile} {hostile}"
    users_before = counts(world)

    ok = _reidentify(client, name, reason)
    refused = _reidentify(client, pseudonym(b"k" * 32, 1), reason)

    assert ok.status_code == 200 and f'data-person="{person}"' in ok.text
    (event,) = events(world, "pseudonym.reidentify")
    assert event.detail["reason"] == reason
    assert refused.status_code == 404
    assert hostile not in refused.text and str(escape(reason)) in refused.text
    assert counts(world) == users_before
