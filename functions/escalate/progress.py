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

from healer.state import leases, persistence
from healer.state.leases import DONE, PENDING, Lease, LeaseHeld
from healer.state.records import ChannelResult, EscalationClaim, TaskRecord
from healer.stores.keys import escalation_claim_key, task_key
from healer.stores.state import StateStore

LEASE_SECONDS = 90  # longer than one delivery's work (the Service's timeoutSeconds is 60)
KEEP_SECONDS = 30 * 24 * 3600

__all__ = ["DONE", "PENDING", "EscalationInProgress", "Progress", "finished", "update_task"]


class EscalationInProgress(LeaseHeld):
    title = "escalation in progress"


def finished(state: StateStore, task_id: str) -> dict[str, Any] | None:
    """The payload of an escalation already done, without taking a lease (a read only)."""
    return leases.finished(state, escalation_claim_key(task_id), EscalationClaim)


class Progress(Lease[EscalationClaim]):
    """One delivery's hold on a task's escalation (see :class:`healer.state.leases.Lease`)."""

    model = EscalationClaim
    lease_seconds = LEASE_SECONDS
    keep_seconds = KEEP_SECONDS
    held = EscalationInProgress
    work = "escalated"

    def __init__(
        self, state: StateStore, task_id: str, token: str, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(state, escalation_claim_key(task_id), token, clock)

    def fresh(self) -> EscalationClaim:
        return EscalationClaim(state=PENDING, channels={})

    def record_channel(self, channel: str, result: ChannelResult) -> ChannelResult:
        def change(claim: EscalationClaim) -> EscalationClaim:
            return claim.model_copy(update={"channels": {**claim.channels, channel: result}})

        return self.update(change).channels[channel]


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
