"""The FHIR reader: files into reader items, each resource validated and handed to the mapper
of its family (`patients`, `encounters`, `events`, `medications`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from joinedup.population.ingest.fhir import encounters, events, medications, patients
from joinedup.population.ingest.fhir.bundles import (
    DEFINITIONS,
    BundleScan,
    UnreadableJson,
    expand_paths,
    is_definition,
    json_file_problem,
    scan_bundle,
    stream_entries,
)
from joinedup.population.ingest.fhir.datatypes import FieldError
from joinedup.population.ingest.fhir.links import Links
from joinedup.population.ingest.fhir.patients import implied_registrations
from joinedup.population.ingest.fhir.validation import model_problem
from joinedup.population.ingest.records import ReaderItem, Rejected, Unsupported

Mapper = Callable[[Links, dict[str, Any], str, str], Iterator[ReaderItem]]
# The resource types read, each with its mapper; any other type is counted as unsupported.
MAPPERS: dict[str, Mapper] = {
    "Patient": patients.map_patient,
    "Organization": patients.map_organization,
    "Practitioner": patients.map_practitioner,
    "Appointment": encounters.map_appointment,
    "Encounter": encounters.map_encounter,
    "Condition": events.map_condition,
    "Observation": events.map_observation,
    "Procedure": events.map_procedure,
    "CarePlan": events.map_careplan,
    "MedicationRequest": medications.map_medicationrequest,
    "MedicationStatement": medications.map_medicationstatement,
}
TABLE_OF = {
    "Patient": "patients",
    "Condition": "clinical_events",
    "Observation": "clinical_events",
    "Procedure": "clinical_events",
    "CarePlan": "clinical_events",
    "MedicationRequest": "medications",
    "MedicationStatement": "medications",
}


class FhirReader:
    """Reads FHIR files into reader items; one instance per batch (it links across files)."""

    def __init__(self, *, validate: bool = True) -> None:
        self.validate = validate
        self.links = Links()

    def read(self, paths: Sequence[Path]) -> Iterator[ReaderItem]:
        for path in expand_paths(paths):
            if path.suffix == ".ndjson":
                yield from self._read_ndjson(path)
            else:
                yield from self._read_json(path)
        yield from implied_registrations(self.links)

    def _read_ndjson(self, path: Path) -> Iterator[ReaderItem]:
        with path.open("rb") as handle:
            seen_any = False
            for number, raw in enumerate(handle, start=1):
                location = f"{path.name} line {number}"
                if not raw.strip():
                    continue
                seen_any = True
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield Rejected(location, f"line is not UTF-8 text (byte {exc.start + 1})")
                    continue
                try:
                    resource = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Rejected(
                        location, f"line is not valid JSON: {exc.msg} at column {exc.colno}"
                    )
                    continue
                yield from self._resource(resource, location)
            if not seen_any:
                yield Rejected(path.name, "file is empty: no resources")

    def _read_json(self, path: Path) -> Iterator[ReaderItem]:
        """A bundle (streamed: its entries one at a time) or a single resource."""
        problem = json_file_problem(path)
        if problem:
            yield Rejected(path.name, problem)
            return
        try:
            scan = scan_bundle(path)
        except UnreadableJson as exc:
            yield Rejected(path.name, str(exc))
            return
        if scan.resource_type is None:
            yield Rejected(path.name, "file is not a FHIR resource (no resourceType)")
            return
        if scan.resource_type != "Bundle":  # one resource: small, read whole
            with path.open("rb") as handle:
                document = json.loads(handle.read().decode("utf-8-sig"))
            yield from self._resource(document, path.name)
            return
        yield from self._bundle(path, scan)

    def _bundle(self, path: Path, scan: BundleScan) -> Iterator[ReaderItem]:
        name = path.name
        kind = scan.bundle_type
        if kind not in ("transaction", "collection", "batch", "searchset", "message", "document"):
            yield Rejected(name, f"Bundle.type {kind!r} is not a bundle of resources to load")
            return
        if scan.entry_not_list:
            yield Rejected(name, "Bundle.entry is not a list")
            return
        self.links.aliases = scan.aliases
        # Organizations, Practitioners and Appointments are read before the records that refer
        # to them; in
        # the usual bundle they already come first, so one streamed pass does.
        passes = [DEFINITIONS, None] if scan.definitions_late else [None]
        for wanted in passes:
            for index, entry in stream_entries(path):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                definition = is_definition(resource)
                if wanted is DEFINITIONS and not definition:
                    continue
                if wanted is None and len(passes) == 2 and definition:
                    continue
                yield from self._entry(entry, f"{name} entry {index + 1}")
        self.links.aliases = {}

    def _entry(self, entry: Any, location: str) -> Iterator[ReaderItem]:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            yield Rejected(location, "Bundle entry has no resource")
            return
        request = entry.get("request")
        if isinstance(request, dict) and request.get("method") == "DELETE":
            yield Unsupported("request", location, "DELETE entries are not applied")
            return
        yield from self._resource(entry["resource"], location)

    def _resource(self, resource: Any, location: str) -> Iterator[ReaderItem]:
        if not isinstance(resource, dict):
            yield Rejected(location, "is not a FHIR resource (not a JSON object)")
            return
        kind = resource.get("resourceType")
        rid = resource.get("id")
        if not isinstance(kind, str) or not kind:
            yield Rejected(location, "has no resourceType")
            return
        if kind not in MAPPERS:
            yield Unsupported("resource type", location, kind)
            return
        if not isinstance(rid, str) or not rid:
            yield Rejected(
                location, f"{kind} has no id, so it cannot be recognised when sent again"
            )
            return
        label = f"{kind}/{rid}"
        if self.validate:
            problem = model_problem(resource)
            if problem:
                yield Rejected(location, f"{label}: {problem}", TABLE_OF.get(kind))
                return
        try:
            items = list(MAPPERS[kind](self.links, resource, label, location))
        except FieldError as exc:
            yield Rejected(location, f"{label}: {exc}", TABLE_OF.get(kind))
            return
        except (TypeError, AttributeError, KeyError, ValueError) as exc:  # shape we did not expect
            yield Rejected(
                location,
                f"{label}: unexpected structure ({type(exc).__name__}: {exc})",
                TABLE_OF.get(kind),
            )
            return
        yield from items


def read_fhir(paths: Sequence[Path]) -> Iterator[ReaderItem]:
    """Reader items from FHIR bundles and NDJSON files (or folders of them)."""
    return FhirReader().read(paths)
