"""The periodic sweep (a PingSource tick): attempts running past ``attempt_timeout_mins``
are timed out, which counts as a failed attempt.

A reply carries one event, so each tick answers with the oldest timed-out attempt's event;
when ``broker_url`` is set the others (up to ``LIMIT``) are POSTed to the broker as well,
otherwise they wait for the next ticks. What a tick chose is kept under
``sweep:<source>:<id>`` for a day, so a redelivered tick answers the same events.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from functions.completion_check import decide as rules
from healer.runtime import Skip

if TYPE_CHECKING:
    from functions.completion_check.stage import CompletionChecker, Reply

LIMIT = 20
SWEEP_TTL = 24 * 3600
TASK_PREFIX = "task:"


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def timed_out(records: list[dict[str, Any]], now: datetime, minutes: int) -> list[tuple[str, int]]:
    """(task, attempt) of every attempt running for ``minutes`` or more, oldest first."""
    found: list[tuple[datetime, str, int]] = []
    for record in records:
        entry = rules.open_attempt(record)
        started = _parse(str(entry.get("started_at") or "")) if entry is not None else None
        if entry is None or started is None:
            continue
        if (now - started).total_seconds() >= minutes * 60:
            found.append((started, str(record.get("task_id") or ""), int(entry["attempt"])))
    return [(task, attempt) for _, task, attempt in sorted(found) if task]


class Sweep:
    def __init__(self, checker: CompletionChecker) -> None:
        self.checker = checker
        self.services = checker.services

    def records(self) -> list[dict[str, Any]]:
        state = self.services.state
        out = []
        for key in state.keys(TASK_PREFIX):
            raw = state.get(key)
            try:
                record = json.loads(raw) if raw is not None else None
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("status") == "running":
                out.append(record)
        return out

    def forwarder(self) -> Any:
        if self.checker.forward is not None:
            return self.checker.forward
        url = self.services.settings.broker_url
        if not url:
            return None
        from functions.ingest.emit import BrokerEmitter

        return BrokerEmitter(url)

    def run(self, source: str, ident: str) -> Reply:
        state = self.services.state
        minutes = max(1, self.services.settings.attempt_timeout_mins)
        key = f"sweep:{source}:{ident}"
        kept = state.get_json(key)
        chosen = [(str(t), int(a)) for t, a in kept] if isinstance(kept, list) else []
        forward = self.forwarder()
        room = (LIMIT if forward is not None else 1) - len(chosen)
        if room > 0:
            fresh = timed_out(self.records(), self.checker.clock(), minutes)
            chosen += [c for c in fresh if c not in chosen][:room]
            state.set_json(key, chosen, SWEEP_TTL)
        reason = f"no reported result after {minutes} minutes (timed out)"
        events = [
            reply
            for task, attempt in chosen
            if isinstance(
                reply := self.checker.settle(task, attempt, ("timed_out", reason)), CloudEvent
            )
        ]
        if not events:
            return Skip(f"sweep: no attempt running past {minutes} minutes")
        for event in events[1:]:
            forward(event)
        return events[0]
