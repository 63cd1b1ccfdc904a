"""FHIR files on disk: which files to read and in what order, and bundles streamed with ijson.

A first pass of parser events (no objects built) collects the fullUrl aliases of Patients,
Organizations and Practitioners and whether definitions come late; a second yields
``Bundle.entry`` items one at a time, so memory is flat whatever the file size.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

# Read definitions before the records that refer to them when NDJSON comes as one file per type.
FILE_ORDER = ("Organization", "Practitioner", "Patient", "Appointment")

# Read before the records that refer to them (encounters name their practice and clinician,
# and the appointment that booked them).
DEFINITION_TYPES = frozenset({"Organization", "Practitioner", "Appointment"})
DEFINITIONS = "definitions"
# The only types other entries refer to in what is mapped (subject, serviceProvider,
# generalPractitioner, participant, appointment): their fullUrl aliases are kept, O(people and
# appointments), not O(entries).
_ALIASED_TYPES = frozenset({"Patient", "Organization", "Practitioner", "Appointment"})
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


class UnreadableJson(ValueError):
    """A file that is not JSON text (the message is the reason for the rejects file)."""


@dataclass
class BundleScan:
    """What a first, object-free pass over a JSON file finds: enough to read it in a second."""

    resource_type: str | None = None
    bundle_type: Any = None
    entry_not_list: bool = False
    definitions_late: bool = False
    aliases: dict[str, str] = field(default_factory=dict)


def is_definition(resource: Any) -> bool:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return isinstance(kind, str) and kind in DEFINITION_TYPES


def _open_json(path: Path) -> IO[bytes]:
    """`path` opened for ijson, past a UTF-8 byte order mark (ijson does not skip one)."""
    handle = path.open("rb")
    if handle.read(3) != _BOM:
        handle.seek(0)
    return handle


def json_file_problem(path: Path) -> str | None:
    """Why `path` cannot be a JSON resource before parsing starts: empty, or not UTF-8 text."""
    with path.open("rb") as handle:
        first = handle.read(_CHUNK)
        if not first.removeprefix(_BOM).strip() and not handle.read(1):
            return "file is empty: no bundle or resource"
    return None


def _utf8_problem(path: Path) -> str | None:
    """Where `path` stops being UTF-8, read in chunks (only asked after the parser says so)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return f"file is not UTF-8 text (byte {offset + exc.start + 1})"
            offset += len(chunk)
    return None


def _json_reason(exc: Exception, path: Path) -> str:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text:
        return _utf8_problem(path) or "file is not UTF-8 text"
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"file is not valid JSON ({first_line}; is it cut short?)"


def scan_bundle(path: Path) -> BundleScan:
    """One pass of parser events (no objects built): the top-level resourceType and Bundle.type,
    the fullUrl aliases of the entries others refer to, and whether Organizations or
    Practitioners come after the records that use them. Raises `UnreadableJson`."""
    scan = BundleScan()
    entry_type: Any = None
    entry_id: Any = None
    entry_url: Any = None
    seen_record = False
    try:
        with _open_json(path) as handle:
            for prefix, event, value in ijson.parse(handle):
                if not prefix.startswith("entry"):
                    if prefix == "resourceType" and event == "string":
                        scan.resource_type = value
                    elif prefix == "type" and event != "map_key":
                        scan.bundle_type = value
                elif prefix == "entry.item.resource.resourceType":
                    entry_type = value
                elif prefix == "entry.item.resource.id":
                    entry_id = value
                elif prefix == "entry.item.fullUrl":
                    entry_url = value
                elif prefix == "entry.item" and event == "end_map":
                    named = isinstance(entry_url, str) and isinstance(entry_id, str)
                    if entry_type in _ALIASED_TYPES and named:
                        scan.aliases[entry_url] = f"{entry_type}/{entry_id}"
                    if entry_type in DEFINITION_TYPES and seen_record:
                        scan.definitions_late = True
                    elif entry_type not in _ALIASED_TYPES:
                        seen_record = True
                    entry_type = entry_id = entry_url = None
                elif prefix == "entry" and event not in ("start_array", "end_array", "null"):
                    scan.entry_not_list = True
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise UnreadableJson(_json_reason(exc, path)) from None
    return scan


def stream_entries(path: Path) -> Iterator[tuple[int, Any]]:
    """Bundle.entry items one at a time, with their index (memory: one entry)."""
    with _open_json(path) as handle:
        yield from enumerate(ijson.items(handle, "entry.item", use_float=True))


# --- validation against the FHIR R4B models -----------------------------------------------


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The FHIR files under `paths` (folders searched for *.json and *.ndjson), in reading
    order: NDJSON files of Organization, Practitioner and Patient first, then the rest by name."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in (".json", ".ndjson")
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist")

    def rank(p: Path) -> tuple[int, str]:
        stem = p.name.split(".")[0]
        for index, kind in enumerate(FILE_ORDER):
            if p.suffix == ".ndjson" and stem.startswith(kind):
                return index, p.name
        # Provider bundles (Synthea's hospital/practitioner files) define organisations.
        if "Information" in p.name:
            return 0, p.name
        return len(FILE_ORDER), p.name

    return sorted(found, key=rank)
