"""The reader's memory across files: references resolved to "Type/id" (bundle aliases too),
organisation codes, clinicians, and each patient's trace for the registration it implies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from joinedup.population.ingest.fhir.datatypes import (
    CODE_SYSTEMS,
    FieldError,
    codings,
    read_date,
    reference_id,
    short_hash,
)
from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.records import Unsupported


@dataclass
class PersonTrace:
    """What the reader remembers per patient to derive a registration: O(patients), small."""

    practice: str | None = None  # org reference from generalPractitioner
    gp_practice: str | None = None  # org reference of the latest GP encounter
    gp_latest: dt.date | None = None
    first_at: dict[str, dt.date] = field(default_factory=dict)
    birth: dt.date | None = None
    death: dt.date | None = None
    nhs_number: str | None = None
    location: str = ""


class Links:
    """What the reader remembers across files to link records: organisations and practitioners
    by reference, the practices in use, each patient's trace, and the current bundle's aliases.
    One per batch."""

    def __init__(self) -> None:
        self.organisations: dict[str, tuple[str, str]] = {}  # "Organization/id" → (code, name)
        self.practices: set[str] = set()
        self.roles: dict[str, str] = {}
        self.people: dict[str, PersonTrace] = {}
        self.aliases: dict[str, str] = {}  # bundle fullUrl → "Type/id"
        self.booked: dict[str, dt.date] = {}  # "Appointment/id" → the day it was booked

    def booked_date(self, resource: dict[str, Any]) -> dt.date | None:
        """The day the encounter was booked: ``created`` of the Appointment it names in
        ``appointment`` (contained, or read earlier in the batch); None when none says."""
        for value in resource.get("appointment") or []:
            reference = reference_id(value, "appointment")
            if reference is not None and reference.startswith("#"):
                for contained in resource.get("contained") or []:
                    if (
                        isinstance(contained, dict)
                        and contained.get("resourceType") == "Appointment"
                        and contained.get("id") == reference[1:]
                        and contained.get("created")
                    ):
                        return read_date(contained["created"], "contained Appointment.created")
                continue
            found = self.ref(value, "appointment", "Appointment")
            if found in self.booked:
                return self.booked[found]
        return None

    def ref(self, value: Any, name: str, expected: str) -> str | None:
        """A reference as "Type/id", resolving bundle urn:uuid aliases and absolute URLs."""
        reference = reference_id(value, name)
        if reference is None:
            return None
        reference = self.aliases.get(reference, reference)
        if reference.startswith("urn:uuid:"):
            return f"{expected}/{reference.removeprefix('urn:uuid:')}"
        parts = reference.rstrip("/").split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        if len(parts) < 2 or parts[-2] != expected:
            raise FieldError(f"{name} {reference!r} is not a reference to a {expected}")
        return f"{parts[-2]}/{parts[-1]}"

    def subject(self, resource: dict[str, Any], name: str = "subject") -> PersonRef:
        patient = self.ref(resource.get(name), name, "Patient")
        if patient is None:
            raise FieldError(f"has no {name} (the patient it is about)")
        return PersonRef(source_id=patient)

    def code(
        self, concept: Any, name: str, systems: Sequence[str], location: str
    ) -> tuple[str, str, str] | Unsupported:
        """(system, code, display) of the first coding in a system we store, by preference."""
        found: dict[str, tuple[str, str]] = {}
        urls = []
        for coding in codings(concept, name):
            url = coding.get("system")
            code = coding.get("code")
            system = CODE_SYSTEMS.get(url) if isinstance(url, str) else None
            urls.append(str(url))
            if system is not None and system in systems and isinstance(code, str) and code.strip():
                found.setdefault(system, (code.strip(), str(coding.get("display") or "")))
        for system in systems:
            if system in found:
                return system, *found[system]
        detail = ", ".join(sorted(set(urls))) or "no coding"
        return Unsupported("code system", location, f"{name}: {detail}")

    def org_code(self, reference: str) -> str:
        known = self.organisations.get(reference)
        return known[0] if known else "X" + short_hash(reference, 11)

    def clinician(self, resource: dict[str, Any]) -> tuple[str, str]:
        for participant in resource.get("participant") or []:
            if isinstance(participant, dict) and participant.get("individual"):
                ref = reference_id(participant["individual"], "participant.individual")
                ref = self.aliases.get(ref or "", ref or "")
                if ref.startswith("urn:uuid:"):
                    ref = "Practitioner/" + ref.removeprefix("urn:uuid:")
                if ref.startswith("Practitioner/"):
                    return "C" + short_hash(ref, 11), self.roles.get(ref, "gp")
        return "UNKNOWN", "other"

    def trace_gp(self, person: PersonRef, practice: str, when: dt.date) -> None:
        trace = self.people.setdefault(person.source_id or "", PersonTrace())
        if trace.gp_latest is None or when >= trace.gp_latest:
            trace.gp_latest, trace.gp_practice = when, practice
        if practice not in trace.first_at or when < trace.first_at[practice]:
            trace.first_at[practice] = when
