"""A Patient's name, home address and telephone number for the patients table (direct care).

FHIR R4 Patient (https://hl7.org/fhir/R4/patient.html) carries lists of HumanName, Address and
ContactPoint. We keep the one a person is known by now:

* **name**: the current ``official`` name, else ``usual``, else one with no ``use`` (never
  ``old``, ``maiden``, ``anonymous`` or a name whose ``period`` has ended); given names joined
  with spaces. Prefixes and suffixes are not part of the name shown on a banner. Names are kept
  exactly as the source gives them (Synthea appends digits to its generated names).
* **address**: the current ``home`` address (or one with no ``use``), its lines, city and
  district on one line. The postcode is kept only when it is a UK postcode (the contract's
  format); any other postal code stays at the end of the address line, so nothing is lost.
* **phone**: the current ``phone`` ContactPoint, ``home`` or ``mobile`` before others.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

NAME_USES = ("official", "usual", None)
ADDRESS_USES = ("home", None)
PHONE_USES = ("home", "mobile", None, "work", "temp")
UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?) ?([0-9][A-Z]{2})$")


def contact_fields(resource: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """given_name, family_name, address_line, postcode and phone (None where absent)."""
    today = today or dt.date.today()
    name = _first_current(resource.get("name"), NAME_USES, today)
    address = _first_current(resource.get("address"), ADDRESS_USES, today)
    phones = [
        p
        for p in resource.get("telecom") or []
        if isinstance(p, dict) and p.get("system") == "phone"
    ]
    phone = _first_current(phones, PHONE_USES, today)
    return {
        "given_name": _text(" ".join(_texts(name.get("given")))) if name else None,
        "family_name": _text(name.get("family")) if name else None,
        **_address(address),
        "phone": _text(phone.get("value")) if phone else None,
    }


def _first_current(items: Any, uses: tuple[str | None, ...], today: dt.date) -> dict[str, Any]:
    """The first current item by the order of `uses` ({} when there is none)."""
    current = [i for i in items or [] if isinstance(i, dict) and _in_force(i, today)]
    for use in uses:
        for item in current:
            if item.get("use") == use:
                return item
    return {}


def _in_force(item: dict[str, Any], today: dt.date) -> bool:
    end = (item.get("period") or {}).get("end") if isinstance(item.get("period"), dict) else None
    return not (isinstance(end, str) and end[:10] < today.isoformat())


def _address(address: dict[str, Any]) -> dict[str, str | None]:
    raw = _text(address.get("postalCode"))
    uk = UK_POSTCODE.match(raw.upper()) if raw else None
    postcode = f"{uk.group(1)} {uk.group(2)}" if uk else None
    parts = [*_texts(address.get("line")), address.get("city"), address.get("district")]
    if raw and not uk:
        parts.append(" ".join(_texts([address.get("state"), raw])))
    line = ", ".join(t for t in _texts(parts) if t)
    return {"address_line": line or None, "postcode": postcode}


def _texts(values: Any) -> list[str]:
    return [str(v).strip() for v in values or [] if isinstance(v, str | int) and str(v).strip()]


def _text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str) else None
