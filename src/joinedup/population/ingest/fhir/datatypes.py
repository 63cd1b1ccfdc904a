"""Small readers of FHIR R4 datatypes (dates, codings, references, quantities) and the code
systems the population store keeps; every mapper reads fields through these, so a field that
cannot be read is one `FieldError` naming the field and the problem."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

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
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class FieldError(ValueError):
    """A mapped field that cannot be read; the message names the field and the problem."""


def read_date(value: Any, name: str) -> dt.date:
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


def first_date(resource: dict[str, Any], *names: str) -> dt.date:
    for name in names:
        if "." in name:
            outer, inner = name.split(".")
            holder = resource.get(outer)
            if isinstance(holder, dict) and holder.get(inner) is not None:
                return read_date(holder[inner], name)
        elif resource.get(name) is not None:
            return read_date(resource[name], name)
    raise FieldError("has no date (" + " or ".join(names) + ")")


def codings(concept: Any, name: str) -> list[dict[str, Any]]:
    if concept is None:
        return []
    if not isinstance(concept, dict):
        raise FieldError(f"{name} is not a CodeableConcept")
    codings = concept.get("coding") or []
    if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
        raise FieldError(f"{name}.coding is not a list of codings")
    return codings


def reference_id(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("reference", ""), str):
        raise FieldError(f"{name} is not a Reference")
    return value.get("reference") or None


def short_hash(text: str, length: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length].upper()


def version_of(resource: dict[str, Any]) -> str | None:
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


def quantity(holder: dict[str, Any], name: str) -> tuple[float | None, str | None]:
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
