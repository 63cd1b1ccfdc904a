"""A shape of Observation is validated by R4B once; later ones of that shape are read straight
from the JSON after their changing values are checked. The result must be exactly what the full
R4B path gives, for good and bad readings alike (ADR 0026)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation

from joinedup.neighbourhood import reading_shapes, readings
from tests.unit.test_readings import WHEN, bp_panel, coded_obs, quantity_obs


def _full_path(resource: dict[str, Any]) -> list[readings.Item]:
    """What the R4B model makes of the resource (the path every new shape takes)."""
    problem = readings.model_problem(resource)
    if problem:
        return [
            readings.Rejected(f"x ({resource['resourceType']}/{resource.get('id', '?')})", problem)
        ]
    return list(readings._items(Observation.model_validate(resource), "x"))


def _cached_path(resource: dict[str, Any]) -> list[readings.Item]:
    """The same resource read after another of its shape taught the cache."""
    teacher = copy.deepcopy(resource)
    teacher["id"] = "teacher"
    list(readings.read_resource_json(json.dumps(teacher), "x"))
    return list(readings.read_resource_json(json.dumps(resource), "x"))


def _variants() -> list[dict[str, Any]]:
    good = [
        quantity_obs("8867-4", 88, "/min"),
        quantity_obs("8310-5", 99.5, "[degF]"),
        quantity_obs("59408-5", 97, "%"),
        bp_panel(131, 82),
        coded_obs("1104441000000107", "130987000"),
        coded_obs("371825009"),
    ]
    bad = []
    for change in (
        {"effectiveDateTime": "2026-11-02T09:30:00"},  # no timezone: not a FHIR dateTime
        {"effectiveDateTime": "2026-11-02"},  # a date: cannot be placed in time
        {"effectiveDateTime": "2026-11-02T23:59:60Z"},  # a leap second
        {"id": "has spaces"},
        {"id": "x" * 65},
        {"subject": {"reference": ""}},
        {"status": "entered-in-error"},
    ):
        bad.append({**quantity_obs("8867-4", 88, "/min"), **change})
    bad += [bp_panel(131, 250), quantity_obs("8310-5", 200, "[degF]")]  # read by plan
    good.append(
        {
            **quantity_obs("8867-4", 88, "/min"),
            "performer": [{"reference": "Patient/9434765919"}],
            "device": {"display": "home kit"},
        }
    )
    for value in (True, "88", 400, float("nan")):
        item = quantity_obs("8867-4", 88, "/min")
        item["valueQuantity"]["value"] = value
        bad.append(item)
    return good + bad


@pytest.mark.parametrize("resource", _variants(), ids=lambda r: json.dumps(r)[-60:])
def test_the_cached_path_gives_what_r4b_gives(resource: dict[str, Any]) -> None:
    if resource.get("valueQuantity", {}).get("value") != resource.get("valueQuantity", {}).get(
        "value"
    ):  # NaN is not JSON: the file would not parse, so there is nothing to compare
        assert reading_shapes.shape_of(resource) is None
        return
    assert _cached_path(resource) == _full_path(resource)


def test_a_changed_constant_is_a_new_shape_that_r4b_validates() -> None:
    known = quantity_obs("8867-4", 88, "/min")
    list(readings.read_resource_json(json.dumps(known), "x"))
    odd = copy.deepcopy(known)
    odd["valueQuantity"]["colour"] = "red"  # not an element of Quantity: R4B refuses it
    assert reading_shapes.shape_of(odd) != reading_shapes.shape_of(known)
    (item,) = readings.read_resource_json(json.dumps(odd), "x")
    assert isinstance(item, readings.Rejected) and "colour" in item.reason


def test_shapes_ignore_only_the_changing_values() -> None:
    one = quantity_obs("8867-4", 88, "/min")
    two = {**quantity_obs("8867-4", 91.5, "/min"), "id": "other", "effectiveDateTime": WHEN}
    two["subject"] = {"reference": "Patient/9434765919"}
    assert reading_shapes.shape_of(one) == reading_shapes.shape_of(two)
    three = quantity_obs("8867-4", 88, "{beats}/min")
    assert reading_shapes.shape_of(one) != reading_shapes.shape_of(three)
