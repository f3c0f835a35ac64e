"""What a delivery reports, in the shape the filters and the handler work with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from healer.vocabulary import EventType


@dataclass(frozen=True)
class Finding:
    """What a delivery reports, plus what the filters look at."""

    event_type: EventType
    data: dict[str, Any]
    repository: str
    run_id: int | str
    attempt: int
    identity: tuple[object, ...]  # upstream identity when there is no X-GitHub-Delivery
    sender_login: str = ""
    sender_type: str = ""
    branch: str | None = None  # None: branch filters do not apply (alerts)
    commit_message: str = ""
    fork_head: str = ""  # the fork's full name when the code under test comes from a fork
    failure_type: str = ""

    @property
    def is_alert(self) -> bool:
        return self.event_type is EventType.ALERT_DETECTED
