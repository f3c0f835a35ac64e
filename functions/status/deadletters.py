"""The Broker's dead-letter sink: keep each undeliverable event, with why it failed, for replay.

Knative adds ``knativeerrordest`` (the subscriber that failed), ``knativeerrorcode`` (its last
HTTP status, possibly a string) and ``knativeerrordata`` (the start of its answer, base64); any
of them may be missing.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healer.stores import keys
from healer.vocabulary import EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from healer.stores.blob import BlobStore

PREFIX = "dead-letters/"
MAX_LISTED = 200


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def error_of(attributes: dict[str, Any]) -> dict[str, Any]:
    raw = _text(attributes.get(EXT_ERROR_DATA))
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8", "replace") if raw else ""
    except (binascii.Error, ValueError):
        decoded = ""
    code = _text(attributes.get(EXT_ERROR_CODE))
    return {
        "destination": _text(attributes.get(EXT_ERROR_DEST)),
        "code": int(code) if code.isdigit() else code,
        "data": decoded,
        "data_base64": raw,
    }


def without_secrets(value: Any, depth: int = 0) -> Any:
    """``value`` with every secret-scanning alert's ``secret`` dropped, wherever the delivery
    sits in the event (bare payload, Argo envelope body): dead letters are kept like archives."""
    if depth > 32:
        return value
    if isinstance(value, dict):
        out = {k: without_secrets(v, depth + 1) for k, v in value.items()}
        alert = out.get("alert")
        if isinstance(alert, dict) and "secret" in alert:
            out["alert"] = {k: v for k, v in alert.items() if k != "secret"}
        return out
    if isinstance(value, list):
        return [without_secrets(v, depth + 1) for v in value]
    return value


def record(event: CloudEvent, received_at: datetime | None = None) -> dict[str, Any]:
    """The stored form: every attribute (extensions included), the data, and the error."""
    attributes = {k: _text(v) for k, v in event.get_attributes().items() if v is not None}
    data = event.get_data()
    if isinstance(data, bytes | bytearray):
        try:
            data = json.loads(data)
        except ValueError:
            data = {"base64": base64.b64encode(bytes(data)).decode()}
    return {
        "id": attributes.get("id", ""),
        "type": attributes.get("type", ""),
        "source": attributes.get("source", ""),
        "attributes": attributes,
        "data": without_secrets(data),
        "error": error_of(attributes),
        "received_at": (received_at or datetime.now(UTC)).isoformat(),
    }


def store(blobs: BlobStore, event: CloudEvent) -> str:
    """Keep the event under ``dead-letters/<id>.json``; a later failure of the same id wins."""
    key = keys.dead_letter_key(str(event["id"]))
    body = json.dumps(record(event), sort_keys=True, default=str).encode()
    blobs.put(key, body, content_type="application/json")
    return key


def listing(blobs: BlobStore, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    """What a person needs to find a dead letter, without its data (it may hold secrets)."""
    out = []
    for key in blobs.list(PREFIX)[:limit]:
        try:
            stored = json.loads(blobs.get(key))
        except (ValueError, KeyError):
            continue
        if not isinstance(stored, dict):
            continue
        error = stored.get("error") if isinstance(stored.get("error"), dict) else {}
        out.append(
            {
                "key": key,
                "id": stored.get("id", ""),
                "type": stored.get("type", ""),
                "source": stored.get("source", ""),
                "code": error.get("code", ""),
                "destination": error.get("destination", ""),
                "received_at": stored.get("received_at", ""),
            }
        )
    return out
