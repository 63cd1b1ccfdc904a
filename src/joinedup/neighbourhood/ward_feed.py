"""Device readings sent to the FHIR API (issue 15; ADR 0033): what a request body holds, read
into the same `readings.ReadingsBatch` as ``joinedup ward ingest`` reads from files, and
recorded by the same `ward_ingest.ingest` (all or nothing).

Three bodies, as a remote-monitoring platform sends them:

* **one Observation** (``POST /api/fhir/Observation``, ``application/fhir+json``): a set of one
  parameter. A device sends a set's several Observations together — one Bundle or one NDJSON
  body — since a second body at the same time is refused as a set already recorded;
* **bulk NDJSON** (the same route, ``application/fhir+ndjson``): one Observation a line, the
  FHIR bulk-data format;
* **a transaction or batch Bundle** (``POST /api/fhir``): each entry an Observation to create
  (``request.method`` POST, ``request.url`` ``Observation``). A batch is held to the same rule
  as a transaction — nothing partial is stored — because a set's Observations are scored
  together (a batch that stored the good half of a set would score a set nobody took).
  Entries of other resource types (a Patient or Device a platform carries along) are skipped and
  said so, as the file ingest does.

Web-free: the route reads the body and hands the bytes here; `joinedup.interop.fhir_readings`
turns the result into FHIR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.roles import Principal
from joinedup.neighbourhood import readings, ward_ingest
from joinedup.population.store import PopulationStore

Body = Literal["observation", "ndjson", "bundle"]
BUNDLE_TYPES = ("transaction", "batch")


@dataclass
class EntryOutcome:
    """What became of one Bundle entry: ``created`` (its readings stored), ``skipped`` (not a
    reading), or — when nothing was stored — ``refused``."""

    state: str
    note: str = ""


@dataclass
class FeedResult:
    """The ingest's result, plus the Bundle's type and each entry's outcome (Bundles only)."""

    ingest: ward_ingest.IngestResult
    bundle_type: str | None = None
    entries: list[EntryOutcome] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return self.ingest.committed

    @property
    def unparseable(self) -> bool:
        """The body itself is not JSON (a bad NDJSON line is a rejected record instead)."""
        return any(
            r.location == "body" and "not valid JSON" in r.reason for r in self.ingest.rejects
        )


def receive(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    actor: Principal,
    body: bytes,
    kind: Body,
) -> FeedResult:
    """Read `body` as `kind` and record its sets, or nothing (every problem in the result)."""
    ward_ingest.check_can_send(actor)
    bundle_type = None
    entries: list[EntryOutcome] = []
    batch = readings.ReadingsBatch()
    if kind == "ndjson":
        for item in readings.read_ndjson(body.splitlines(), "NDJSON"):
            batch.add(item)
        if not (batch.readings or batch.rejects or batch.skipped):
            batch.add(readings.Rejected("body", "is empty: no resources"))
    elif kind == "observation":
        _observation(body, batch)
    else:
        bundle_type = _bundle(body, batch, entries)
    result = FeedResult(ward_ingest.ingest(sessions, store, actor, batch), bundle_type, entries)
    if not result.stored:
        for entry in entries:
            if entry.state == "created":
                entry.state = "refused"
    return result


def _parsed(body: bytes, batch: readings.ReadingsBatch) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        batch.add(readings.Rejected("body", f"is not valid JSON ({exc})"))
        return None


def _observation(body: bytes, batch: readings.ReadingsBatch) -> None:
    resource = _parsed(body, batch)
    if resource is None and batch.rejects:
        return
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        batch.add(
            readings.Rejected(
                "body",
                "is not an Observation (send a Bundle to the base, /api/fhir, and NDJSON as "
                "application/fhir+ndjson)",
            )
        )
        return
    for item in readings.read_resource(resource, "Observation"):
        batch.add(item)


def _bundle(body: bytes, batch: readings.ReadingsBatch, entries: list[EntryOutcome]) -> str | None:
    document = _parsed(body, batch)
    if document is None and batch.rejects:
        return None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        batch.add(readings.Rejected("body", "is not a Bundle"))
        return None
    bundle_type = document.get("type")
    if bundle_type not in BUNDLE_TYPES:
        batch.add(
            readings.Rejected(
                "Bundle.type",
                f"is {bundle_type!r}: the base takes a transaction or batch Bundle",
            )
        )
        return None
    listed = document.get("entry") or []
    if not isinstance(listed, list) or not listed:
        batch.add(readings.Rejected("Bundle.entry", "holds no entries"))
        return str(bundle_type)
    for index, entry in enumerate(listed):
        where = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        problem = _request_problem(entry, resource)
        if problem:
            batch.add(readings.Rejected(where, problem))
            entries.append(EntryOutcome("refused", problem))
            continue
        items = list(readings.read_resource(resource, where))
        for item in items:
            batch.add(item)
        skipped = [i for i in items if isinstance(i, readings.Skipped)]
        rejected = [i for i in items if isinstance(i, readings.Rejected)]
        if rejected:
            entries.append(EntryOutcome("refused", rejected[0].reason))
        elif skipped:
            entries.append(EntryOutcome("skipped", skipped[0].what))
        else:
            entries.append(EntryOutcome("created"))
    return str(bundle_type)


def _request_problem(entry: Any, resource: Any) -> str | None:
    """A transaction or batch entry creates its resource: request POST to its type."""
    if not isinstance(resource, dict):
        return "entry has no resource"
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        return "entry has no request (method POST, url the resource type)"
    kind = resource.get("resourceType")
    if request.get("method") != "POST" or request.get("url") != kind:
        return (
            f"request is {request.get('method')} {request.get('url')}: readings are created "
            f"with POST {kind}"
        )
    return None
