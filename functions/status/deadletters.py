"""The Broker's dead-letter sink: keep each undeliverable event, with why it failed, for replay.

Knative adds ``knativeerrordest`` (the subscriber that failed), ``knativeerrorcode`` (its last
HTTP status, possibly a string) and ``knativeerrordata`` (the start of its answer, base64); any
of them may be missing. Every failure is its own letter (an event that fails at two Triggers, or
twice, leaves two), kept under ``dead-letters/<event id>--<time>-<hash>.json``; nothing is ever
overwritten. No secret value is stored: see ``healer.webhooks.redact``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healer.errors import InvalidInput
from healer.stores import keys
from healer.vocabulary import EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST
from healer.webhooks.redact import Scrubber

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from healer.stores.blob import BlobStore

PREFIX = "dead-letters/"
SUFFIX = ".json"
MAX_LISTED = 200
REASON_MAX_CHARS = 300


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decoded(raw: str) -> str:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", "replace") if raw else ""
    except (binascii.Error, ValueError):
        return ""


def reason_of(code: int | str, destination: str, data: str) -> str:
    """One readable line: the status, who answered it, and their problem's detail (or text)."""
    detail = data.strip()
    try:
        parsed = json.loads(detail) if detail else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        detail = str(parsed.get("detail") or parsed.get("title") or parsed.get("reason") or detail)
    detail = " ".join(detail.split())[:REASON_MAX_CHARS]
    head = f"HTTP {code}" if code != "" else "no answer"
    where = f" from {destination}" if destination else ""
    return f"{head}{where}" + (f": {detail}" if detail else "")


def error_of(attributes: dict[str, Any]) -> dict[str, Any]:
    raw = _text(attributes.get(EXT_ERROR_DATA))
    decoded = _decoded(raw)
    code_text = _text(attributes.get(EXT_ERROR_CODE))
    code: int | str = int(code_text) if code_text.isdigit() else code_text
    destination = _text(attributes.get(EXT_ERROR_DEST))
    return {
        "destination": destination,
        "code": code,
        "data": decoded,
        "data_base64": raw,
        "reason": reason_of(code, destination, decoded),
    }


def _data_of(event: CloudEvent) -> tuple[Any, str]:
    """The event's data as stored, and how to turn it back into event data (``encoding``)."""
    data = event.get_data()
    if data is None:
        return None, "none"
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode(), "base64"
        try:
            return json.loads(text), "json"
        except (ValueError, RecursionError):
            return text, "text"
    if isinstance(data, str):
        return data, "text"
    return data, "json"


def record(event: CloudEvent, received_at: datetime | None = None) -> dict[str, Any]:
    """The stored form: every attribute (extensions included), the data, and the error."""
    attributes = {k: _text(v) for k, v in event.get_attributes().items() if v is not None}
    data, encoding = _data_of(event)
    return {
        "id": attributes.get("id", ""),
        "type": attributes.get("type", ""),
        "source": attributes.get("source", ""),
        "attributes": attributes,
        "data": data,
        "data_encoding": encoding,
        "error": error_of(attributes),
        "received_at": (received_at or datetime.now(UTC)).isoformat(),
    }


def _secret_in_binary(data: Any, encoding: str, scrubber: Scrubber) -> bool:
    """Bytes that are not UTF-8 cannot be redacted in place; look for a secret member in them."""
    if encoding != "base64" or not isinstance(data, str):
        return False
    text = base64.b64decode(data).decode("latin-1")
    return scrubber.text(text) != text


def stored_bytes(rec: dict[str, Any]) -> bytes:
    """``rec`` without secrets, as stored. Whatever still holds a removed secret after
    redaction (a form redaction missed) is withheld: the letter keeps only its metadata."""
    scrubber = Scrubber()
    clean = scrubber.value(rec)
    body = json.dumps(clean, sort_keys=True, default=str, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    if not scrubber.leaks(body) and not _secret_in_binary(
        clean["data"], clean["data_encoding"], scrubber
    ):
        return body
    size = len(json.dumps(rec["data"], default=str))
    withheld = {
        **clean,
        "data": None,
        "data_encoding": "withheld",
        "data_withheld": f"{size} characters withheld: they held a secret value",
        "attributes": {k: v for k, v in clean["attributes"].items() if k != EXT_ERROR_DATA},
        "error": {**clean["error"], "data": "", "data_base64": ""},
    }
    body = json.dumps(withheld, sort_keys=True, default=str).encode()
    if scrubber.leaks(body):  # only in an attribute or the error line: keep less still
        withheld = {k: withheld[k] for k in ("data", "data_encoding", "data_withheld")}
        withheld.update({k: "" for k in ("id", "type", "source", "received_at")})
        body = json.dumps(withheld, sort_keys=True).encode()
    return body


def letter_id(key: str) -> str:
    return key[len(PREFIX) : -len(SUFFIX)] if key.startswith(PREFIX) else key


def store(blobs: BlobStore, event: CloudEvent, received_at: datetime | None = None) -> str:
    """Keep the event as a new letter (never overwriting one); return its key."""
    when = received_at or datetime.now(UTC)
    body = stored_bytes(record(event, when))
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(body).hexdigest()[:12]
    for n in range(1000):
        suffix = f"{stamp}-{digest}" + (f"-{n}" if n else "")
        key = keys.dead_letter_key(str(event["id"]), suffix)
        if blobs.put_if_absent(key, body, content_type="application/json"):
            return key
    raise InvalidInput(f"dead letter {event['id']!r}: no free key left for {stamp}")


def _summary(key: str, stored: dict[str, Any]) -> dict[str, Any]:
    error = stored.get("error") if isinstance(stored.get("error"), dict) else {}
    assert isinstance(error, dict)
    return {
        "key": key,
        "letter": letter_id(key),
        "id": stored.get("id", ""),
        "type": stored.get("type", ""),
        "source": stored.get("source", ""),
        "code": error.get("code", ""),
        "destination": error.get("destination", ""),
        "reason": error.get("reason", ""),
        "received_at": stored.get("received_at", ""),
        "replayable": stored.get("data_encoding") != "withheld",
    }


def read(blobs: BlobStore, key: str) -> dict[str, Any]:
    """The stored letter; ``InvalidInput`` when it is not one."""
    try:
        stored = json.loads(blobs.get(key))
    except ValueError as exc:
        raise InvalidInput(f"dead letter {letter_id(key)} is not readable JSON") from exc
    if not isinstance(stored, dict):
        raise InvalidInput(f"dead letter {letter_id(key)} is not a JSON object")
    return stored


def listing(blobs: BlobStore, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    """What a person needs to find a dead letter, without its data (it may be large)."""
    out = []
    for key in blobs.list(PREFIX)[:limit]:
        try:
            out.append(_summary(key, read(blobs, key)))
        except (InvalidInput, KeyError):
            continue
    return out


def resolve(blobs: BlobStore, ref: str) -> list[str]:
    """Keys a person's reference names: a letter (``ID--time-hash``), its key, or an event id
    (every letter of that event)."""
    ref = ref.strip()
    present = blobs.list(PREFIX)
    for key in (ref, PREFIX + ref + SUFFIX, PREFIX + ref):
        if key in present:
            return [key]
    safe = letter_id(keys.dead_letter_key(ref, "x"))[: -len("--x")]
    matched = [k for k in present if letter_id(k).rsplit("--", 1)[0] == safe]
    if not matched:
        raise InvalidInput(f"no dead letter {ref!r} (healer deadletters list shows them)")
    return matched


def to_event(stored: dict[str, Any], *, secret: str = "") -> CloudEvent:
    """The event as first sent to the failing subscriber (see ``healer.deadletters``)."""
    from healer.deadletters import dead_letter_event

    return dead_letter_event(stored, secret=secret)
