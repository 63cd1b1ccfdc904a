"""What the directory tests share: the Open Referral UK schemas from ../shared (validators for
a service, a service-list item, a service-at-location-list item, a taxonomy, a term and the
Page object) and small ORUK records to build files from.

The schemas are the OpenReferralUK/uk-profile files (CC BY-SA 4.0, Open Referral project),
read from ``../shared/reference/open_referral_uk/`` (see its SOURCE.md), never copied here.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

ORG_ID = "0d3c2a6e-5f4b-4c1d-9e8f-7a6b5c4d3e2f"
TAXONOMY_ID = "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
TERM_ID = "3f7b145d-84af-42d7-8fae-eaca714b02b2"
OTHER_TERM_ID = "9b6f0e1c-2d3a-4b5c-8d7e-6f5a4b3c2d1e"


@dataclass(frozen=True)
class OrukSchemas:
    service: Any
    service_list_item: Any
    service_at_location_list_item: Any
    taxonomy: Any
    taxonomy_term: Any
    page: Any

    def errors(self, validator: Any, document: Any) -> list[str]:
        return [str(error).splitlines()[0] for error in validator.iter_errors(document)]

    def page_errors(self, item_validator: Any, page: dict[str, Any]) -> list[str]:
        problems = self.errors(self.page, page)
        for index, item in enumerate(page.get("contents", [])):
            problems += [f"contents[{index}]: {e}" for e in self.errors(item_validator, item)]
        return problems


def oruk_schemas(shared_dir: Path) -> OrukSchemas:
    folder = shared_dir / "reference" / "open_referral_uk"

    def load(name: str) -> Any:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    definitions = load("schema_compiled/service_with_definitions.json")["definitions"]
    openapi = load("openapi.json")
    page = copy.deepcopy(openapi["components"]["schemas"]["Page"])
    # The OpenAPI's Page lists its fields; every page joinedup answers carries all of them.
    page["required"] = [*page["properties"], "contents"]
    page["properties"]["contents"] = {"type": "array"}

    def validator(schema: Any) -> Any:
        return jsonschema_rs.validator_for(schema, validate_formats=True)

    def definition(name: str) -> Any:
        return validator({"$ref": f"#/definitions/{name}", "definitions": definitions})

    return OrukSchemas(
        service=validator(load("schema_compiled/service.json")),
        service_list_item=validator(load("schema_compiled/service_list.json")),
        service_at_location_list_item=validator(
            load("schema_compiled/service_at_location_list.json")
        ),
        taxonomy=definition("taxonomy"),
        taxonomy_term=definition("taxonomy_term"),
        page=validator(page),
    )


def uid(n: int) -> str:
    """A distinct, valid UUID for test record `n`."""
    return f"00000000-0000-4000-8000-{n:012d}"


def term(term_id: str = TERM_ID, name: str = "Food") -> dict[str, Any]:
    return {
        "id": term_id,
        "name": name,
        "description": f"Open Eligibility: {name}",
        "term": name,
        "taxonomy": "Open Eligibility",
        "taxonomy_id": TAXONOMY_ID,
    }


def service(
    n: int,
    name: str = "Community Larder",
    *,
    lat: float | None = 53.0,
    lon: float | None = -1.5,
    term_id: str = TERM_ID,
    description: str = "Food for people on a low income.",
) -> dict[str, Any]:
    """A fully nested ORUK service numbered `n` (its own ids derive from n)."""
    location: dict[str, Any] = {"id": uid(n * 100 + 1), "location_type": "physical"}
    if lat is not None:
        location |= {"latitude": lat, "longitude": lon}
    location["addresses"] = [
        {
            "id": uid(n * 100 + 2),
            "address_1": "1 Mill Lane",
            "city": "Millford",
            "state_province": "England",
            "postal_code": "ZZ1 1AA",
            "country": "GB",
            "address_type": "physical",
        }
    ]
    return {
        "id": uid(n),
        "name": name,
        "description": description,
        "status": "active",
        "url": "https://larder.example.org",
        "assured_date": "2026-01-15",
        "assurer_email": "reviewer@example.org",
        "organization": {
            "id": ORG_ID,
            "name": "Millford Community Trust",
            "description": "A fictional charity.",
        },
        "schedules": [
            {
                "id": uid(n * 100 + 3),
                "freq": "WEEKLY",
                "byday": "TH",
                "opens_at": "10:00:00",
                "closes_at": "13:00:00",
            }
        ],
        "cost_options": [{"id": uid(n * 100 + 4), "amount": 3.5, "option": "Everyone"}],
        "languages": [{"id": uid(n * 100 + 5), "name": "English", "code": "en"}],
        "contacts": [
            {
                "id": uid(n * 100 + 6),
                "title": "Coordinator",
                "phones": [{"id": uid(n * 100 + 7), "number": "01632 960001"}],
            }
        ],
        "attributes": [
            {
                "id": uid(n * 100 + 8),
                "taxonomy_term": term(term_id, "Food" if term_id == TERM_ID else "Health"),
            }
        ],
        "service_at_locations": [{"id": uid(n * 100 + 9), "location": location}],
    }


def page(services: list[dict[str, Any]]) -> dict[str, Any]:
    count = len(services)
    return {
        "total_items": count,
        "total_pages": 1,
        "page_number": 1,
        "size": count,
        "first_page": True,
        "last_page": True,
        "empty": count == 0,
        "contents": services,
    }


def as_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode("utf-8")
