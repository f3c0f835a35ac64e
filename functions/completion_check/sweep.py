"""The periodic sweep (a PingSource tick): attempts running past ``attempt_timeout_mins``
are timed out, which counts as a failed attempt; then waiting tasks whose limit allows are
released back to spawn (see ``release``), after the timeouts have freed their slots.

A reply carries one event, so each tick answers with the first of its events (timeouts first,
oldest first); when ``broker_url`` is set the others (up to ``LIMIT`` in all) are POSTed to the
broker as well, otherwise they wait for the next ticks. What a tick chose is kept under
``sweep:<source>:<id>`` for a day, so a redelivered tick answers the same events (a released
task's event under the same id; spawn's dedup starts it once) and releases nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from functions.completion_check import decide as rules
from functions.completion_check import release
from healer.runtime import Skip
from healer.state import clock, persistence
from healer.state.records import Outcome, SweepChoice, TaskRecord, TaskStatus
from healer.stores.keys import TASK_PREFIX, sweep_key

if TYPE_CHECKING:
    from functions.completion_check.stage import Answer, CompletionChecker

LIMIT = 20
SWEEP_TTL = 24 * 3600


def timed_out(records: list[TaskRecord], now: datetime, minutes: int) -> list[tuple[str, int]]:
    """(task, attempt) of every attempt running for ``minutes`` or more, oldest first."""
    found: list[tuple[datetime, str, int]] = []
    for record in records:
        entry = rules.open_attempt(record)
        started = clock.parse(entry.started_at) if entry is not None else None
        if entry is None or started is None:
            continue
        if (now - started).total_seconds() >= minutes * 60:
            found.append((started, record.task_id, entry.attempt))
    return [(task, attempt) for _, task, attempt in sorted(found) if task]


class Sweep:
    def __init__(self, checker: CompletionChecker) -> None:
        self.checker = checker
        self.services = checker.services

    def records(self) -> list[TaskRecord]:
        state = self.services.state
        out = []
        for key in state.keys(TASK_PREFIX):
            record = persistence.read(state, key, TaskRecord)
            if record is not None and record.status == TaskStatus.RUNNING:
                out.append(record)
        return out

    def forwarder(self) -> Any:
        if self.checker.forward is not None:
            return self.checker.forward
        url = self.services.settings.broker_url
        if not url:
            return None
        from healer.forward import BrokerEmitter

        return BrokerEmitter(url)

    def run(self, source: str, ident: str) -> Answer:
        state = self.services.state
        minutes = max(1, self.services.settings.attempt_timeout_mins)
        key = sweep_key(source, ident)
        raw = state.get(key)
        forward = self.forwarder()
        budget = LIMIT if forward is not None else 1
        redelivered = raw is not None
        kept = persistence.parse(SweepChoice, raw) or SweepChoice()
        chosen = list(kept.timed_out)
        released = [release.Release(*item) for item in kept.released]
        if not redelivered:
            chosen = timed_out(self.records(), self.checker.clock(), minutes)[:budget]
            choice = SweepChoice(timed_out=chosen, released=[])
            persistence.write(state, key, choice, SWEEP_TTL)
        reason = f"no reported result after {minutes} minutes (timed out)"
        events = [
            reply
            for task, attempt in chosen
            if isinstance(
                reply := self.checker.settle(task, attempt, (Outcome.TIMED_OUT, reason)),
                CloudEvent,
            )
        ]
        if not redelivered:
            released = release.choose(self.services, budget - len(chosen))
            choice = SweepChoice(timed_out=chosen, released=[r.as_tuple() for r in released])
            persistence.write(state, key, choice, SWEEP_TTL)
        for item in released:
            event = release.event_of(self.services, item)
            if event is None:
                release.give_back(self.services, item)
            else:
                events.append(event)
        if not events:
            return Skip(
                f"sweep: no attempt running past {minutes} minutes, no waiting task to start"
            )
        for event in events[1:]:
            forward(event)
        return events[0]
