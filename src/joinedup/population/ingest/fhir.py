"""Read FHIR R4 into contract rows: transaction/collection bundles and Bulk Data NDJSON.

`read_fhir(paths)` yields `ReaderItem`s for the batch. Files are streamed: NDJSON one line at a
time, bundles entry by entry (see below). Each resource is validated against the FHIR R4B
models, then checked field by field where it is mapped (full dates, codes, NHS numbers), and
rejected with a reason naming the resource and field.

Mapping onto the table contracts (`joinedup contracts <table>`):

==================  =========================================================================
Patient             patients (NHS number from identifier system ``https://fhir.nhs.uk/Id/
                    nhs-number``; ethnicity from UK Core EthnicCategory or US Core race;
                    LSOA from an address extension, with its IMD decile); registration from
                    ``generalPractitioner`` (an Organization) or else the practice of the
                    latest GP encounter
Organization        organisations, when it is a GP practice (someone's registered practice or
                    the service provider of a GP encounter); code = ODS code where given, else
                    ``X`` + 11 characters of a hash of its id
Practitioner        clinician id (a hash) and role, for GP appointments
Encounter           by ``class``: AMB → gp_appointments (telephone / video / home visit from the
                    type), unless it names a 3-digit treatment function in ``serviceType`` →
                    outpatient_appointments; HH → community_contacts; EMER → ae_attendances;
                    IMP, ACUTE, NONAC, SS → hospital_spells (+ ICD-10 reasons as spell
                    diagnoses); VR → gp_appointments (video)
Condition           clinical_events (SNOMED CT, ICD-10, Read v2, CTV3), dated at onset
Observation         clinical_events (LOINC, SNOMED CT) with value and UCUM unit; each
                    ``component`` (blood pressure) is its own event
MedicationRequest   medications (dm+d, SNOMED CT, RxNorm)
MedicationStatement
Procedure           clinical_events
CarePlan            clinical_events: each category code, dated at the plan's start
==================  =========================================================================

Other resource types are counted as unsupported. FHIR carries no NHS cost: activity rows come
with cost None and the batch prices them at the reference unit cost
(`joinedup.population.unit_costs`), counting them in the summary; medication issues keep 0
(medicines are priced per product, and RxNorm has no NHS price).

Bundles are streamed with ijson (a first pass of parser events collects the fullUrl aliases of
Patients, Organizations and Practitioners; a second yields ``Bundle.entry`` items one at a
time), NDJSON a line at a time, so memory is flat whatever the file size. Every supported
resource is validated against its ``fhir.resources.R4B`` model before it is mapped; a pydantic
error becomes one reason naming the resource, the field path and the problem
("Observation/abc: effectiveDateTime '2021-02-30' is not a date (day value is outside expected
range)").
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
from pydantic import ValidationError

from joinedup.population.ingest.identity import KeyRef, PersonRef
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported
from joinedup.population.nhs_numbers import is_valid as nhs_number_is_valid

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
)
CODE_SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "http://loinc.org": "loinc",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-uk": "icd10",
    "http://read.info/readv2": "read2",
    "http://read.info/ctv3": "ctv3",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "https://dmd.nhs.uk": "dmd",
    "http://dmd.nhs.uk": "dmd",
}
EVENT_SYSTEMS = ("snomed", "icd10", "read2", "ctv3", "loinc")  # preference order
MEDICATION_SYSTEMS = ("dmd", "snomed", "rxnorm")
LSOA_EXTENSIONS = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-LSOA",
    "http://joinedup.nhs.uk/fhir/StructureDefinition/lsoa",
)
UK_ETHNICITY = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
US_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
# NHS Data Dictionary "Ethnic Category" (2001 codes) → ONS 2021 high-level groups.
NHS_ETHNIC_GROUPS = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
    "Z": "Not stated",
}
# US Core OMB race categories (CDC Race & Ethnicity code system) → ONS 2021 groups.
OMB_RACE_GROUPS = {
    "2106-3": "White",
    "2054-5": "Black",
    "2028-9": "Asian",
    "1002-5": "Other",
    "2076-8": "Other",
    "2131-1": "Other",
}
GP_CLASSES = {"AMB", "VR"}
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "SS", "PRENC"}
TELEPHONE_TYPES = {"185317003"}  # Telephone encounter
VIDEO_TYPES = {"448337001"}  # Telemedicine consultation with patient
HOME_TYPES = {"439708006", "210098006"}  # Home visit; domiciliary evaluation
SUPPORTED = {
    "Patient",
    "Organization",
    "Practitioner",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "CarePlan",
}
# Read definitions before the records that refer to them when NDJSON comes as one file per type.
FILE_ORDER = ("Organization", "Practitioner", "Patient")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
EVENT_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,20}$")


class FieldError(ValueError):
    """A mapped field that cannot be read; the message names the field and the problem."""


# --- small readers of FHIR datatypes --------------------------------------------------------


def _date(value: Any, name: str) -> dt.date:
    if not isinstance(value, str):
        raise FieldError(f"{name} {value!r} is not a date")
    if not DATE.match(value):
        if re.fullmatch(r"\d{4}(-\d{2})?", value):
            raise FieldError(f"{name} {value!r} is a partial date; a full date is needed")
        raise FieldError(f"{name} {value!r} is not a date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise FieldError(f"{name} {value!r} is not a date") from None


def _first_date(resource: dict[str, Any], *names: str) -> dt.date:
    for name in names:
        if "." in name:
            outer, inner = name.split(".")
            holder = resource.get(outer)
            if isinstance(holder, dict) and holder.get(inner) is not None:
                return _date(holder[inner], name)
        elif resource.get(name) is not None:
            return _date(resource[name], name)
    raise FieldError("has no date (" + " or ".join(names) + ")")


def _codings(concept: Any, name: str) -> list[dict[str, Any]]:
    if concept is None:
        return []
    if not isinstance(concept, dict):
        raise FieldError(f"{name} is not a CodeableConcept")
    codings = concept.get("coding") or []
    if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
        raise FieldError(f"{name}.coding is not a list of codings")
    return codings


def _reference_id(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("reference", ""), str):
        raise FieldError(f"{name} is not a Reference")
    return value.get("reference") or None


def _hash(text: str, length: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length].upper()


def _version(resource: dict[str, Any]) -> str | None:
    """A sortable version: meta.lastUpdated (as given; ISO instants sort as text) or versionId."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return None
    updated = meta.get("lastUpdated")
    if isinstance(updated, str) and updated:
        return updated
    version = meta.get("versionId")
    if isinstance(version, str | int) and str(version).isdigit():
        return f"v{int(version):012d}"
    return None


# --- reading state across files -------------------------------------------------------------


@dataclass
class _PersonTrace:
    """What the reader remembers per patient to derive a registration: O(patients), small."""

    practice: str | None = None  # org reference from generalPractitioner
    gp_practice: str | None = None  # org reference of the latest GP encounter
    gp_latest: dt.date | None = None
    first_at: dict[str, dt.date] = field(default_factory=dict)
    birth: dt.date | None = None
    death: dt.date | None = None
    nhs_number: str | None = None
    location: str = ""


class FhirReader:
    """Reads FHIR files into reader items; one instance per batch (it links across files)."""

    def __init__(self, *, validate: bool = True) -> None:
        self.validate = validate
        self.organisations: dict[str, tuple[str, str]] = {}  # "Organization/id" → (code, name)
        self.practices: set[str] = set()
        self.roles: dict[str, str] = {}
        self.people: dict[str, _PersonTrace] = {}
        self.aliases: dict[str, str] = {}  # bundle fullUrl → "Type/id"

    # -- files ---------------------------------------------------------------------------

    def read(self, paths: Sequence[Path]) -> Iterator[ReaderItem]:
        for path in expand_paths(paths):
            if path.suffix == ".ndjson":
                yield from self._read_ndjson(path)
            else:
                yield from self._read_json(path)
        yield from self._finish()

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
        problem = _json_file_problem(path)
        if problem:
            yield Rejected(path.name, problem)
            return
        try:
            scan = _scan_bundle(path)
        except _UnreadableJson as exc:
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

    def _bundle(self, path: Path, scan: _BundleScan) -> Iterator[ReaderItem]:
        name = path.name
        kind = scan.bundle_type
        if kind not in ("transaction", "collection", "batch", "searchset", "message", "document"):
            yield Rejected(name, f"Bundle.type {kind!r} is not a bundle of resources to load")
            return
        if scan.entry_not_list:
            yield Rejected(name, "Bundle.entry is not a list")
            return
        self.aliases = scan.aliases
        # Organizations and Practitioners are read before the records that refer to them; in
        # the usual bundle they already come first, so one streamed pass does.
        passes = [_DEFINITIONS, None] if scan.definitions_late else [None]
        for wanted in passes:
            for index, entry in _stream_entries(path):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                is_definition = _is_definition(resource)
                if wanted is _DEFINITIONS and not is_definition:
                    continue
                if wanted is None and len(passes) == 2 and is_definition:
                    continue
                yield from self._entry(entry, f"{name} entry {index + 1}")
        self.aliases = {}

    def _entry(self, entry: Any, location: str) -> Iterator[ReaderItem]:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            yield Rejected(location, "Bundle entry has no resource")
            return
        request = entry.get("request")
        if isinstance(request, dict) and request.get("method") == "DELETE":
            yield Unsupported("request", location, "DELETE entries are not applied")
            return
        yield from self._resource(entry["resource"], location)

    # -- resources -----------------------------------------------------------------------

    def _resource(self, resource: Any, location: str) -> Iterator[ReaderItem]:
        if not isinstance(resource, dict):
            yield Rejected(location, "is not a FHIR resource (not a JSON object)")
            return
        kind = resource.get("resourceType")
        rid = resource.get("id")
        if not isinstance(kind, str) or not kind:
            yield Rejected(location, "has no resourceType")
            return
        if kind not in SUPPORTED:
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
                yield Rejected(location, f"{label}: {problem}", _TABLE_OF.get(kind))
                return
        mapper = getattr(self, f"_map_{kind.lower()}")
        try:
            items = list(mapper(resource, label, location))
        except FieldError as exc:
            yield Rejected(location, f"{label}: {exc}", _TABLE_OF.get(kind))
            return
        except (TypeError, AttributeError, KeyError, ValueError) as exc:  # shape we did not expect
            yield Rejected(
                location,
                f"{label}: unexpected structure ({type(exc).__name__}: {exc})",
                _TABLE_OF.get(kind),
            )
            return
        yield from items

    def _ref(self, value: Any, name: str, expected: str) -> str | None:
        """A reference as "Type/id", resolving bundle urn:uuid aliases and absolute URLs."""
        reference = _reference_id(value, name)
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

    def _subject(self, resource: dict[str, Any], name: str = "subject") -> PersonRef:
        patient = self._ref(resource.get(name), name, "Patient")
        if patient is None:
            raise FieldError(f"has no {name} (the patient it is about)")
        return PersonRef(source_id=patient)

    def _code(
        self, concept: Any, name: str, systems: Sequence[str], location: str
    ) -> tuple[str, str, str] | Unsupported:
        """(system, code, display) of the first coding in a system we store, by preference."""
        found: dict[str, tuple[str, str]] = {}
        urls = []
        for coding in _codings(concept, name):
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

    def _map_organization(self, resource: dict[str, Any], label: str, location: str):
        code = None
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") in ODS_SYSTEMS:
                value = str(identifier.get("value") or "").strip().upper()
                if re.fullmatch(r"[A-Z0-9]{3,12}", value):
                    code = value
        name = resource.get("name")
        if name is not None and not isinstance(name, str):
            raise FieldError(f"name {name!r} is not text")
        self.organisations[label] = (code or "X" + _hash(label, 11), name or code or label)
        return iter(())

    def _map_practitioner(self, resource: dict[str, Any], label: str, location: str):
        text = json.dumps(resource.get("qualification") or []).lower()
        role = "gp"
        if "nurse" in text:
            role = "nurse"
        elif "pharmac" in text:
            role = "pharmacist"
        elif "paramedic" in text:
            role = "paramedic"
        self.roles[label] = role
        return iter(())

    def _map_patient(self, resource: dict[str, Any], label: str, location: str):
        nhs = None
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
                nhs = str(identifier.get("value") or "").replace(" ", "")
        if nhs is not None and not nhs_number_is_valid(nhs):
            raise FieldError("identifier NHS number is not valid (ten digits, mod-11 check digit)")
        birth = _date(resource.get("birthDate"), "birthDate")
        sex = {"female": "F", "male": "M"}.get(resource.get("gender"))  # type: ignore[arg-type]
        if sex is None:
            raise FieldError(
                f"gender {resource.get('gender')!r} cannot be stored: the patients table holds "
                "female (F) or male (M)"
            )
        death = None
        if resource.get("deceasedDateTime") is not None:
            death = _date(resource["deceasedDateTime"], "deceasedDateTime")
        lsoa = _lsoa(resource)
        trace = self.people.setdefault(label, _PersonTrace())
        trace.birth, trace.death, trace.nhs_number, trace.location = birth, death, nhs, location
        practitioners = resource.get("generalPractitioner") or []
        for reference in practitioners if isinstance(practitioners, list) else []:
            ref = _reference_id(reference, "generalPractitioner")
            if ref and "Organization/" in self.aliases.get(ref, ref):
                trace.practice = self._ref(reference, "generalPractitioner", "Organization")
        yield SourceRow(
            "patients",
            {
                "person_id": PersonRef(nhs_number=nhs, source_id=label),
                "nhs_number": nhs,
                "date_of_birth": birth,
                "sex": sex,
                "ethnicity": _ethnicity(resource),
                "lsoa_code": lsoa,
                "imd_decile": _imd_deciles().get(lsoa) if lsoa else None,
                "care_home": False,
                "housebound": False,
                "carer": False,
                "date_of_death": death,
                "_version": _version(resource),
            },
            location,
            label,
        )

    def _map_encounter(self, resource: dict[str, Any], label: str, location: str):
        status = resource.get("status")
        if status in ("cancelled", "entered-in-error", "planned"):
            yield Unsupported("encounter status", location, str(status))
            return
        klass = resource.get("class")
        if not isinstance(klass, dict) or not isinstance(klass.get("code"), str):
            raise FieldError("class is not a Coding with a code")
        code = klass["code"]
        person = self._subject(resource)
        raw_period = resource.get("period")
        period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
        start = _date(period.get("start"), "period.start")
        end = _date(period["end"], "period.end") if period.get("end") else start
        if end < start:
            raise FieldError(f"period.end {period['end']!r} is before period.start")
        provider = self._ref(resource.get("serviceProvider"), "serviceProvider", "Organization")
        provider_code = self._org_code(provider) if provider else None
        types = {c.get("code") for t in resource.get("type") or [] for c in _codings(t, "type")}
        base = {"person_id": person, "_version": _version(resource)}
        if code in GP_CLASSES or code == "AMB":
            specialty = _treatment_function(resource)
            if specialty:
                yield SourceRow(
                    "outpatient_appointments",
                    {
                        **base,
                        "provider_code": provider_code or "UNKNOWN",
                        "appointment_date": start,
                        "specialty_code": specialty,
                        "first_attendance": True,
                        "attended": status != "noshow",
                        "cost": None,
                    },
                    location,
                    label,
                )
                return
            if provider is None:
                raise FieldError("has no serviceProvider (the practice)")
            self.practices.add(provider)
            self._trace_gp(person, provider, start)
            mode = "face_to_face"
            if code == "VR" or types & VIDEO_TYPES:
                mode = "video"
            elif types & TELEPHONE_TYPES:
                mode = "telephone"
            elif types & HOME_TYPES:
                mode = "home_visit"
            clinician = self._clinician(resource)
            yield SourceRow(
                "gp_appointments",
                {
                    **base,
                    "practice_code": self._org_code(provider),
                    "appointment_date": start,
                    "clinician_id": clinician[0],
                    "clinician_role": clinician[1],
                    "mode": mode,
                    "attended": True,
                    "cost": None,
                },
                location,
                label,
            )
        elif code == "HH":
            yield SourceRow(
                "community_contacts",
                {
                    **base,
                    "contact_date": start,
                    "service": "district_nursing",
                    "setting": "home",
                    "duration_minutes": _minutes(period, start),
                    "cost": None,
                },
                location,
                label,
            )
        elif code == "EMER":
            yield SourceRow(
                "ae_attendances",
                {
                    **base,
                    "provider_code": provider_code or "UNKNOWN",
                    "arrival_date": start,
                    "disposal": _disposal(resource),
                    "cost": None,
                },
                location,
                label,
            )
        elif code in INPATIENT_CLASSES:
            yield SourceRow(
                "hospital_spells",
                {
                    **base,
                    "provider_code": provider_code or "UNKNOWN",
                    "admission_date": start,
                    "discharge_date": end,
                    "admission_method": _admission_method(resource),
                    "length_of_stay": (end - start).days,
                    "hrg_code": None,
                    "cost": None,
                },
                location,
                label,
            )
            position = 0
            for reason in resource.get("reasonCode") or []:
                found = self._code(reason, "reasonCode", ("icd10",), location)
                if isinstance(found, Unsupported):
                    continue
                position += 1
                yield SourceRow(
                    "spell_diagnoses",
                    {
                        "spell_id": KeyRef("hospital_spells", label),
                        "person_id": person,
                        "position": position,
                        "icd10_code": found[1].replace(".", "").upper(),
                        "_version": _version(resource),
                    },
                    location,
                    f"{label}#diagnosis-{position}",
                )
        else:
            yield Unsupported("encounter class", location, code)

    def _map_condition(self, resource: dict[str, Any], label: str, location: str):
        status = resource.get("verificationStatus")
        for coding in _codings(status, "verificationStatus"):
            if coding.get("code") in ("entered-in-error", "refuted"):
                yield Unsupported("condition status", location, str(coding.get("code")))
                return
        when = _first_date(resource, "onsetDateTime", "onsetPeriod.start", "recordedDate")
        yield from self._event(resource, label, location, "code", when, None, None)

    def _map_procedure(self, resource: dict[str, Any], label: str, location: str):
        if resource.get("status") in ("entered-in-error", "not-done"):
            yield Unsupported("procedure status", location, str(resource.get("status")))
            return
        when = _first_date(resource, "performedDateTime", "performedPeriod.start")
        yield from self._event(resource, label, location, "code", when, None, None)

    def _map_careplan(self, resource: dict[str, Any], label: str, location: str):
        when = _first_date(resource, "period.start", "created")
        person = self._subject(resource)
        for index, category in enumerate(resource.get("category") or [], start=1):
            found = self._code(category, "category", EVENT_SYSTEMS, location)
            if isinstance(found, Unsupported):
                yield found
                continue
            yield self._event_row(
                person, found, when, None, None, resource, location, f"{label}#category-{index}"
            )

    def _map_observation(self, resource: dict[str, Any], label: str, location: str):
        """The Observation's events as read, each LOINC measurement followed by its SNOMED CT
        equivalent (`data/loinc_to_snomed.csv`), so SNOMED codelists find it."""
        for item in self._observation_rows(resource, label, location):
            yield item
            if isinstance(item, SourceRow) and item.values["code_system"] == "loinc":
                mapped = snomed_equivalent(item)
                if mapped is not None:
                    yield mapped

    def _observation_rows(self, resource: dict[str, Any], label: str, location: str):
        if resource.get("status") in ("entered-in-error", "cancelled"):
            yield Unsupported("observation status", location, str(resource.get("status")))
            return
        when = _first_date(resource, "effectiveDateTime", "effectivePeriod.start", "issued")
        components = resource.get("component")
        if isinstance(components, list) and components:
            person = self._subject(resource)
            for index, component in enumerate(components, start=1):
                if not isinstance(component, dict):
                    raise FieldError(f"component {index} is not an object")
                found = self._code(
                    component.get("code"), f"component[{index}].code", EVENT_SYSTEMS, location
                )
                if isinstance(found, Unsupported):
                    yield found
                    continue
                value, unit = _quantity(component, f"component[{index}].valueQuantity")
                yield self._event_row(
                    person,
                    found,
                    when,
                    value,
                    unit,
                    resource,
                    location,
                    f"{label}#component-{index}",
                )
            return
        value, unit = _quantity(resource, "valueQuantity")
        yield from self._event(resource, label, location, "code", when, value, unit)

    def _map_medicationrequest(self, resource: dict[str, Any], label: str, location: str):
        if resource.get("status") == "entered-in-error":
            yield Unsupported("medication status", location, "entered-in-error")
            return
        when = _first_date(resource, "authoredOn", "dispenseRequest.validityPeriod")
        yield from self._medication(resource, label, location, when)

    def _map_medicationstatement(self, resource: dict[str, Any], label: str, location: str):
        if resource.get("status") == "entered-in-error":
            yield Unsupported("medication status", location, "entered-in-error")
            return
        when = _first_date(resource, "effectiveDateTime", "effectivePeriod.start", "dateAsserted")
        yield from self._medication(resource, label, location, when)

    def _medication(self, resource: dict[str, Any], label: str, location: str, when: dt.date):
        person = self._subject(resource)
        if resource.get("medicationCodeableConcept") is None:
            yield Unsupported("medication", location, "medicationReference is not resolved")
            return
        concept = resource["medicationCodeableConcept"]
        found = self._code(concept, "medicationCodeableConcept", MEDICATION_SYSTEMS, location)
        if isinstance(found, Unsupported):
            yield found
            return
        system, code, display = found
        name = display or (concept.get("text") if isinstance(concept.get("text"), str) else "")
        yield SourceRow(
            "medications",
            {
                "issue_id": None,
                "person_id": person,
                "issue_date": when,
                "code_system": system,
                "code": code,
                "name": name or code,
                "bnf_chapter": None,
                "cost": 0.0,  # medicines are priced per product: no reference cost per issue
                "_version": _version(resource),
            },
            location,
            label,
        )

    def _event(self, resource, label, location, field_name, when, value, unit):
        person = self._subject(resource)
        found = self._code(resource.get(field_name), field_name, EVENT_SYSTEMS, location)
        if isinstance(found, Unsupported):
            yield found
            return
        yield self._event_row(person, found, when, value, unit, resource, location, label)

    def _event_row(self, person, found, when, value, unit, resource, location, source_id):
        system, code, _display = found
        if system == "icd10":
            code = code.replace(".", "").upper()
        if not EVENT_CODE.match(code):
            raise FieldError(f"code {code!r} is not a {system} code")
        return SourceRow(
            "clinical_events",
            {
                "event_id": None,
                "person_id": person,
                "event_date": when,
                "code_system": system,
                "code": code,
                "value": value,
                "unit": unit,
                "_version": _version(resource),
            },
            location,
            source_id,
        )

    # -- helpers needing state -----------------------------------------------------------

    def _org_code(self, reference: str) -> str:
        known = self.organisations.get(reference)
        return known[0] if known else "X" + _hash(reference, 11)

    def _clinician(self, resource: dict[str, Any]) -> tuple[str, str]:
        for participant in resource.get("participant") or []:
            if isinstance(participant, dict) and participant.get("individual"):
                ref = _reference_id(participant["individual"], "participant.individual")
                ref = self.aliases.get(ref or "", ref or "")
                if ref.startswith("urn:uuid:"):
                    ref = "Practitioner/" + ref.removeprefix("urn:uuid:")
                if ref.startswith("Practitioner/"):
                    return "C" + _hash(ref, 11), self.roles.get(ref, "gp")
        return "UNKNOWN", "other"

    def _trace_gp(self, person: PersonRef, practice: str, when: dt.date) -> None:
        trace = self.people.setdefault(person.source_id or "", _PersonTrace())
        if trace.gp_latest is None or when >= trace.gp_latest:
            trace.gp_latest, trace.gp_practice = when, practice
        if practice not in trace.first_at or when < trace.first_at[practice]:
            trace.first_at[practice] = when

    def _finish(self) -> Iterator[ReaderItem]:
        """Registrations and practices, once every file has been read."""
        for label, trace in self.people.items():
            if trace.birth is None:
                continue  # encounters of someone with no Patient resource: rejected at merge
            practice = trace.practice or trace.gp_practice
            if practice is None:
                yield Unsupported(
                    "registration", trace.location, "no registered practice or GP encounter"
                )
                continue
            self.practices.add(practice)
            yield registration_row(
                PersonRef(nhs_number=trace.nhs_number, source_id=label),
                self._org_code(practice),
                first_seen=trace.first_at.get(practice),
                birth=trace.birth,
                death=trace.death,
                location=trace.location,
                source_id=f"{label}#registration",
            )
        for reference in sorted(self.practices):
            code, name = self.organisations.get(reference, (self._org_code(reference), reference))
            yield practice_row(code, name, location=reference, source_id=reference)


# --- practices and registrations implied by a source (FHIR, HES) ------------------------------


def practice_row(code: str, name: str, *, location: str, source_id: str) -> SourceRow:
    """An organisation stored as a practice because a record uses it as one (someone's
    registered practice, a GP encounter's provider); the source says nothing of its parent or
    deprivation, so those stay empty."""
    return SourceRow(
        "organisations",
        {
            "org_code": code,
            "name": name,
            "org_type": "practice",
            "parent_code": None,
            "imd_decile": None,
            "opened": None,
        },
        location,
        source_id,
    )


def registration_row(
    person: PersonRef,
    practice_code: str,
    *,
    first_seen: dt.date | None,
    birth: dt.date,
    death: dt.date | None,
    location: str,
    source_id: str,
) -> SourceRow:
    """The registration a source implies, by the one rule every reader keeps: with
    `practice_code` from the first date the source shows the person there (else from birth),
    never before birth, and ending at death (a start after death is moved back to it)."""
    start = max(first_seen or birth, birth)
    return SourceRow(
        "registrations",
        {
            "person_id": person,
            "practice_code": practice_code,
            "start_date": min(start, death) if death else start,
            "end_date": death,
        },
        location,
        source_id,
    )


_TABLE_OF = {
    "Patient": "patients",
    "Condition": "clinical_events",
    "Observation": "clinical_events",
    "Procedure": "clinical_events",
    "CarePlan": "clinical_events",
    "MedicationRequest": "medications",
    "MedicationStatement": "medications",
}


# --- LOINC measurements onto the SNOMED CT concepts of the codelists --------------------------


@dataclass(frozen=True)
class _Equivalent:
    loinc_unit: str
    snomed_code: str
    unit: str
    scale: float
    offset: float


_EQUIVALENTS: dict[str, _Equivalent] | None = None


def loinc_equivalents() -> dict[str, _Equivalent]:
    """LOINC code → its SNOMED CT concept and unit conversion (data/loinc_to_snomed.csv; the
    sources are in data/SOURCE.md)."""
    global _EQUIVALENTS
    if _EQUIVALENTS is None:
        import csv

        path = Path(__file__).parent / "data" / "loinc_to_snomed.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            _EQUIVALENTS = {
                r["loinc_code"]: _Equivalent(
                    r["loinc_unit"],
                    r["snomed_code"],
                    r["unit"],
                    float(r["scale"]),
                    float(r["offset"]),
                )
                for r in csv.DictReader(handle)
            }
    return _EQUIVALENTS


def snomed_equivalent(row: SourceRow) -> SourceRow | Unsupported | None:
    """The SNOMED CT event for a LOINC measurement row (value converted where the units
    differ); None when the code has no equivalent; Unsupported when its unit is not the one
    the map converts from."""
    found = loinc_equivalents().get(row.values["code"])
    if found is None:
        return None
    value, unit = row.values["value"], row.values["unit"]
    if unit not in (None, found.loinc_unit):
        detail = f"LOINC {row.values['code']} in {unit!r} (expected {found.loinc_unit!r})"
        return Unsupported("measurement unit", row.location, detail)
    if value is not None:
        value = round(value * found.scale + found.offset, 1)
    values = {**row.values, "code_system": "snomed", "code": found.snomed_code}
    values |= {"value": value, "unit": found.unit}
    return SourceRow(row.table, values, row.location, f"{row.source_id}#snomed")


# --- streaming a bundle ----------------------------------------------------------------------

# Read before the records that refer to them (encounters name their practice and clinician).
_DEFINITION_TYPES = frozenset({"Organization", "Practitioner"})
_DEFINITIONS = "definitions"
# The only types other entries refer to in what is mapped (subject, serviceProvider,
# generalPractitioner, participant): their fullUrl aliases are kept, O(people), not O(entries).
_ALIASED_TYPES = frozenset({"Patient", "Organization", "Practitioner"})
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


class _UnreadableJson(ValueError):
    """A file that is not JSON text (the message is the reason for the rejects file)."""


@dataclass
class _BundleScan:
    """What a first, object-free pass over a JSON file finds: enough to read it in a second."""

    resource_type: str | None = None
    bundle_type: Any = None
    entry_not_list: bool = False
    definitions_late: bool = False
    aliases: dict[str, str] = field(default_factory=dict)


def _is_definition(resource: Any) -> bool:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return isinstance(kind, str) and kind in _DEFINITION_TYPES


def _open_json(path: Path) -> IO[bytes]:
    """`path` opened for ijson, past a UTF-8 byte order mark (ijson does not skip one)."""
    handle = path.open("rb")
    if handle.read(3) != _BOM:
        handle.seek(0)
    return handle


def _json_file_problem(path: Path) -> str | None:
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


def _scan_bundle(path: Path) -> _BundleScan:
    """One pass of parser events (no objects built): the top-level resourceType and Bundle.type,
    the fullUrl aliases of the entries others refer to, and whether Organizations or
    Practitioners come after the records that use them. Raises `_UnreadableJson`."""
    scan = _BundleScan()
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
                    if entry_type in _DEFINITION_TYPES and seen_record:
                        scan.definitions_late = True
                    elif entry_type not in _ALIASED_TYPES:
                        seen_record = True
                    entry_type = entry_id = entry_url = None
                elif prefix == "entry" and event not in ("start_array", "end_array", "null"):
                    scan.entry_not_list = True
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _UnreadableJson(_json_reason(exc, path)) from None
    return scan


def _stream_entries(path: Path) -> Iterator[tuple[int, Any]]:
    """Bundle.entry items one at a time, with their index (memory: one entry)."""
    with _open_json(path) as handle:
        yield from enumerate(ijson.items(handle, "entry.item", use_float=True))


# --- validation against the FHIR R4B models -----------------------------------------------

_MODELS: dict[str, Any] = {}
_SPEC_REGEX = re.compile(r"(\w+) value string does not match spec regex")


def model_problem(resource: dict[str, Any]) -> str | None:
    """None if `resource` is valid against its `fhir.resources.R4B` model, else one reason
    naming the field path and the problem (and how many more problems there are)."""
    kind = resource["resourceType"]
    model = _MODELS.get(kind)
    if model is None:
        from fhir.resources.R4B import get_fhir_model_class

        model = _MODELS[kind] = get_fhir_model_class(kind)
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if not errors:
            return f"is not a valid FHIR R4B {kind}"
        reason = _describe_error(errors[0], kind)
        more = len(errors) - 1
        if more:
            reason += f" (and {more} more problem{'s' if more > 1 else ''})"
        return reason
    except (TypeError, ValueError) as exc:  # a validator that fails on a shape it did not expect
        return f"is not a valid FHIR R4B {kind} ({type(exc).__name__}: {exc})"
    return None


def _describe_error(error: Any, kind: str) -> str:
    parts: list[str] = []
    for part in error.get("loc", ()):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif "[" not in str(part) and "(" not in str(part):  # pydantic's validator names
            parts.append(("." if parts else "") + str(part))
    path = "".join(parts) or kind
    kind_of = str(error.get("type", ""))
    message = str(error.get("msg", "")).removeprefix("Value error, ").rstrip(".")
    spec = _SPEC_REGEX.search(message)
    if kind_of == "missing" or message.endswith("is required"):
        return f"{path} is required but missing"
    if kind_of == "extra_forbidden":
        return f"{path} is not an element of {kind} in FHIR R4B"
    if spec:
        name = spec.group(1)
        problem = f"is not a valid FHIR {name[:1].lower()}{name[1:]}"
    elif kind_of.startswith(("date", "time")):
        context = (error.get("ctx") or {}).get("error")
        problem = "is not a date" + (f" ({context})" if context else "")
    elif kind_of in ("json_invalid", "model_type", "dict_type", "model_attributes_type"):
        problem = "is not a JSON object (a FHIR complex type)"
    elif kind_of == "string_type":
        problem = "is not text"
    elif kind_of == "list_type":
        problem = "is not a list"
    else:
        problem = message[:1].lower() + message[1:]
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return f"{path} {shown} {problem}"
    return f"{path} {problem}"


def _quantity(holder: dict[str, Any], name: str) -> tuple[float | None, str | None]:
    quantity = holder.get("valueQuantity")
    if quantity is None:
        return None, None
    if not isinstance(quantity, dict):
        raise FieldError(f"{name} is not a Quantity")
    value = quantity.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise FieldError(f"{name}.value {value!r} is not a number")
    unit = quantity.get("code") or quantity.get("unit")
    return (float(value) if value is not None else None), (str(unit) if unit else None)


def _minutes(period: dict[str, Any], start: dt.date) -> int:
    try:
        begin = dt.datetime.fromisoformat(str(period.get("start")))
        end = dt.datetime.fromisoformat(str(period.get("end")))
    except ValueError:
        return 0
    return max(0, int((end - begin).total_seconds() // 60))


def _disposal(resource: dict[str, Any]) -> str:
    hospitalization = resource.get("hospitalization")
    codes: set[Any] = set()
    if isinstance(hospitalization, dict):
        codes = {
            c.get("code")
            for c in _codings(hospitalization.get("dischargeDisposition"), "dischargeDisposition")
        }
    if "exp" in codes:
        return "died"
    if codes & {"hosp", "other-hcf", "snf", "rehab", "long"}:
        return "referred"
    if "aadvice" in codes:
        return "left"
    return "discharged"


def _admission_method(resource: dict[str, Any]) -> str:
    hospitalization = resource.get("hospitalization")
    if isinstance(hospitalization, dict):
        sources = {
            c.get("code") for c in _codings(hospitalization.get("admitSource"), "admitSource")
        }
        if "emd" in sources:
            return "emergency"
    priority = {c.get("code") for c in _codings(resource.get("priority"), "priority")}
    if priority & {"EM", "UR", "S"}:
        return "emergency"
    if priority & {"EL", "R"}:
        return "elective"
    return "other"


def _treatment_function(resource: dict[str, Any]) -> str | None:
    for coding in _codings(resource.get("serviceType"), "serviceType"):
        code = coding.get("code")
        if isinstance(code, str) and re.fullmatch(r"\d{3}", code):
            return code
    return None


def _ethnicity(resource: dict[str, Any]) -> str:
    for extension in resource.get("extension") or []:
        if not isinstance(extension, dict):
            continue
        if extension.get("url") == UK_ETHNICITY:
            for coding in _codings(extension.get("valueCodeableConcept"), "ethnicCategory"):
                group = NHS_ETHNIC_GROUPS.get(str(coding.get("code") or "")[:1])
                if group:
                    return group
        if extension.get("url") == US_RACE:
            for inner in extension.get("extension") or []:
                race: Any = inner.get("valueCoding") if isinstance(inner, dict) else None
                if isinstance(race, dict) and race.get("code") in OMB_RACE_GROUPS:
                    return OMB_RACE_GROUPS[race["code"]]
    return "Not stated"


def _lsoa(resource: dict[str, Any]) -> str | None:
    for address in resource.get("address") or []:
        if not isinstance(address, dict):
            continue
        for extension in address.get("extension") or []:
            if isinstance(extension, dict) and extension.get("url") in LSOA_EXTENSIONS:
                value = extension.get("valueString") or (
                    (extension.get("valueCodeableConcept") or {}).get("coding") or [{}]
                )[0].get("code")
                if isinstance(value, str) and re.fullmatch(r"E0[0-9]{7}", value):
                    return value
    return None


_IMD: dict[str, int] | None = None


def imd_decile_of(lsoa: str) -> int | None:
    """The IMD 2019 decile of an LSOA (2011) when the area's table has it, else None."""
    return _imd_deciles().get(lsoa)


def _imd_deciles() -> dict[str, int]:
    """IMD 2019 decile of each LSOA, from the table the generator uses."""
    global _IMD
    if _IMD is None:
        import csv

        path = Path(__file__).resolve().parents[1] / "data" / "lsoa_deciles.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            _IMD = {r["lsoa_code"]: int(r["imd_decile"]) for r in csv.DictReader(handle)}
    return _IMD


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


def read_fhir(paths: Sequence[Path]) -> Iterator[ReaderItem]:
    """Reader items from FHIR bundles and NDJSON files (or folders of them)."""
    return FhirReader().read(paths)
