"""Escalating once: the claim ``escalated:<task_id>`` and the task record's final status.

The claim is a small JSON record: ``state`` (``pending`` until every channel has settled, then
``done`` with the emitted payload), the channels that took the message, and a lease naming the
delivery working on it. A redelivery of a finished escalation answers the same event without
posting; one after a partial failure redoes only the channels not yet sent; one that arrives
while another delivery holds the lease is told to come back later (503). Every write is a
compare-and-set, so two deliveries can never both believe they own the lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from healer.errors import RetryableError
from healer.state import persistence
from healer.state.records import ChannelResult, EscalationClaim, TaskRecord
from healer.stores.keys import escalation_claim_key, task_key
from healer.stores.state import StateStore

LEASE_SECONDS = 90  # longer than one delivery's work (the Service's timeoutSeconds is 60)
KEEP_SECONDS = 30 * 24 * 3600
PENDING = "pending"
DONE = "done"


class EscalationInProgress(RetryableError):
    title = "escalation in progress"


def finished(state: StateStore, task_id: str) -> dict[str, Any] | None:
    """The payload of an escalation already done, without taking a lease (a read only)."""
    claim = persistence.read(state, escalation_claim_key(task_id), EscalationClaim)
    if claim is None or claim.state != DONE:
        return None
    return claim.payload


class Progress:
    """One delivery's hold on a task's escalation; ``token`` tells deliveries apart."""

    def __init__(
        self, state: StateStore, task_id: str, token: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.key = escalation_claim_key(task_id)
        self.token = token
        self.clock = clock

    def acquire(self) -> EscalationClaim:
        """The claim, leased to this delivery; or, when already ``done``, as it stands."""

        def take(current: EscalationClaim | None) -> EscalationClaim | None:
            if current is not None and current.state == DONE:
                return None
            held_until = current.lease_until if current is not None else 0
            if current is not None and current.lease and held_until > self.clock():
                raise EscalationInProgress(
                    f"{self.key} is being escalated by another delivery",
                    retry_after=max(1.0, held_until - self.clock()),
                )
            base = current or EscalationClaim(state=PENDING, channels={})
            lease = {"lease": self.token, "lease_until": self.clock() + LEASE_SECONDS}
            return base.model_copy(update=lease)

        claim = self._update(take, "claiming it")
        assert claim is not None  # taken, or done
        return claim

    def update(self, change: Callable[[EscalationClaim], EscalationClaim]) -> EscalationClaim:
        """Apply ``change`` to the claim while this delivery still holds the lease."""

        def mine(current: EscalationClaim | None) -> EscalationClaim:
            if current is None or current.lease != self.token:
                raise EscalationInProgress(f"{self.key} was taken over by another delivery")
            return change(current)

        claim = self._update(mine, "updating it")
        assert claim is not None  # ``mine`` always writes
        return claim

    def _update(
        self, change: Callable[[EscalationClaim | None], EscalationClaim | None], doing: str
    ) -> EscalationClaim | None:
        return persistence.update(
            self.state, self.key, EscalationClaim, change, doing=doing, ttl_seconds=KEEP_SECONDS
        )

    def record_channel(self, channel: str, result: ChannelResult) -> ChannelResult:
        def change(claim: EscalationClaim) -> EscalationClaim:
            return claim.model_copy(update={"channels": {**claim.channels, channel: result}})

        return self.update(change).channels[channel]

    def release(self) -> None:
        """Give the lease back so the broker's retry can start at once."""
        self.update(lambda claim: claim.model_copy(update={"lease": "", "lease_until": 0}))

    def finish(self, payload: dict[str, Any]) -> None:
        self.update(
            lambda claim: claim.model_copy(
                update={"state": DONE, "lease": "", "lease_until": 0, "payload": payload}
            )
        )


def update_task(
    state: StateStore, task_id: str, base: TaskRecord, fields: TaskRecord, now: str
) -> TaskRecord:
    """Merge the fields ``fields`` sets into ``task:<task_id>`` by compare-and-set (``base``
    fills a record that is missing or lacks those keys, or holds them empty); the record as
    written."""

    def merge(current: TaskRecord | None) -> TaskRecord:
        record = (current or TaskRecord()).based_on(base, now, empty_too=True)
        changed = {name: getattr(fields, name) for name in fields.model_fields_set}
        return record.model_copy(update={**changed, "updated_at": now})

    written = persistence.update(
        state, task_key(task_id), TaskRecord, merge, doing="recording the escalation"
    )
    assert written is not None  # ``merge`` always writes
    return written
