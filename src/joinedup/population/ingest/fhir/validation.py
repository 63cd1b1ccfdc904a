"""Each resource against its FHIR R4B model (`fhir.resources.R4B`); a pydantic error becomes one
reason naming the resource, the field path and the problem."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

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
        reason = describe_error(errors[0], kind)
        more = len(errors) - 1
        if more:
            reason += f" (and {more} more problem{'s' if more > 1 else ''})"
        return reason
    except (TypeError, ValueError) as exc:  # a validator that fails on a shape it did not expect
        return f"is not a valid FHIR R4B {kind} ({type(exc).__name__}: {exc})"
    return None


def describe_error(error: Any, kind: str) -> str:
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
