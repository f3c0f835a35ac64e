"""Recorded GitHub deliveries → a ``dev.healer.github.webhook`` CloudEvent for the broker.

The event has the Sensor's attributes, but its body is the recorded payload as it was, signed
again: the form ``envelope_trust: verify`` checks. (Argo's own envelopes carry a body it
re-encoded, which only ``envelope_trust: argo`` accepts.)

A delivery file is ``{"headers": {...}, "body": <payload>}`` (header values strings or lists).
The event is ``dev.healer.github.webhook`` with ``id`` = ``X-GitHub-Delivery``, ``source`` the
repository's URL, and data ``{"headers": {Canonical-Name: [values]}, "body", "metadata"}``.
When a webhook secret is configured the signature is recomputed over the bytes ingest will
verify: the compact JSON of the body, or the body string itself.

A dead letter (what the status function's sink stores: ``{attributes, data, data_encoding,
error, ...}``) is replayed as the event it was, without the broker's error and TTL attributes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent

from healer.deadletters import SIGNATURE, dead_letter_event
from healer.errors import InvalidInput
from healer.vocabulary import (
    EXT_GITHUB_EVENT,
    GITHUB_SOURCE,
    EventType,
)
from healer.webhooks.signature import signed_bytes


def canonical(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``x-github-delivery`` → ``X-Github-Delivery``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def delivery_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders searched recursively for ``*.json``, sorted."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            raise InvalidInput(f"{path} is neither a delivery file nor a folder of them")
    return out


def is_dead_letter(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("attributes"), dict)


def event_of_file(path: Path, *, secret: str = "") -> CloudEvent:
    """A delivery file's event, or a dead letter's."""
    document = _read_json(path)
    if is_dead_letter(document):
        return dead_letter_event(document, secret=secret)
    return to_cloudevent(load_delivery(path, document), secret=secret)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a readable JSON delivery file: {exc}") from exc


def load_delivery(path: Path, document: Any = None) -> dict[str, Any]:
    delivery = _read_json(path) if document is None else document
    if not isinstance(delivery, dict) or not isinstance(delivery.get("headers"), dict):
        raise InvalidInput(
            f"{path}: a delivery file is {{'headers': {{...}}, 'body': <payload>}} "
            "(or a dead letter: {'attributes': {...}, 'data': ...})"
        )
    if not isinstance(delivery.get("body"), dict | str):
        raise InvalidInput(f"{path}: 'body' must be the webhook payload object (or its raw text)")
    return delivery


def _values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def header(headers: Mapping[str, Any], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            values = _values(value)
            return values[0] if values else ""
    return ""


def to_cloudevent(delivery: Mapping[str, Any], *, secret: str = "") -> CloudEvent:
    """The Sensor's CloudEvent for one delivery."""
    raw_headers = delivery.get("headers") or {}
    body = delivery.get("body")
    if not isinstance(raw_headers, Mapping) or not isinstance(body, dict | str):
        raise InvalidInput("a delivery is {'headers': {...}, 'body': <payload>}")
    delivery_id = header(raw_headers, "X-GitHub-Delivery")
    if not delivery_id:
        raise InvalidInput("the delivery has no X-GitHub-Delivery header to use as the event id")
    headers = {canonical(k): _values(v) for k, v in raw_headers.items()}
    if secret:
        headers[canonical(SIGNATURE)] = [signature(secret, signed_bytes(body))]
    payload = body if isinstance(body, dict) else _parse(body)
    repository = payload.get("repository") if isinstance(payload, dict) else None
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    source = (
        f"{GITHUB_SOURCE}/{full_name}"
        if isinstance(full_name, str) and full_name
        else GITHUB_SOURCE
    )
    attributes = {
        "type": EventType.GITHUB_WEBHOOK.value,
        "source": source,
        "id": delivery_id,
        "datacontenttype": "application/json",
    }
    event_name = header(raw_headers, "X-GitHub-Event")
    if event_name:
        attributes[EXT_GITHUB_EVENT] = event_name
    return CloudEvent(attributes, {"headers": headers, "body": body, "metadata": {}})


def webhook_delivery(headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
    """A plain webhook POST as a delivery: the body stays raw text when re-serialising it
    would change the bytes its signature covers."""
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the webhook body is not JSON: {exc}") from exc
    body: dict[str, Any] | str = parsed if isinstance(parsed, dict) else text
    if isinstance(body, dict) and signed_bytes(body) != raw:
        body = text
    return {"headers": dict(headers), "body": body}


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
