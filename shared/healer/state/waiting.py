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

from healer.state import clock, persistence
from healer.state.claims import Claim
from healer.state.records import TaskRecord, TaskStatus, Waiting
from healer.stores.keys import WAITING_INDEX, task_key, waiting_lease_key
from healer.stores.state import StateStore

LEASE_TTL = 15 * 60  # longer than a delivery to spawn may take, retries included
STATUS = TaskStatus.WAITING

__all__ = [
    "LEASE_TTL",
    "WAITING_INDEX",
    "Waiting",
    "lease",
    "record_waiting",
    "started",
]


def lease(state: StateStore, task_id: str, attempt: int) -> Claim:
    """``waiting:lease:<task>:<attempt>``: held by the one release sending the attempt."""
    return Claim(state, waiting_lease_key(task_id, attempt), LEASE_TTL)


def score(stamp: str) -> float:
    """Epoch seconds of a ``%Y-%m-%dT%H:%M:%SZ`` stamp (0 when unreadable: first in line)."""
    when = clock.parse(stamp)
    return 0.0 if when is None else when.timestamp()


def with_waiting(
    record: TaskRecord | None, base: TaskRecord, waiting: Waiting, now: str
) -> TaskRecord | None:
    """``record`` marked waiting for ``waiting.attempt``; None when it already says so (a
    redelivery). Waiting again for the same attempt keeps the first ``since``."""
    out = record or TaskRecord()
    previous = out.waiting_entry()
    if previous is not None and previous.attempt == waiting.attempt:
        waiting = waiting.model_copy(update={"since": previous.since})
        if previous == waiting:
            return None
    return out.based_on(base, now).model_copy(
        update={"status": STATUS, "waiting": waiting, "updated_at": now}
    )


def record_waiting(
    state: StateStore, task_id: str, base: TaskRecord, waiting: Waiting, now: str
) -> Waiting:
    """Mark the task waiting (compare-and-set) and index it; the entry as stored. Idempotent:
    a redelivered refusal changes nothing and keeps the task's place in line."""
    record = persistence.update(
        state,
        task_key(task_id),
        TaskRecord,
        lambda current: with_waiting(current, base, waiting, now),
        doing="recording a wait",
    )
    stored = (record.waiting_entry() if record is not None else None) or waiting
    state.index_add(WAITING_INDEX, task_id, score(stored.since))
    lease(state, task_id, stored.attempt).give_back()  # the next release may send it again
    return stored


def started(state: StateStore, task_id: str, attempt: int) -> None:
    """The attempt started (its record says ``running``): out of line, lease dropped."""
    state.index_remove(WAITING_INDEX, task_id)
    lease(state, task_id, attempt).give_back()
