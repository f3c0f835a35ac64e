"""One record per delivery the local broker makes: what went where and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent


class Outcome(StrEnum):
    REPLY = "reply"  # 2xx with a CloudEvent that re-entered the broker
    ACCEPTED = "accepted"  # empty 2xx
    SKIPPED = "skipped"  # empty 2xx with a reason (X-Healer-Reason)
    REJECTED = "rejected"  # a status that is not retried (4xx other than 404/408/409/429)
    FAILED = "failed"  # still failing after every retry
    UNDELIVERABLE = "undeliverable"  # the subscriber does not exist (yet)
    DROPPED = "dropped"  # a reply whose knativebrokerttl ran out
    DEAD_LETTER = "dead-letter"  # the delivery of a failed event to the dead-letter sink
    INGRESS = "ingress"  # a POST to a remote broker's ingress


@dataclass(frozen=True)
class Hop:
    stage: str
    type: str
    id: str
    status: int | None
    outcome: Outcome
    reason: str = ""
    trigger: str = ""
    attempts: int = 1
    duration_ms: float = 0.0
    reply_type: str = ""
    reply_id: str = ""
    dead_lettered: bool = False
    delivery: str = ""
    reply: CloudEvent | None = field(default=None, compare=False, repr=False)

    @property
    def failed(self) -> bool:
        """Lost or rejected: the delivery did not succeed (dead-lettered or not)."""
        if self.outcome in (Outcome.REJECTED, Outcome.FAILED):
            return True
        if self.outcome in (Outcome.DEAD_LETTER, Outcome.INGRESS):
            return self.status is None or not 200 <= self.status < 300
        return False

    def with_delivery(self, delivery: str) -> Hop:
        return replace(self, delivery=delivery)

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "trigger": self.trigger,
            "type": self.type,
            "id": self.id,
            "status": self.status,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "attempts": self.attempts,
            "duration_ms": round(self.duration_ms, 2),
            "reply_type": self.reply_type,
            "reply_id": self.reply_id,
            "dead_lettered": self.dead_lettered,
            "delivery": self.delivery,
        }
