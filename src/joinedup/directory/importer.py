"""Importing Open Referral UK service records into the directory.

`import_directory` takes one or more files (a folder of page files is several), reads every
service record (`joinedup.directory.oruk`), and checks each on its own and against the rest:

* a service id twice: the later one is rejected;
* an organisation, location, taxonomy term or taxonomy that another record of the import
  describes differently: the later record is rejected (one import describes each once);
* an id of a schedule, contact, cost option … already used by another service: rejected;
* a reference to an organisation, location or taxonomy term (by id only) that neither the
  import nor the directory holds, or a term whose taxonomy is known by neither id nor name:
  rejected ("bad taxonomy reference").

The records that pass are written in one transaction with one audit event (the care store's
unit of work), as one numbered import batch; with ``strict`` nothing is written if any record
is rejected. Each service is compared with what the directory holds by the SHA-256 of its own
canonical content: the same content is "unchanged" and not written; changed content replaces
the service with its schedules, contacts, costs, languages, term links and places. Shared
entities (organisations, locations with their addresses and accessibility, taxonomy terms) are
upserted once each, by their own content hash. Services missing from a later import are kept:
a feed may be partial, and a publisher retires a service by giving it status "defunct".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.directory import models as m
from joinedup.directory.oruk import (
    Location,
    Rejection,
    Service,
    TaxonomyTerm,
    check_record,
    content_hash,
    decode_bytes,
    document,
    read_records,
)
from joinedup.directory.taxonomies import known_taxonomy, taxonomy_id_for_name

PURPOSE = "directory: community services"


@dataclass(frozen=True)
class SourceFile:
    """One file of an import: its name (for reports) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ImportReport:
    records: int
    created: int
    updated: int
    unchanged: int
    shared_written: int  # organisations, locations, taxonomies and terms added or changed
    rejected: list[Rejection]
    committed: bool
    batch_id: int | None

    @property
    def loaded(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def no_changes(self) -> bool:
        return self.committed and not (self.created or self.updated or self.shared_written)


# --- reading and checking -------------------------------------------------------------------


@dataclass(frozen=True)
class _Accepted:
    line: int
    service: Service
    prefix: str = ""  # "file.json: " when the import has several files


def read_sources(sources: Sequence[SourceFile]) -> tuple[int, list[_Accepted], list[Rejection]]:
    """Records read, the records valid on their own, and the rejections (file-named when the
    import has several files)."""
    count = 0
    accepted: list[_Accepted] = []
    rejected: list[Rejection] = []
    for source in sources:
        records, breaks = read_records(decode_bytes(source.data))
        count += len(records) + len(breaks)
        prefix = f"{source.name}: " if len(sources) > 1 else ""
        rejected += [Rejection(b.line, prefix + b.reason) for b in breaks]
        for record in records:
            checked = check_record(record)
            if isinstance(checked, Rejection):
                rejected.append(Rejection(checked.line, prefix + checked.reason))
            else:
                accepted.append(_Accepted(record.line, checked, prefix))
    return count, accepted, rejected


def _shared_entities(service: Service) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(kind, id, document) of each shared entity a service record describes in full."""
    if service.organization is not None:
        yield "organization", service.organization.id, document(service.organization)
    for at in service.service_at_locations:
        if at.location is not None:
            yield "location", at.location.id, document(at.location)
    for attribute in service.attributes:
        if attribute.taxonomy_term is not None:
            yield (
                "taxonomy term",
                attribute.taxonomy_term.id,
                term_document(attribute.taxonomy_term),
            )


def _claims(service: Service) -> Iterable[tuple[type[m.Base], str, str]]:
    """(table, id, owner id) of every row the record owns outright: the service's own rows,
    its contacts' phones, and its locations' addresses and accessibility."""
    yield from ((m.DirectorySchedule, s.id, service.id) for s in service.schedules)
    yield from (
        (m.DirectoryServiceAtLocation, s.id, service.id) for s in service.service_at_locations
    )
    yield from ((m.DirectoryLanguage, x.id, service.id) for x in service.languages)
    yield from ((m.DirectoryCostOption, c.id, service.id) for c in service.cost_options)
    yield from ((m.DirectoryContact, c.id, service.id) for c in service.contacts)
    yield from ((m.DirectoryPhone, p.id, c.id) for c in service.contacts for p in c.phones)
    yield from ((m.DirectoryServiceTerm, a.id, service.id) for a in service.attributes)
    for at in service.service_at_locations:
        if at.location is not None:
            loc = at.location
            yield from ((m.DirectoryAddress, a.id, loc.id) for a in loc.addresses)
            yield from ((m.DirectoryAccessibility, a.id, loc.id) for a in loc.accessibility)


#: The column naming the owner of each owned table's rows.
_OWNER_COLUMN: dict[type[m.Base], str] = {
    m.DirectoryPhone: "contact_id",
    m.DirectoryAddress: "location_id",
    m.DirectoryAccessibility: "location_id",
}


IN_CHUNK = 500  # ids per IN (…) list when rows are fetched in bulk


def _named(service: Service) -> Iterable[tuple[type[m.Base], str | None]]:
    """(table, id) of every row a record names, nested or by reference."""
    yield m.DirectoryService, service.id
    org = service.organization
    yield m.DirectoryOrganization, org.id if org else service.organization_id
    for at in service.service_at_locations:
        yield m.DirectoryLocation, at.location.id if at.location else at.location_id
    for attribute in service.attributes:
        term = attribute.taxonomy_term
        yield m.DirectoryTaxonomyTerm, term.id if term else attribute.taxonomy_term_id
        if term is not None:
            yield m.DirectoryTaxonomy, normalised_term(term).taxonomy_id
    for table, row_id, _ in _claims(service):
        yield table, row_id


class _Stored:
    """What the directory holds of the rows an import's records name, fetched in a few bulk
    queries (so thousands of records cost a handful of queries, not several each): for each
    owned row its owner's id, for each service or shared entity its content hash."""

    def __init__(self, session: Session, services: Sequence[Service]) -> None:
        wanted: dict[type[m.Base], set[str]] = defaultdict(set)
        for service in services:
            for table, row_id in _named(service):
                if row_id is not None:
                    wanted[table].add(row_id)
        self.values: dict[type[m.Base], dict[str, str]] = {}
        for table, ids in wanted.items():
            columns = table.__table__.c
            value = (
                columns[_OWNER_COLUMN.get(table, "service_id")]
                if ("content_hash" not in columns)
                else columns.content_hash
            )
            found: dict[str, str] = {}
            ordered = sorted(ids)
            for start in range(0, len(ordered), IN_CHUNK):
                chunk = ordered[start : start + IN_CHUNK]
                rows = session.execute(select(columns.id, value).where(columns.id.in_(chunk)))
                found.update((row_id, held) for row_id, held in rows)
            self.values[table] = found

    def get(self, table: type[m.Base], row_id: str) -> str | None:
        """The owner's id (an owned row) or the content hash (a service or shared entity)."""
        return self.values.get(table, {}).get(row_id)


@dataclass
class _Checker:
    """Checks accepted records against each other and against the directory, in file order."""

    stored: _Stored
    services: dict[str, int] = field(default_factory=dict)  # id → line
    shared: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # → hash, line
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, id) → owner id
    taxonomy_names: dict[str, str] = field(default_factory=dict)  # id → name, from the file

    def problem(self, record: _Accepted) -> str | None:
        service = record.service
        if service.id in self.services:
            return f"appears twice in the import (first at line {self.services[service.id]})"
        for kind, entity_id, doc in _shared_entities(service):
            seen = self.shared.get((kind, entity_id))
            if seen is not None and seen[0] != content_hash(doc):
                return f"{kind} {entity_id} differs from the one at line {seen[1]}"
        return (
            self._owned_problem(service)
            or self._reference_problem(service)
            or self._taxonomy_problem(service)
        )

    def accept(self, record: _Accepted) -> None:
        service = record.service
        self.services[service.id] = record.line
        for kind, entity_id, doc in _shared_entities(service):
            self.shared.setdefault((kind, entity_id), (content_hash(doc), record.line))
        for table, row_id, owner in _claims(service):
            self.owners[(table.__tablename__, row_id)] = owner
        for attribute in service.attributes:
            term = attribute.taxonomy_term
            if term is not None and term.taxonomy_id and term.taxonomy:
                self.taxonomy_names.setdefault(term.taxonomy_id, term.taxonomy)

    def _owned_problem(self, service: Service) -> str | None:
        for table, row_id, owner in _claims(service):
            other = self.owners.get((table.__tablename__, row_id)) or self._stored_owner(
                table, row_id
            )
            if other is not None and other != owner:
                name = table.__tablename__.removeprefix("directory_").rstrip("s")
                return f"the {name} id {row_id} already belongs to {other}"
        return None

    def _stored_owner(self, table: type[m.Base], row_id: str) -> str | None:
        return self.stored.get(table, row_id)

    def _known(self, kind: str, table: type[m.Base], entity_id: str) -> bool:
        return (kind, entity_id) in self.shared or self.stored.get(table, entity_id) is not None

    def _reference_problem(self, service: Service) -> str | None:
        """A shared entity referred to by id only must be in the import or the directory."""
        references: list[tuple[str, type[m.Base], str | None]] = [
            ("organization", m.DirectoryOrganization, service.organization_id)
        ]
        references += [
            ("location", m.DirectoryLocation, at.location_id)
            for at in service.service_at_locations
            if at.location is None
        ]
        references += [
            ("taxonomy term", m.DirectoryTaxonomyTerm, a.taxonomy_term_id)
            for a in service.attributes
            if a.taxonomy_term is None
        ]
        if service.organization is not None:
            references = references[1:]
        for kind, table, entity_id in references:
            if entity_id is not None and not self._known(kind, table, entity_id):
                bad = " (bad taxonomy reference)" if kind == "taxonomy term" else ""
                return f"{kind} {entity_id} is not known{bad}"
        return None

    def _taxonomy_problem(self, service: Service) -> str | None:
        for attribute in service.attributes:
            term = attribute.taxonomy_term
            if term is None or term.taxonomy or term.taxonomy_id is None:
                continue
            stored = self.stored.get(m.DirectoryTaxonomy, term.taxonomy_id)
            if term.taxonomy_id not in self.taxonomy_names and stored is None:
                return (
                    f"taxonomy term {term.id} belongs to taxonomy {term.taxonomy_id}, which is "
                    "not known and not named (bad taxonomy reference)"
                )
        return None


def check_against(
    session: Session, accepted: list[_Accepted]
) -> tuple[list[_Accepted], list[Rejection]]:
    checker = _Checker(_Stored(session, [record.service for record in accepted]))
    good: list[_Accepted] = []
    rejected: list[Rejection] = []
    for record in accepted:
        problem = checker.problem(record)
        if problem is None:
            checker.accept(record)
            good.append(record)
        else:
            reason = f"{record.prefix}service {record.service.id}: {problem}"
            rejected.append(Rejection(record.line, reason))
    return good, rejected


# --- writing --------------------------------------------------------------------------------


def normalised_term(term: TaxonomyTerm) -> TaxonomyTerm:
    """The term with its taxonomy's id, derived from the taxonomy's name when only that is
    given (`joinedup.directory.taxonomies`)."""
    if term.taxonomy_id is not None or not term.taxonomy:
        return term
    return term.model_copy(update={"taxonomy_id": taxonomy_id_for_name(term.taxonomy)})


def term_document(term: TaxonomyTerm) -> dict[str, Any]:
    """A term's own content: its taxonomy by id (the taxonomy's name lives with the taxonomy)."""
    return document(normalised_term(term), exclude={"taxonomy"})


def own_document(service: Service) -> dict[str, Any]:
    """The service's own content: shared entities by id only (they are compared apart)."""
    doc = document(service, exclude={"organization", "service_at_locations", "attributes"})
    if service.organization is not None:
        doc["organization_id"] = service.organization.id
    doc["service_at_locations"] = [
        {"id": at.id, "location_id": at.location.id if at.location else at.location_id}
        for at in service.service_at_locations
    ]
    doc["attributes"] = [
        {
            "id": a.id,
            "taxonomy_term_id": a.taxonomy_term.id if a.taxonomy_term else a.taxonomy_term_id,
            **({"link_type": a.link_type} if a.link_type is not None else {}),
        }
        for a in service.attributes
    ]
    return doc


@dataclass
class _Writer:
    session: Session
    stored: _Stored
    batch_id: int
    shared_written: int = 0
    done: set[tuple[str, str]] = field(default_factory=set)
    # Rows of new and changed services, inserted together by `insert_pending`.
    pending: dict[type[m.Base], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def _upsert(self, key: tuple[str, str], table: type[m.Base], doc: dict[str, Any]) -> None:
        """Insert the entity, or rewrite it when its content changed; once per import."""
        if key in self.done:
            return
        self.done.add(key)
        digest = content_hash(doc)
        held = self.stored.get(table, key[1])
        if held == digest:
            return
        row = None if held is None else self.session.get(table, key[1])
        new = _shared_row(table, doc, digest)
        self.shared_written += 1
        if row is None:
            self.session.add(new)
            return
        # Rewritten in place: services point at it, so it keeps its row.
        for column in table.__table__.columns:
            setattr(row, column.key, getattr(new, column.key))
        if isinstance(row, m.DirectoryLocation) and isinstance(new, m.DirectoryLocation):
            row.addresses.clear()
            row.accessibility.clear()
            self.session.flush()
            row.addresses.extend(new.addresses)
            row.accessibility.extend(new.accessibility)

    def taxonomy(self, taxonomy_id: str, name: str | None) -> None:
        if ("taxonomy", taxonomy_id) in self.done:
            return
        self.done.add(("taxonomy", taxonomy_id))
        if self.stored.get(m.DirectoryTaxonomy, taxonomy_id) is not None or name is None:
            return  # a taxonomy already listed keeps its description
        known = known_taxonomy(name)
        doc = {
            "id": taxonomy_id,
            "name": known.name if known else name,
            "description": known.description
            if known
            else f"Terms published under the taxonomy name {name!r}.",
            **({"uri": known.uri} if known else {}),
            **({"version": known.version} if known and known.version else {}),
        }
        self.session.add(m.DirectoryTaxonomy(**doc, content_hash=content_hash(doc)))
        self.shared_written += 1

    def shared(self, service: Service) -> None:
        if service.organization is not None:
            org = service.organization
            self._upsert(("organization", org.id), m.DirectoryOrganization, document(org))
        for at in service.service_at_locations:
            if at.location is not None:
                loc = at.location
                self._upsert(("location", loc.id), m.DirectoryLocation, document(loc))
        for attribute in service.attributes:
            if attribute.taxonomy_term is not None:
                term = normalised_term(attribute.taxonomy_term)
                assert term.taxonomy_id is not None  # checked: a term names its taxonomy
                self.taxonomy(term.taxonomy_id, term.taxonomy)
                doc = term_document(term)
                self._upsert(("taxonomy term", term.id), m.DirectoryTaxonomyTerm, doc)

    def service(self, service: Service, digest: str) -> str:
        """Write the service; "created", "updated" or "unchanged"."""
        held = self.stored.get(m.DirectoryService, service.id)
        if held == digest:
            return "unchanged"
        existing = None if held is None else self.session.get(m.DirectoryService, service.id)
        if existing is not None:
            self.session.delete(existing)  # with every row it owns (ORM cascade)
            self.session.flush()
        for table, row in _service_rows(service, digest, self.batch_id):
            self.pending[table].append(row)
        return "updated" if existing is not None else "created"

    def insert_pending(self) -> None:
        """Insert the new services' rows in bulk, parents first, after the shared rows."""
        self.session.flush()
        for table in SERVICE_TABLES:
            if self.pending[table]:
                self.session.execute(insert(table), self.pending[table])
        self.pending.clear()


def _shared_row(table: type[m.Base], doc: dict[str, Any], digest: str) -> m.Base:
    if table is m.DirectoryLocation:
        location = Location.model_validate(doc, strict=False)
        return _location_row(location, digest)
    return table(**doc, content_hash=digest)


def _location_row(location: Location, digest: str) -> m.DirectoryLocation:
    scalars = document(location, exclude={"addresses", "accessibility"})
    return m.DirectoryLocation(
        **scalars,
        content_hash=digest,
        addresses=[m.DirectoryAddress(**a.model_dump()) for a in location.addresses],
        accessibility=[m.DirectoryAccessibility(**a.model_dump()) for a in location.accessibility],
    )


#: The tables a service's rows go into, parents before children.
SERVICE_TABLES: tuple[type[m.Base], ...] = (
    m.DirectoryService,
    m.DirectorySchedule,
    m.DirectoryCostOption,
    m.DirectoryLanguage,
    m.DirectoryContact,
    m.DirectoryPhone,
    m.DirectoryServiceTerm,
    m.DirectoryServiceAtLocation,
)


def _service_rows(
    service: Service, digest: str, batch_id: int
) -> Iterable[tuple[type[m.Base], dict[str, Any]]]:
    """(table, row) of the service and every row it owns, as plain values for a bulk insert."""
    scalars = service.model_dump(
        exclude={"organization", *_NESTED, "assured_date", "assurer_email"}
    )
    if service.organization is not None:
        scalars["organization_id"] = service.organization.id
    yield (
        m.DirectoryService,
        scalars
        | {
            "reviewed_at": service.assured_date,
            "reviewed_by": service.assurer_email,
            "content_hash": digest,
            "batch_id": batch_id,
        },
    )
    owner = {"service_id": service.id}
    yield from ((m.DirectorySchedule, s.model_dump() | owner) for s in service.schedules)
    yield from ((m.DirectoryCostOption, c.model_dump() | owner) for c in service.cost_options)
    yield from ((m.DirectoryLanguage, x.model_dump() | owner) for x in service.languages)
    for contact in service.contacts:
        yield m.DirectoryContact, contact.model_dump(exclude={"phones"}) | owner
        for phone in contact.phones:
            yield m.DirectoryPhone, phone.model_dump() | {"contact_id": contact.id}
    for a in service.attributes:
        term_id = a.taxonomy_term.id if a.taxonomy_term else a.taxonomy_term_id
        row = {"id": a.id, "taxonomy_term_id": term_id, "link_type": a.link_type}
        yield m.DirectoryServiceTerm, row | owner
    for at in service.service_at_locations:
        location_id = at.location.id if at.location else at.location_id
        yield m.DirectoryServiceAtLocation, {"id": at.id, "location_id": location_id} | owner


_NESTED = {
    "schedules",
    "service_at_locations",
    "languages",
    "cost_options",
    "contacts",
    "attributes",
}


def import_directory(
    sessions: sessionmaker[Session],
    actor: str,
    sources: Sequence[SourceFile],
    *,
    source_name: str,
    strict: bool = False,
    actor_role: str = "cli",
) -> ImportReport:
    """Check every record, then load the good ones in one audited transaction (see module)."""
    count, accepted, rejected = read_sources(sources)
    with sessions() as session:
        good, conflicts = check_against(session, accepted)
    rejected += conflicts
    if len(sources) == 1:  # in file order; several files keep their reading order
        rejected.sort(key=lambda rejection: rejection.line)
    if strict and rejected:
        return ImportReport(count, 0, 0, 0, 0, rejected, False, None)
    outcomes = {"created": 0, "updated": 0, "unchanged": 0}
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="directory.import",
        entity_type="directory_import_batch",
        purpose=PURPOSE,
        detail={"source": source_name, "records": count, "rejected": len(rejected)},
    ) as uow:
        batch = m.DirectoryImportBatch(
            source_name=source_name[:255],
            records_read=count,
            created=0,
            updated=0,
            unchanged=0,
            rejected=len(rejected),
            imported_at=uow.now,
            imported_by=actor[:100],
        )
        uow.session.add(batch)
        uow.session.flush()
        stored = _Stored(uow.session, [record.service for record in good])
        writer = _Writer(uow.session, stored, batch.id)
        for record in good:
            writer.shared(record.service)
        for record in good:
            outcome = writer.service(record.service, content_hash(own_document(record.service)))
            outcomes[outcome] += 1
        writer.insert_pending()
        batch.created, batch.updated, batch.unchanged = (
            outcomes["created"],
            outcomes["updated"],
            outcomes["unchanged"],
        )
        uow.audit.entity_id = str(batch.id)
        uow.audit.detail.update(outcomes, shared_written=writer.shared_written)
    return ImportReport(
        count,
        outcomes["created"],
        outcomes["updated"],
        outcomes["unchanged"],
        writer.shared_written,
        rejected,
        True,
        batch.id,
    )
