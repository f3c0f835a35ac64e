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

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from functions.completion_check import decide as rules
from functions.completion_check import release
from healer.runtime import Skip

if TYPE_CHECKING:
    from functions.completion_check.stage import Answer, CompletionChecker

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

    def run(self, source: str, ident: str) -> Answer:
        state = self.services.state
        minutes = max(1, self.services.settings.attempt_timeout_mins)
        key = f"sweep:{source}:{ident}"
        kept = state.get_json(key)
        forward = self.forwarder()
        budget = LIMIT if forward is not None else 1
        redelivered = kept is not None
        chosen, released = _kept(kept)
        if not redelivered:
            fresh = timed_out(self.records(), self.checker.clock(), minutes)
            chosen = fresh[:budget]
            state.set_json(key, {"timed_out": chosen, "released": []}, SWEEP_TTL)
        reason = f"no reported result after {minutes} minutes (timed out)"
        events = [
            reply
            for task, attempt in chosen
            if isinstance(
                reply := self.checker.settle(task, attempt, ("timed_out", reason)), CloudEvent
            )
        ]
        if not redelivered:
            released = release.choose(self.services, budget - len(chosen))
            kept_releases = [r.as_list() for r in released]
            state.set_json(key, {"timed_out": chosen, "released": kept_releases}, SWEEP_TTL)
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


def _kept(kept: Any) -> tuple[list[tuple[str, int]], list[release.Release]]:
    """What a tick chose before (``{"timed_out": [[task, attempt]…], "released": […]}``; a bare
    list is the timed-out attempts alone, as ticks kept them before releases)."""
    if isinstance(kept, dict):
        timed, freed = kept.get("timed_out"), kept.get("released")
    else:
        timed, freed = kept, []
    chosen = [(str(t), int(a)) for t, a in timed] if isinstance(timed, list) else []
    released = [r for r in map(release.Release.from_list, freed or []) if r is not None]
    return chosen, released
