"""GitHub's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from healer.errors import Unauthorized

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub sends for ``body`` under ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def signed_bytes(body: dict[str, Any] | str) -> bytes:
    """What ingest verifies: the raw body string, else the body's compact JSON."""
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode()


def verify(secret: str, signature: str, candidates: Iterable[bytes]) -> None:
    """Raise ``Unauthorized`` unless ``signature`` matches one of the signed-bytes candidates.

    More than one candidate exists only when the body reached us re-serialised (an envelope
    whose body is a JSON object): the compact form with and without ASCII escapes.
    """
    if not signature:
        raise Unauthorized("missing X-Hub-Signature-256 header; a webhook secret is configured")
    if not signature.startswith(PREFIX):
        raise Unauthorized("X-Hub-Signature-256 must look like 'sha256=<hex digest>'")
    given = signature.strip().encode("ascii", "replace")
    matched = False
    for body in candidates:
        # Check every candidate so the time taken does not depend on which one matched.
        matched |= hmac.compare_digest(sign(secret, body).encode("ascii"), given)
    if not matched:
        raise Unauthorized("X-Hub-Signature-256 does not match the body")
