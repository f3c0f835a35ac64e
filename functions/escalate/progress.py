"""Escalating once: the claim ``escalated:<task_id>`` and the task record's final status.

The claim is a small JSON record: ``state`` (``pending`` until every channel has settled, then
``done`` with the emitted payload), the channels that took the message, and a lease naming the
delivery working on it. A redelivery of a finished escalation answers the same event without
posting; one after a partial failure redoes only the channels not yet sent; one that arrives
while another delivery holds the lease is told to come back later (503). Every write is a
compare-and-set, so two deliveries can never both believe they own the lease.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from healer.errors import RetryableError, StoreUnavailable
from healer.stores.state import StateStore

LEASE_SECONDS = 90  # longer than one delivery's work (the Service's timeoutSeconds is 60)
KEEP_SECONDS = 30 * 24 * 3600
MAX_RACES = 20
PENDING = "pending"
DONE = "done"


class EscalationInProgress(RetryableError):
    title = "escalation in progress"


def claim_key(task_id: str) -> str:
    return f"escalated:{task_id}"


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def _load(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def finished(state: StateStore, task_id: str) -> dict[str, Any] | None:
    """The payload of an escalation already done, without taking a lease (a read only)."""
    claim = _load(state.get(claim_key(task_id)))
    if claim is None or claim.get("state") != DONE:
        return None
    payload = claim.get("payload")
    return payload if isinstance(payload, dict) else None


class Progress:
    """One delivery's hold on a task's escalation; ``token`` tells deliveries apart."""

    def __init__(
        self, state: StateStore, task_id: str, token: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.key = claim_key(task_id)
        self.token = token
        self.clock = clock

    def acquire(self) -> dict[str, Any]:
        """The claim, leased to this delivery; or, when already ``done``, as it stands."""
        for _ in range(MAX_RACES):
            raw = self.state.get(self.key)
            current = _load(raw)
            if current is not None and current.get("state") == DONE:
                return current
            held_until = float((current or {}).get("lease_until") or 0)
            if current is not None and current.get("lease") and held_until > self.clock():
                raise EscalationInProgress(
                    f"{self.key} is being escalated by another delivery",
                    retry_after=max(1.0, held_until - self.clock()),
                )
            base = current or {"state": PENDING, "channels": {}}
            mine = {**base, "lease": self.token, "lease_until": self.clock() + LEASE_SECONDS}
            if self.state.compare_and_set(self.key, raw, _dump(mine), KEEP_SECONDS):
                return mine
        raise StoreUnavailable(f"{self.key} changed {MAX_RACES} times while claiming it")

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``change`` to the claim while this delivery still holds the lease."""
        for _ in range(MAX_RACES):
            raw = self.state.get(self.key)
            current = _load(raw)
            if current is None or current.get("lease") != self.token:
                raise EscalationInProgress(f"{self.key} was taken over by another delivery")
            updated = change(dict(current))
            if self.state.compare_and_set(self.key, raw, _dump(updated), KEEP_SECONDS):
                return updated
        raise StoreUnavailable(f"{self.key} changed {MAX_RACES} times while updating it")

    def record_channel(self, channel: str, result: dict[str, Any]) -> dict[str, Any]:
        def change(claim: dict[str, Any]) -> dict[str, Any]:
            channels = dict(claim.get("channels") or {})
            channels[channel] = result
            return {**claim, "channels": channels}

        return self.update(change)

    def release(self) -> None:
        """Give the lease back so the broker's retry can start at once."""
        self.update(lambda claim: {**claim, "lease": "", "lease_until": 0})

    def finish(self, payload: dict[str, Any]) -> None:
        self.update(
            lambda claim: {
                **claim,
                "state": DONE,
                "lease": "",
                "lease_until": 0,
                "payload": payload,
            }
        )


def update_task(
    state: StateStore,
    task_id: str,
    base: dict[str, Any],
    fields: dict[str, Any],
    now: str,
) -> dict[str, Any]:
    """Merge ``fields`` into ``task:<task_id>`` by compare-and-set (``base`` fills a record
    that is missing or lacks those keys); the record as written."""
    key = task_key(task_id)
    for _ in range(MAX_RACES):
        raw = state.get(key)
        record = _load(raw) or {}
        for name, value in base.items():
            if record.get(name) in (None, "", []):
                record[name] = value
        record.setdefault("created_at", now)
        record.update(fields)
        record["updated_at"] = now
        if state.compare_and_set(key, raw, json.dumps(record, sort_keys=True)):
            return record
    raise StoreUnavailable(f"{key} changed {MAX_RACES} times while recording the escalation")


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)
