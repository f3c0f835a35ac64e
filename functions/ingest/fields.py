"""Typed reads from an untrusted webhook payload: wrong shapes become ``InvalidInput``, not crashes.

Messages name the field and the expected type but never echo the value, which could be a secret.
"""

from __future__ import annotations

import re
from typing import Any

from healer.errors import InvalidInput
from healer.identity import MAX_ID

REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def at(obj: Any, *path: str) -> Any:
    """The value at ``path`` inside nested objects, or None if any step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def integer(value: Any, name: str) -> int:
    """A required integer field (bools and floats are not integers)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}")
    return value


def optional_integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def required_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name} must be a non-empty string, got {type(value).__name__}")
    return value


def repository(payload: dict[str, Any]) -> str:
    name = at(payload, "repository", "full_name")
    if not isinstance(name, str) or not REPOSITORY.fullmatch(name):
        raise InvalidInput("repository.full_name must be 'owner/name'")
    return name


def numbers(items: Any) -> list[int]:
    """PR numbers from a ``pull_requests`` list, ignoring entries that are not PR objects."""
    if not isinstance(items, list):
        return []
    found = [optional_integer(obj(item).get("number")) for item in items]
    return [n for n in found if n is not None and 1 <= n <= MAX_ID]


def shown(value: object, limit: int = 80) -> str:
    """A payload value made safe for a reason header or log line: one line, bounded."""
    cleaned = _CONTROL.sub("?", str(value))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
