"""A dead letter replayed as the event it was.

The status function's sink stores ``{attributes, data, data_encoding, error, ...}``; a replay
(``healer deadletters replay``, ``healer replay`` of a dead-letter file) sends the event again
without the broker's error and TTL attributes, so it starts afresh.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cloudevents.http import CloudEvent

from healer.errors import InvalidInput
from healer.vocabulary import EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, EXT_TTL, EventType
from healer.webhooks.signature import sign, signed_bytes

SIGNATURE = "X-Hub-Signature-256"

# Attributes the broker added on the way to the dead-letter sink: a replay starts afresh.
BROKER_ATTRIBUTES = frozenset({EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, EXT_TTL})


def dead_letter_event(stored: Mapping[str, Any], *, secret: str = "") -> CloudEvent:
    """The event a dead letter holds, as first sent to the failing subscriber. A GitHub
    webhook envelope is signed afresh when a secret is configured: its body was redacted."""
    encoding = stored.get("data_encoding", "json")
    if encoding == "withheld":
        raise InvalidInput(
            f"dead letter {stored.get('id', '')!r} cannot be replayed: its data was withheld "
            "because it held a secret value; ask GitHub to redeliver the delivery instead"
        )
    attributes = stored.get("attributes")
    if not isinstance(attributes, dict) or not attributes.get("id") or not attributes.get("type"):
        raise InvalidInput("the dead letter has no event attributes (id, type) to replay")
    kept = {str(k): str(v) for k, v in attributes.items() if k not in BROKER_ATTRIBUTES}
    data = stored.get("data")
    if encoding == "base64" and isinstance(data, str):
        data = base64.b64decode(data)
    elif encoding == "none":
        data = None
    envelope = data if isinstance(data, dict) else None
    if (
        secret
        and kept["type"] == EventType.GITHUB_WEBHOOK.value
        and envelope is not None
        and isinstance(envelope.get("headers"), dict)
        and isinstance(envelope.get("body"), dict | str)
    ):
        headers = {k: v for k, v in envelope["headers"].items() if k.lower() != SIGNATURE.lower()}
        headers[SIGNATURE] = [sign(secret, signed_bytes(envelope["body"]))]
        data = {**envelope, "headers": headers}
    return CloudEvent(kept, data)
