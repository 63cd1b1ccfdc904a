"""The people behind a practice-variation count, through the real page, on both databases.

* a GP working in the practice sees the people named (NHS numbers), objectors included (their
  own direct care), and the view is audited as direct care;
* a GP of another practice is refused (403), and nothing is shown;
* a commissioner sees pseudonyms only, never an NHS number, objectors left out and the number
  of people suppressed; audited as commissioning;
* roles with neither case-finding permission (administrator) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
import pytest

from joinedup.analytics.variation import matrix as vm
from joinedup.governance.objections import record_objection
from joinedup.governance.pseudonyms import area_key, pseudonyms
from joinedup.governance.suppression import suppress_count
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.integration.test_case_finding_governance import (
    World,
    add_user,
    client_as,
    events,
    make_world,
)

INDICATOR = "hypertension"
ACTION = "view.practice_indicator_people"


@pytest.fixture
def world(care_store: str, small_area: Settings, small_store: PopulationStore) -> Iterator[World]:
    with make_world(care_store, small_area, small_store) as made:
        yield made


def _url(practice: str) -> str:
    return f"/commissioning/practices/{practice}/{INDICATOR}/people"


def _counted(world: World, practice: str) -> list[int]:
    return [p.person_id for p in vm.people_behind(world.store, practice, INDICATOR)]


def test_a_gp_of_the_practice_sees_the_people_named(world: World) -> None:
    practice = world.practices[0]
    counted = _counted(world, practice)
    objector = counted[0]
    record_objection(
        world.sessions, principal("gp"), person_id=objector, kind="national_data_opt_out"
    )
    gp = add_user(world, "gp", (practice,))
    page = client_as(world, gp).get(_url(practice))
    assert page.status_code == 200
    shown = {int(p) for p in re.findall(r'data-person="(\d+)"', page.text)}
    assert shown == set(counted[:500])
    assert objector in shown  # direct care: objectors stay visible
    patients = pd.read_parquet(world.store.path("patients"))
    number = patients.loc[patients.person_id == counted[0], "nhs_number"].item()
    assert format_nhs_number(number) in page.text
    (event,) = events(world, ACTION)
    assert event.detail["identifiable"] is True
    assert event.detail["rows"] == len(counted)
    assert event.purpose == "direct care"


def test_a_gp_of_another_practice_is_refused(world: World) -> None:
    mine, theirs = world.practices[0], world.practices[1]
    gp = add_user(world, "gp", (mine,))
    page = client_as(world, gp).get(_url(theirs))
    assert page.status_code == 403
    assert "data-person" not in page.text
    assert events(world, ACTION) == []


def test_a_commissioner_sees_pseudonyms_with_objectors_left_out(world: World) -> None:
    practice = world.practices[0]
    counted = _counted(world, practice)
    objector = counted[0]
    record_objection(world.sessions, principal("gp"), person_id=objector, kind="type_1")
    commissioner = add_user(world, "commissioner", ())
    page = client_as(world, commissioner).get(_url(practice))
    assert page.status_code == 200
    assert "data-person" not in page.text
    patients = pd.read_parquet(world.store.path("patients"))
    numbers = patients.loc[patients.person_id.isin(counted), "nhs_number"]
    assert not any(format_nhs_number(n) in page.text for n in numbers[:50])
    key = area_key(world.settings)
    everyone = pseudonyms(key, counted[1:])
    shown = re.findall(r"<th[^>]*data-pseudonym>([^<]+)</th>", page.text)
    # Disclosure control withholds people still in a small age-band and sex group: the rest
    # are those counted, in the same order (k-anonymity itself: test_disclosure_control).
    assert shown and shown == [n for n in everyone if n in set(shown)][:500]
    assert pseudonyms(key, [objector])[0] not in page.text
    count = re.search(r'data-count="people">([^<]+)<', page.text)
    assert count and count[1] == f"{suppress_count(len(counted) - 1):,}"
    (event,) = events(world, ACTION)
    assert event.detail["identifiable"] is False
    assert event.purpose.startswith("commissioning")


def test_roles_without_case_finding_are_refused(world: World) -> None:
    admin = add_user(world, "administrator", ())
    assert client_as(world, admin).get(_url(world.practices[0])).status_code == 403
