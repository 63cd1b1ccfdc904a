"""Bundles: a collection or searchset of validated resources, or a searchset as plain JSON
from resource bodies for large searches (or, for the largest, from resources already written
as JSON text: `searchset_json`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource


def searchset_body(
    base: str,
    matches: Sequence[dict[str, Any]],
    included: Sequence[dict[str, Any]] = (),
    outcomes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A searchset Bundle as plain JSON from resource bodies (the `*_body` builders), for large
    searches: building a thousand R4B models costs about a second, so the free-slot search
    answers with the bodies those models validate (the tests validate every such answer)."""
    modes = (
        [("match", r) for r in matches]
        + [("include", r) for r in included]
        + [("outcome", r) for r in outcomes]
    )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "total": len(matches),
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": mode},
            }
            for mode, r in modes
        ],
    }


def searchset_json(
    base: str,
    matches: Sequence[tuple[str, str, str]],
    included: Sequence[dict[str, Any]] = (),
    outcomes: Sequence[dict[str, Any]] = (),
) -> str:
    """`searchset_body` as JSON text, its matches given as (resource type, id, the resource as
    JSON text): a thousand slots are written from text fragments in a few milliseconds, where
    building and serialising their dicts took some thirty (bench/RESULTS.md). The text parses
    to the same Bundle as `searchset_body` would give for the same resources."""
    head = searchset_body(base, [], included, outcomes)
    head["total"] = len(matches)
    rest = [json.dumps(entry) for entry in head.pop("entry")]
    prefix = json.dumps(base)[1:-1]  # the base as it appears inside a JSON string
    found = [
        f'{{"fullUrl": "{prefix}{kind}/{key}", "resource": {text}, "search": {{"mode": "match"}}}}'
        for kind, key, text in matches
    ]
    return json.dumps(head)[:-1] + ', "entry": [' + ", ".join(found + rest) + "]}"


def bundle(resources: Sequence[Resource], kind: str = "collection", base: str = "") -> Bundle:
    """A Bundle of `resources` (``collection`` or ``searchset``, with the total)."""
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": kind,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "entry": [
            {
                "fullUrl": f"{base}{r.get_resource_type()}/{r.id}",
                "resource": r,
                **({"search": {"mode": "match"}} if kind == "searchset" else {}),
            }
            for r in resources
        ]
        or None,
    }
    if kind == "searchset":
        body["total"] = len(resources)
    return Bundle.model_validate(body)
