"""What the API server does with a custom resource under a structural schema: strict decoding
reports unknown fields, defaulting fills ``default`` values, pruning drops every field the
schema does not list (unless ``x-kubernetes-preserve-unknown-fields``), and validation checks
types, ``required`` and ``enum``, with the field paths and wording the API server uses."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

PRESERVE = "x-kubernetes-preserve-unknown-fields"


@dataclass(frozen=True)
class Cause:
    reason: str  # FieldValueRequired | FieldValueTypeInvalid | FieldValueNotSupported | ...
    field: str
    message: str

    def as_status(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def unknown_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Every field ``obj`` has that the schema would prune, as ``spec.prompt`` paths."""
    found: list[str] = []
    if schema.get(PRESERVE):
        return found
    kind = schema.get("type")
    if kind == "object" and isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            where = _join(path, str(key))
            if props is not None and key in props:
                found += unknown_fields(value, props[key], where)
            elif isinstance(extra, dict):
                found += unknown_fields(value, extra, where)
            elif props is not None or extra is None:
                found.append(where)
    elif kind == "array" and isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(obj):
            found += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


def prune(obj: Any, schema: dict[str, Any]) -> Any:
    """``obj`` without the fields the schema does not list."""
    if schema.get(PRESERVE):
        return copy.deepcopy(obj)
    kind = schema.get("type")
    if kind == "object" and isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        out = {}
        for key, value in obj.items():
            if props is not None and key in props:
                out[key] = prune(value, props[key])
            elif isinstance(extra, dict):
                out[key] = prune(value, extra)
        return out
    if kind == "array" and isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [prune(item, schema["items"]) for item in obj]
    return copy.deepcopy(obj)


def apply_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """``obj`` with each absent property that has a ``default`` set to it."""
    if schema.get("type") == "object" and isinstance(obj, dict):
        out = dict(obj)
        for key, sub in (schema.get("properties") or {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = apply_defaults(out[key], sub)
        return out
    if schema.get("type") == "array" and isinstance(obj, list) and schema.get("items"):
        return [apply_defaults(item, schema["items"]) for item in obj]
    return obj


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return '"' + type(value).__name__.replace("dict", "object").replace("list", "array") + '"'
    return json.dumps(value)


def validate(obj: Any, schema: dict[str, Any], path: str = "") -> list[Cause]:
    """The validation errors the API server reports for ``obj`` (empty: valid)."""
    kind = schema.get("type")
    if kind and not _TYPES[kind](obj):
        shown = _shown(obj)
        return [
            Cause(
                "FieldValueTypeInvalid",
                path,
                f"Invalid value: {shown}: {path} in body must be of type {kind}: {shown}",
            )
        ]
    causes: list[Cause] = []
    if "enum" in schema and obj not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        causes.append(
            Cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {json.dumps(obj)}: supported values: {supported}",
            )
        )
    if schema.get("format") == "int32" and isinstance(obj, int) and not -(2**31) <= obj < 2**31:
        causes.append(Cause("FieldValueInvalid", path, f"Invalid value: {obj}: must be int32"))
    if kind == "object" and not schema.get(PRESERVE):
        for name in schema.get("required") or []:
            if name not in obj:
                causes.append(Cause("FieldValueRequired", _join(path, name), "Required value"))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            if key in props:
                causes += validate(value, props[key], _join(path, key))
            elif isinstance(extra, dict):
                causes += validate(value, extra, _join(path, key))
    if kind == "array" and isinstance(schema.get("items"), dict):
        for index, item in enumerate(obj):
            causes += validate(item, schema["items"], f"{path}[{index}]")
    return causes
