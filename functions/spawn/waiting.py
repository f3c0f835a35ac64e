"""Work a limit refused for now: kept as a waiting task, started when the limit allows.

A refusal that will lift (the breaker, the CodeRun slots, a branch's window or another task
busy on the branch) is not a skip for good: spawn records the task ``status: waiting`` with a
``waiting`` entry (the attempt, the refusal's code and reason, the stored context's blob key,
``since``) by compare-and-set, and adds the task to the ordered index ``waiting:tasks`` (scored
by when it first waited, so the oldest starts first). completion-check's sweep, and the end of
every attempt that held a slot, release waiting tasks: each release claims
``waiting:lease:<task>:<attempt>`` (a lease that expires, so a lost release is retried) and
sends the stored context back to spawn. Starting the attempt takes the task out of the index;
a fresh refusal frees the lease for the next release. Spawn's own dedup makes a second start of
the same attempt a no-op, so a task waits and starts exactly once per attempt.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.spawn.record import MAX_RACES, task_key
from healer.errors import StoreUnavailable
from healer.stores.state import StateStore

WAITING_INDEX = "waiting:tasks"
LEASE_TTL = 15 * 60  # longer than a delivery to spawn may take, retries included
LIFTING = frozenset({"breaker", "busy", "window", "concurrency"})  # refusals that lift
STATUS = "waiting"


def lease_key(task_id: str, attempt: int) -> str:
    return f"waiting:lease:{task_id}:{attempt}"


class Waiting(BaseModel):
    """The ``waiting`` entry of a task record."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    attempt: int
    code: str
    reason: str
    context_key: str
    action: str
    repository: str
    branch: str
    since: str

    @classmethod
    def of(cls, record: Any) -> Waiting | None:
        """The entry of a record that says it is waiting; None otherwise."""
        if not isinstance(record, dict) or record.get("status") != STATUS:
            return None
        entry = record.get("waiting")
        if not isinstance(entry, dict):
            return None
        try:
            return cls.model_validate(entry)
        except ValueError:
            return None


def score(stamp: str) -> float:
    """Epoch seconds of a ``%Y-%m-%dT%H:%M:%SZ`` stamp (0 when unreadable: first in line)."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def with_waiting(
    record: dict[str, Any] | None, base: dict[str, Any], waiting: Waiting, now: str
) -> dict[str, Any] | None:
    """``record`` marked waiting for ``waiting.attempt``; None when it already says so (a
    redelivery). Waiting again for the same attempt keeps the first ``since``."""
    out = dict(record) if isinstance(record, dict) else {}
    previous = Waiting.of(out)
    if previous is not None and previous.attempt == waiting.attempt:
        waiting = waiting.model_copy(update={"since": previous.since})
        if previous == waiting:
            return None
    for name, value in base.items():
        out.setdefault(name, value)
    out.setdefault("created_at", now)
    out["status"] = STATUS
    out["waiting"] = waiting.model_dump()
    out["updated_at"] = now
    return out


def record_waiting(
    state: StateStore, task_id: str, base: dict[str, Any], waiting: Waiting, now: str
) -> Waiting:
    """Mark the task waiting (compare-and-set) and index it; the entry as stored. Idempotent:
    a redelivered refusal changes nothing and keeps the task's place in line."""
    key = task_key(task_id)
    for _ in range(MAX_RACES):
        raw = state.get(key)
        try:
            current = json.loads(raw) if raw is not None else None
        except ValueError:
            current = None
        updated = with_waiting(current, base, waiting, now)
        if updated is None:
            stored = Waiting.of(current) or waiting
            break
        if state.compare_and_set(key, raw, json.dumps(updated, sort_keys=True)):
            stored = Waiting.model_validate(updated["waiting"])
            break
    else:
        raise StoreUnavailable(f"{key} changed {MAX_RACES} times while recording a wait")
    state.index_add(WAITING_INDEX, task_id, score(stored.since))
    state.delete(lease_key(task_id, stored.attempt))  # the next release may send it again
    return stored


def started(state: StateStore, task_id: str, attempt: int) -> None:
    """The attempt started (its record says ``running``): out of line, lease dropped."""
    state.index_remove(WAITING_INDEX, task_id)
    state.delete(lease_key(task_id, attempt))
