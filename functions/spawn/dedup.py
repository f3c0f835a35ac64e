"""Spawn's dedup claim, on the state store's atomic primitives (claim, compare-and-set).

``dedup:spawn:<task>:<attempt>`` (docs/architecture.md): one remediation per (task, attempt).
Claimed ``pending`` for ``PENDING_TTL`` (longer than a function may run), then set to the
``remediation.started`` payload, so a redelivery answers the same event without starting
anything. The limits themselves are :mod:`healer.state.limits`.
"""

from __future__ import annotations

import secrets
from typing import Any

from healer.errors import RetryableError
from healer.state import persistence
from healer.state.claims import Claim, Contended
from healer.state.limits import Claims
from healer.state.records import SpawnClaim
from healer.stores.state import StateStore

PENDING_TTL = 15 * 60
DONE_TTL = 7 * 24 * 3600


class InProgress(RetryableError):
    """Another delivery of the same context is starting this attempt right now."""

    title = "remediation starting"


def claim_dedup(state: StateStore, key: str, claims: Claims) -> dict[str, Any] | None:
    """Own ``key`` (→ None), or the stored outcome of the delivery that already did."""
    pending = persistence.dump(SpawnClaim(state="pending", token=secrets.token_hex(8)))
    try:
        raw = Claim(state, key, PENDING_TTL).take_or_holder(pending)
    except Contended as exc:
        raise InProgress(f"{key} kept changing hands", retry_after=5) from exc
    if raw is None:
        claims.dedup, claims.pending = key, pending
        return None
    held = persistence.parse(SpawnClaim, raw)
    if held is not None and held.state == "done" and held.data is not None:
        return held.data
    raise InProgress(f"{key} is being started by another delivery", retry_after=10)


def finish_dedup(state: StateStore, claims: Claims, data: dict[str, Any]) -> bool:
    """Record the outcome; False if the pending claim expired and someone else took over."""
    done = persistence.dump(SpawnClaim(state="done", data=data))
    finished = Claim(state, claims.dedup, PENDING_TTL).complete(claims.pending, done, DONE_TTL)
    claims.dedup = claims.pending = ""
    return finished
