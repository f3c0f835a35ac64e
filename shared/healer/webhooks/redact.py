"""Take a secret-scanning alert's ``secret`` value out of a delivery, whatever form it is in.

A delivery reaches a store as a parsed object, as the raw text GitHub sent (pretty-printed,
non-ASCII: kept as text so its signature still holds), as a ``payload=`` form, or base64 inside
an envelope (a CloudEvent's ``data_base64``, Argo's whole-event ``data``). ``scrub`` walks every
one of those forms; text that does not parse is redacted by pattern. Every value it removes is
remembered, and ``leaks`` checks the bytes finally stored against them, so a form nobody thought
of is caught before it is written rather than after.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
MAX_DEPTH = 32
# A JSON member named "secret" with a string value, plain or inside an escaped JSON string.
_MEMBER = re.compile(r'("secret"\s*:\s*)"((?:[^"\\]|\\.)*)"')
_ESCAPED_MEMBER = re.compile(r'(\\"secret\\"\s*:\s*)\\"((?:[^"\\]|\\[^"])*)\\"')
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_MIN_BASE64 = 16  # shorter strings are ids and words, not an encoded document
_MIN_SECRET = 4  # a shorter "secret" is not worth searching the stored bytes for


@dataclass
class Scrubber:
    """One pass over a value; ``found`` holds every secret value it removed."""

    found: set[str] = field(default_factory=set)

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            return self.text(json.dumps(value, default=str), depth) if value else value
        if isinstance(value, dict):
            out = {k: self.value(v, depth + 1) for k, v in value.items()}
            alert = out.get("alert")
            if isinstance(alert, dict) and "secret" in alert:
                self._note(alert["secret"])
                out["alert"] = {k: v for k, v in alert.items() if k != "secret"}
            return out
        if isinstance(value, list):
            return [self.value(v, depth + 1) for v in value]
        if isinstance(value, str):
            return self.text(value, depth)
        return value

    def text(self, text: str, depth: int = 0) -> str:
        """``text`` without secrets; unchanged (same string) when it held none."""
        if depth > MAX_DEPTH or len(text) < 2:
            return text
        head = text.lstrip()[:1]
        if head in ("{", "["):
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict | list):
                cleaned = self.value(parsed, depth + 1)
                if cleaned == parsed:
                    return text
                return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))
        elif text.startswith("payload="):
            pairs = parse_qsl(text, keep_blank_values=True)
            cleaned_pairs = [(k, self.text(v, depth + 1)) for k, v in pairs]
            if cleaned_pairs != pairs:
                return urlencode(cleaned_pairs)
        elif len(text) >= _MIN_BASE64 and _BASE64.fullmatch(text):
            decoded = _decoded(text)
            if decoded is not None:
                cleaned = self.text(decoded, depth + 1)
                if cleaned != decoded:
                    return base64.b64encode(cleaned.encode("utf-8", "surrogatepass")).decode()
                return text
        return self._by_pattern(text)

    def _by_pattern(self, text: str) -> str:
        def plain(match: re.Match[str]) -> str:
            self._note(_unescaped(match.group(2)))
            return f'{match.group(1)}"{REDACTED}"'

        def escaped(match: re.Match[str]) -> str:
            self._note(_unescaped(_unescaped(match.group(2))))
            return f'{match.group(1)}\\"{REDACTED}\\"'

        return _ESCAPED_MEMBER.sub(escaped, _MEMBER.sub(plain, text))

    def _note(self, secret: Any) -> None:
        if isinstance(secret, str) and len(secret) >= _MIN_SECRET and secret != REDACTED:
            self.found.add(secret)

    def leaks(self, stored: bytes) -> bool:
        """True when ``stored`` still holds a removed secret, as text, JSON-escaped or base64."""
        return any(form in stored for secret in self.found for form in _forms(secret))


def scrub(value: Any) -> tuple[Any, Scrubber]:
    """``value`` without secrets, and the scrubber (to check the bytes stored with ``leaks``)."""
    scrubber = Scrubber()
    return scrubber.value(value), scrubber


def _decoded(text: str) -> str | None:
    try:
        raw = base64.b64decode(text, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _unescaped(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode("utf-8", "surrogatepass")
    forms = [
        raw,
        json.dumps(secret)[1:-1].encode(),
        json.dumps(secret, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass"),
    ]
    if len(raw) >= 12:
        # Base64 at each of the three alignments; only the groups made of the secret's bytes.
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw)
            forms.append(encoded[4 if shift else 0 : -4])
    return forms
