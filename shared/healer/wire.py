"""What may cross the wire: bounded JSON, well-formed CloudEvent attributes, header-safe text.

Anyone who can reach a Service can post anything, so these checks run on every request before
any parsing that recurses (the JSON decoder, pydantic, the CloudEvents SDK) and before a value
can reach a URL, a header, a file name or a store key. Each failure is ``InvalidInput`` (400).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from healer.errors import InvalidInput

MAX_DEPTH = 64  # GitHub's deepest payloads nest about 10 levels; CloudEvents add two
MAX_ID = 1024  # an id becomes a store key: keys.py shortens long ones with a digest
MAX_ATTRIBUTE = 4096  # source, subject, extensions (knativeerrordata is at most 1024)
MAX_HEADER = 500

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE_HEADER = re.compile(r"[^\x20-\x7e]")
_SHORT = {"id": MAX_ID, "type": MAX_ID, "specversion": 16}


def check_nesting(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse a body whose brackets nest deeper than ``limit``, counted outside JSON strings,
    without parsing it (parsers recurse per level)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise InvalidInput(f"JSON nests deeper than {limit} levels")
        elif depth:
            depth -= 1


def loads(text: str | bytes) -> Any:
    """``json.loads`` for untrusted text: nesting bounded, text well-formed (``check_text``)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    check_nesting(raw)
    value = json.loads(text)
    check_text(value)
    return value


def check_text(value: Any, where: str = "data") -> None:
    """Refuse lone surrogates (``"\\ud800"`` is valid JSON but no Unicode text) anywhere in a
    parsed JSON value: they cannot be written to a file, a store or a header."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _encodable(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _encodable(str(key), path)
                stack.append((child, f"{path}.{key}"[:200]))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))


def _encodable(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{where} holds a lone surrogate, which is not text") from exc


def check_attributes(attributes: Mapping[str, Any]) -> None:
    """A CloudEvent's context attributes as the rest of Healer relies on them: strings (or,
    for extensions, integers and booleans), bounded, without control characters."""
    for name, value in attributes.items():
        if name in ("id", "source", "type", "specversion") and not isinstance(value, str):
            raise InvalidInput(f"CloudEvent attribute {name!r} must be a string")
        if isinstance(value, bool | int):
            continue
        if not isinstance(value, str):
            raise InvalidInput(
                f"CloudEvent attribute {name!r} must be a string, got {type(value).__name__}"
            )
        limit = _SHORT.get(name, MAX_ATTRIBUTE)
        if len(value) > limit:
            raise InvalidInput(f"CloudEvent attribute {name!r} is longer than {limit} characters")
        if name in ("id", "source", "type") and not value:
            raise InvalidInput(f"CloudEvent attribute {name!r} must not be empty")
        if _CONTROL.search(value):
            raise InvalidInput(f"CloudEvent attribute {name!r} holds control characters")
        _encodable(value, f"CloudEvent attribute {name!r}")


def header_safe(value: object, limit: int = MAX_HEADER) -> str:
    """``value`` as printable ASCII of at most ``limit`` characters: any HTTP stack can send it
    and no header can be split or smuggled by it."""
    return _UNSAFE_HEADER.sub("?", str(value))[:limit]


def is_header_safe(value: object, limit: int = MAX_ATTRIBUTE) -> bool:
    text = str(value)
    return len(text) <= limit and not _UNSAFE_HEADER.search(text)
