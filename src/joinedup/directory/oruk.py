"""Reading Open Referral UK (ORUK) v3 service records: the file's shapes, and each record checked
against the fields joinedup keeps.

The standard: Open Referral UK, the UK profile (v3) of the Human Services Data Specification
3.0 — OpenReferralUK/uk-profile, licensed CC BY-SA 4.0 by the Open Referral project. The models
below hold the profile's fields that joinedup stores, with the types, required fields and enums
of its compiled schemas (``schema/compiled/service.json``); the tests hold them to those schema
files, and hold every API response to them too. Fields joinedup does not keep (funding,
service areas, deprecated ``fees``) are ignored on import.

The file (`read_records`) may be one service, a list of services, an ORUK page (``{"total_items":
…, "contents": [services]}``), a list of pages, or several of these one after another (as
page files concatenated, or NDJSON). Each service found is a `RawRecord` with the line it
starts on. The JSON is walked record by record, so a file that breaks part-way (truncated, or
corrupt) still yields every record before the break, and the break is one rejection saying
where it is and that nothing after it could be read. Bytes that are not UTF-8 reject only the
records whose text holds them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

# --- the fields joinedup keeps --------------------------------------------------------------


def _oruk_id(value: str) -> str:
    """A UUID in its canonical lower-case form (ORUK ids are UUIDs)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not a web address (http:// or https://)")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _time(value: str) -> str:
    if not _TIME.match(value):
        raise ValueError(f"{value!r} is not a time of day (hh:mm or hh:mm:ss)")
    return value if len(value) == 8 else value + ":00"


def _byday(value: str) -> str:
    days = [day.strip() for day in value.split(",")]
    if not all(_BYDAY.match(day) for day in days):
        raise ValueError(f"{value!r} is not a list of RFC 5545 days (MO,TU,…)")
    return ",".join(days)


def _bymonthday(value: str) -> str:
    days = [day.strip() for day in value.split(",")]
    if not all(re.fullmatch(r"-?\d{1,2}", d) and 1 <= abs(int(d)) <= 31 for d in days):
        raise ValueError(f"{value!r} is not a list of days of the month (1–31)")
    return ",".join(days)


def _utc(value: dt.datetime) -> dt.datetime:
    """An instant in UTC; a time with no zone is taken as UTC (as ORUK's examples write)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


OrukId = Annotated[str, AfterValidator(_oruk_id)]
Url = Annotated[str, AfterValidator(_url)]
Email = Annotated[str, AfterValidator(_email)]
TimeOfDay = Annotated[str, AfterValidator(_time)]
Instant = Annotated[dt.datetime, AfterValidator(_utc)]
Age = Annotated[float, Field(ge=0, le=150)]
LocationType = Literal["physical", "postal", "virtual"]


class _Entity(BaseModel):
    # Strict: a number where text belongs (or text where a number belongs) is refused, not
    # converted. Fields not listed are ignored (funding, service areas, …).
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    id: OrukId


class Taxonomy(_Entity):
    name: str
    description: str
    uri: Url | None = None
    version: str | None = None


class TaxonomyTerm(_Entity):
    name: str
    description: str
    term: str | None = None
    parent_id: OrukId | None = None
    taxonomy: str | None = None  # the taxonomy's name, as ORUK terms carry it
    taxonomy_id: OrukId | None = None
    term_uri: Url | None = None


class Attribute(_Entity):
    taxonomy_term_id: OrukId | None = None
    link_type: str | None = None
    taxonomy_term: TaxonomyTerm | None = None


class Organization(_Entity):
    name: str
    description: str
    email: Email | None = None
    website: Url | None = None
    uri: Url | None = None
    logo: str | None = None
    parent_organization_id: OrukId | None = None


class Address(_Entity):
    attention: str | None = None
    address_1: str
    city: str
    region: str | None = None
    state_province: str
    postal_code: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    address_type: LocationType


class Accessibility(_Entity):
    description: str | None = None
    details: str | None = None
    url: Url | None = None


class Location(_Entity):
    location_type: LocationType
    name: str | None = None
    description: str | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    external_identifier: str | None = None
    external_identifier_type: str | None = None
    addresses: list[Address] = []
    accessibility: list[Accessibility] = []


class ServiceAtLocation(_Entity):
    location_id: OrukId | None = None
    location: Location | None = None


class Schedule(_Entity):
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    dtstart: dt.date | None = None
    freq: Literal["WEEKLY", "MONTHLY"] | None = None
    interval: Annotated[int, Field(ge=1)] | None = None
    byday: Annotated[str, AfterValidator(_byday)] | None = None
    bymonthday: Annotated[str, AfterValidator(_bymonthday)] | None = None
    description: str | None = None
    opens_at: TimeOfDay | None = None
    closes_at: TimeOfDay | None = None
    schedule_link: Url | None = None
    attending_type: str | None = None
    notes: str | None = None


class CostOption(_Entity):
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    option: str | None = None
    amount: Annotated[float, Field(ge=0)] | None = None
    amount_description: str | None = None


class Phone(_Entity):
    number: str
    description: str | None = None


class Contact(_Entity):
    name: str | None = None
    title: str | None = None
    # HSDS 3.0 keeps a contact's phones here; the UK profile leaves phones out of the service
    # tree, so a UK feed simply has none (see ADR 0015).
    phones: list[Phone] = []


class Language(_Entity):
    name: str | None = None
    code: str | None = None  # ISO 639


class Service(_Entity):
    organization_id: OrukId | None = None
    organization: Organization | None = None
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    url: Url | None = None
    email: Email | None = None
    status: Literal["active", "inactive", "defunct", "temporarily closed"]
    accreditations: str | None = None
    minimum_age: Age | None = None
    maximum_age: Age | None = None
    assured_date: dt.date | None = None
    assurer_email: Email | None = None
    alert: str | None = None
    last_modified: Instant | None = None
    schedules: list[Schedule] = []
    service_at_locations: list[ServiceAtLocation] = []
    languages: list[Language] = []
    cost_options: list[CostOption] = []
    contacts: list[Contact] = []
    attributes: list[Attribute] = []


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 of a canonical JSON document (keys sorted): equal content, equal hash."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """A model as its ORUK JSON document, unset fields left out."""
    return model.model_dump(mode="json", exclude_none=True, exclude=exclude)


# --- reading the file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A record that was not loaded, and why (in words a person can act on)."""

    line: int
    reason: str


@dataclass(frozen=True)
class RawRecord:
    """One service record as found in the file, with the line it starts on."""

    line: int
    value: object


class _Broken(Exception):
    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


_WHITESPACE = re.compile(r"[ \t\n\r]*")
# The lone surrogates `decode_bytes` keeps for bytes that are not UTF-8.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class _Walker:
    """Walks the outer layers of the file (lists, pages) so each service has a position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.record_start = 0  # where the record being read began, for a break's rejection
        self.decoder = json.JSONDecoder()

    def skip(self) -> str:
        self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.text[self.pos : self.pos + 1]

    def decode(self) -> object:
        self.skip()
        try:
            value, self.pos = self.decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise _Broken(exc.pos, exc.msg) from None
        return value

    def expect(self, char: str) -> None:
        if self.skip() != char:
            found = self.text[self.pos : self.pos + 1] or "the end of the file"
            raise _Broken(self.pos, f"expected {char!r} but found {found!r}")
        self.pos += 1

    def values(self) -> Iterator[tuple[int, object]]:
        while self.skip():
            yield from self.value()

    def value(self) -> Iterator[tuple[int, object]]:
        char = self.skip()
        self.record_start = self.pos
        if char == "[":
            yield from self.array()
        elif char == "{":
            yield from self.object()
        else:
            start = self.pos
            yield start, self.decode()

    def array(self) -> Iterator[tuple[int, object]]:
        self.expect("[")
        if self.skip() == "]":
            self.pos += 1
            return
        while True:
            yield from self.value()
            if self.skip() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return

    def object(self) -> Iterator[tuple[int, object]]:
        """A page (its `contents` walked record by record) or one service record."""
        self.skip()
        start = self.pos
        self.expect("{")
        fields: dict[str, object] = {}
        page = False
        if self.skip() == "}":
            self.pos += 1
            yield start, fields
            return
        while True:
            key = self.decode()
            if not isinstance(key, str):
                raise _Broken(self.pos, "expected a field name in double quotes")
            self.expect(":")
            if key == "contents" and self.skip() == "[":
                page = True
                yield from self.array()
            else:
                fields[key] = self.decode()
            if self.skip() == ",":
                self.pos += 1
                continue
            self.expect("}")
            break
        if not page:
            yield start, fields


def read_records(text: str) -> tuple[list[RawRecord], list[Rejection]]:
    """Every service record in the file with its line, and the break in the file, if any."""
    newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line_of(pos: int) -> int:
        return bisect.bisect_right(newlines, pos - 1) + 1

    walker = _Walker(text)
    records: list[RawRecord] = []
    rejected: list[Rejection] = []
    try:
        for pos, value in walker.values():
            records.append(RawRecord(line_of(pos), value))
    except _Broken as broken:
        where = line_of(broken.pos)
        column = broken.pos - (newlines[where - 2] if where > 1 else -1)
        rejected.append(
            Rejection(
                line_of(walker.record_start),
                f"the JSON breaks at line {where} column {column} ({broken.message}): the "
                "record there and everything after it could not be read",
            )
        )
    if not records and not rejected:
        rejected.append(Rejection(1, "the file holds no JSON: it is empty"))
    return records, rejected


def decode_bytes(data: bytes) -> str:
    """The file's text; bytes that are not UTF-8 are kept as lone surrogates, so only the
    records holding them are rejected (`check_record` names them)."""
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the record"


def record_label(value: object) -> str:
    """How a rejection names the record: its id when it has a usable one."""
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return f"service {value['id']}"
    return "the record"


def check_record(record: RawRecord) -> Service | Rejection:
    """The record as a `Service`, or its rejection naming every field that is wrong."""
    label = record_label(record.value)
    if not isinstance(record.value, dict):
        kind = type(record.value).__name__
        return Rejection(record.line, f"a service must be a JSON object, not a {kind}")
    text = json.dumps(record.value, ensure_ascii=False)
    if _UNDECODABLE.search(text):
        return Rejection(record.line, f"{label} holds bytes that are not UTF-8 text")
    try:
        # Validated as JSON, so strict mode still reads dates, times and UUIDs from strings.
        service = Service.model_validate_json(text)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {_message(e)}" for e in exc.errors()[:5]]
        more = len(exc.errors()) - len(problems)
        tail = f" (and {more} more)" if more > 0 else ""
        return Rejection(record.line, f"{label}: " + "; ".join(problems) + tail)
    problem = _inner_problem(service)
    return Rejection(record.line, f"{label}: {problem}") if problem else service


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _inner_problem(service: Service) -> str | None:
    """What is inconsistent inside one record (repeated ids, a term id that disagrees)."""
    if (
        service.minimum_age is not None
        and service.maximum_age is not None
        and service.minimum_age > service.maximum_age
    ):
        return "minimum_age is above maximum_age"
    owned = [
        *(("schedule", s.id) for s in service.schedules),
        *(("service_at_location", s.id) for s in service.service_at_locations),
        *(("language", x.id) for x in service.languages),
        *(("cost_option", c.id) for c in service.cost_options),
        *(("contact", c.id) for c in service.contacts),
        *(("phone", p.id) for c in service.contacts for p in c.phones),
        *(("attribute", a.id) for a in service.attributes),
    ]
    seen: set[tuple[str, str]] = set()
    for key in owned:
        if key in seen:
            return f"the {key[0]} id {key[1]} appears twice"
        seen.add(key)
    for attribute in service.attributes:
        term = attribute.taxonomy_term
        if term is None and attribute.taxonomy_term_id is None:
            return f"attribute {attribute.id} names no taxonomy term"
        if term is not None and attribute.taxonomy_term_id not in (None, term.id):
            return f"attribute {attribute.id}: taxonomy_term_id differs from its taxonomy_term"
        if term is not None and term.taxonomy_id is None and not term.taxonomy:
            return f"taxonomy term {term.id} names no taxonomy (taxonomy_id or taxonomy)"
    for at in service.service_at_locations:
        if at.location is None and at.location_id is None:
            return f"service_at_location {at.id} names no location"
        if at.location is not None and at.location_id not in (None, at.location.id):
            return f"service_at_location {at.id}: location_id differs from its location"
    if service.organization is not None and service.organization_id not in (
        None,
        service.organization.id,
    ):
        return "organization_id differs from its organization"
    return None
