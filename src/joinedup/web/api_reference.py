"""A readable API reference page made from the app's own OpenAPI document.

Served at /api/docs instead of Swagger UI: it works with no internet (Swagger UI loads its code
from a CDN), needs no inline script (Content-Security-Policy) and looks like the rest of the
service. The OpenAPI document itself stays at /openapi.json for tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Parameter]
    returns: str
    returns_schema: str | None
    errors: list[str]


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: list[SchemaField] = field(default_factory=list)


@dataclass(frozen=True)
class ApiReference:
    description: str
    openapi_url: str
    openapi_version: str
    operations: list[Operation]
    schemas: list[Schema]


def type_name(schema: dict[str, Any]) -> str:
    """A JSON schema's type in words: 'string', 'list of Count', 'integer or null'."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combiner in ("anyOf", "oneOf"):
        if combiner in schema:
            return " or ".join(type_name(s) for s in schema[combiner])
    if schema.get("type") == "array":
        return "list of " + type_name(schema.get("items", {}))
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any value"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _ref_name(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return _ref_name(schema.get("items", {}))
    return None


def api_reference(spec: dict[str, Any], openapi_url: str) -> ApiReference:
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ok = op.get("responses", {}).get("200", {})
            body = ok.get("content", {}).get("application/json", {}).get("schema", {})
            operations.append(
                Operation(
                    id=re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-"),
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    parameters=[
                        Parameter(
                            name=p["name"],
                            location=p.get("in", ""),
                            type=type_name(p.get("schema", {})),
                            required=bool(p.get("required")),
                            description=p.get("description", ""),
                        )
                        for p in op.get("parameters", [])
                    ],
                    returns=type_name(body) if body else "JSON",
                    returns_schema=_ref_name(body),
                    errors=[
                        f"{code} {response.get('description', '')}".strip()
                        for code, response in op.get("responses", {}).items()
                        if code not in ("200", "422")
                    ],
                )
            )
    schemas = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        schemas.append(
            Schema(
                name=name,
                description=schema.get("description", ""),
                fields=[
                    SchemaField(
                        name=field_name,
                        type=type_name(prop),
                        required=field_name in required,
                        description=prop.get("description", ""),
                    )
                    for field_name, prop in schema.get("properties", {}).items()
                ],
            )
        )
    info = spec.get("info", {})
    return ApiReference(
        description=info.get("description", ""),
        openapi_url=openapi_url,
        openapi_version=str(info.get("version", "")),
        operations=operations,
        schemas=schemas,
    )
