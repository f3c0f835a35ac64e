"""Leased work: a record that one delivery at a time works on, and that remembers its result.

Where a :class:`~healer.state.claims.Claim` holds a key, a lease lives inside a record that
also keeps the work's progress (which channels took a message, say), so a delivery after a
partial failure redoes only what is left. The policy is the idempotency layer's: take the
lease unless the work is ``done`` (then answer its stored payload) or another delivery holds
an unexpired lease (then a retryable error that says how long to wait); change the record only
while holding the lease; give the lease back on failure; finish with the payload. Every write
is a compare-and-set (:func:`healer.state.persistence.update`), so two deliveries can never
both believe they hold it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from healer.errors import RetryableError
from healer.state import persistence
from healer.state.records import Leased
from healer.stores.state import StateStore

L = TypeVar("L", bound=Leased)

PENDING = "pending"
DONE = "done"


class LeaseHeld(RetryableError):
    title = "work in progress"


class Lease(Generic[L]):
    """One delivery's hold on the leased record at ``key``; ``token`` tells deliveries apart.
    Subclasses name the record (``model``), the timings and the error a held lease raises."""

    model: type[L]
    lease_seconds: ClassVar[float]
    keep_seconds: ClassVar[int]
    held: ClassVar[type[RetryableError]] = LeaseHeld
    work: ClassVar[str] = "worked on"  # as in "<key> is being <work> by another delivery"

    def __init__(
        self, state: StateStore, key: str, token: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.key = key
        self.token = token
        self.clock = clock

    def acquire(self) -> L:
        """The record, leased to this delivery; or, when already ``done``, as it stands."""

        def take(current: L | None) -> L | None:
            if current is not None and current.state == DONE:
                return None
            held_until = current.lease_until if current is not None else 0
            if current is not None and current.lease and held_until > self.clock():
                raise self.held(
                    f"{self.key} is being {self.work} by another delivery",
                    retry_after=max(1.0, held_until - self.clock()),
                )
            base = current or self.fresh()
            lease = {"lease": self.token, "lease_until": self.clock() + self.lease_seconds}
            return base.model_copy(update=lease)

        record = self._update(take, "claiming it")
        assert record is not None  # taken, or done
        return record

    def fresh(self) -> L:
        """The record before any delivery worked on it."""
        return self.model(state=PENDING)

    def update(self, change: Callable[[L], L]) -> L:
        """Apply ``change`` to the record while this delivery still holds the lease."""

        def mine(current: L | None) -> L:
            if current is None or current.lease != self.token:
                raise self.held(f"{self.key} was taken over by another delivery")
            return change(current)

        record = self._update(mine, "updating it")
        assert record is not None  # ``mine`` always writes
        return record

    def release(self) -> None:
        """Give the lease back so the broker's retry can start at once."""
        self.update(lambda record: record.model_copy(update={"lease": "", "lease_until": 0}))

    def finish(self, payload: dict[str, Any]) -> None:
        """The work is done: its payload kept for redeliveries, the lease dropped."""
        done = {"state": DONE, "lease": "", "lease_until": 0, "payload": payload}
        self.update(lambda record: record.model_copy(update=done))

    def _update(self, change: Callable[[L | None], L | None], doing: str) -> L | None:
        return persistence.update(
            self.state, self.key, self.model, change, doing=doing, ttl_seconds=self.keep_seconds
        )


def finished(state: StateStore, key: str, model: type[L]) -> dict[str, Any] | None:
    """The payload of leased work already done, without taking the lease (a read only)."""
    record = persistence.read(state, key, model)
    if record is None or record.state != DONE:
        return None
    return record.payload
