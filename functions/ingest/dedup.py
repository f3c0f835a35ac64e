"""Record each delivery once: a dedup claim in the state store and the raw delivery archived.

A redelivery (GitHub's "Redeliver", a broker retry after a lost reply) finds the claim taken
and is not archived again, but ingest still answers with the same event (same id): the first
reply may never have reached the broker, and downstream stages dedupe on the id.
"""

from __future__ import annotations

import json
import logging

from functions.ingest.finding import Finding
from healer.state import claims
from healer.stores.blob import BlobStore
from healer.stores.keys import delivery_claim_key, delivery_key
from healer.stores.state import StateStore
from healer.webhooks.envelope import Delivery
from healer.webhooks.redact import scrub

log = logging.getLogger("healer.ingest")

CLAIM_TTL_SECONDS = 7 * 24 * 3600  # GitHub keeps deliveries redeliverable for 3 days
ARCHIVED_HEADER_PREFIXES = ("x-github-", "user-agent")
_CANONICAL = {"github": "GitHub", "id": "ID"}


def delivery_ident(delivery: Delivery, finding: Finding) -> str:
    """The delivery id, or the upstream identity when a sender dropped ``X-GitHub-Delivery``."""
    return delivery.delivery_id or ":".join(str(part) for part in finding.identity)


def canonical(name: str) -> str:
    """``x-github-event`` → ``X-GitHub-Event``: the spelling GitHub's docs use."""
    return "-".join(_CANONICAL.get(part, part.capitalize()) for part in name.split("-"))


def archive_document(delivery: Delivery, event_name: str) -> bytes:
    """The delivery file format: GitHub's headers (signatures dropped: the body is re-encoded,
    and possibly redacted, so replay signs it afresh) and the payload object, with every
    secret-scanning ``secret`` taken out wherever it sits (nested text and base64 included)."""
    headers = {
        canonical(name): value
        for name, value in sorted(delivery.headers.items())
        if name.startswith(ARCHIVED_HEADER_PREFIXES)
    }
    headers["X-GitHub-Event"] = event_name
    headers["Content-Type"] = "application/json"
    body, scrubber = scrub(delivery.payload)
    document = {"headers": headers, "body": body}
    stored = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if scrubber.leaks(stored):  # a form redaction missed: keep the headers, never the secret
        document = {"headers": headers, "body": {}, "withheld": "the body held a secret value"}
        stored = json.dumps(document, indent=1).encode()
    return stored


def record_once(
    state: StateStore, blobs: BlobStore, ident: str, event_id: str, document: bytes
) -> bool:
    """Claim the delivery and archive it; False when it was already recorded.

    If archiving fails the claim is released, so the broker's retry archives it then.
    """
    ran, _ = claims.once(
        state,
        delivery_claim_key(ident),
        lambda: blobs.put_if_absent(delivery_key(ident), document, content_type="application/json"),
        ttl_seconds=CLAIM_TTL_SECONDS,
        value=event_id,
    )
    return ran
