"""The remediation record ``task:<task_id>``: one entry per attempt, written by compare-and-set.

Several stages write the record (spawn starts attempts, completion-check finishes them), so
every update goes through :func:`healer.state.persistence.update`: it re-reads the record and
writes only if nobody changed it since; a lost race retries.
"""

from __future__ import annotations

from healer.state import persistence
from healer.state.records import Attempt, TaskRecord, TaskStatus
from healer.stores.keys import task_key
from healer.stores.state import StateStore


def planned_agent(record: TaskRecord | None, attempt: int) -> str:
    """The specialist completion-check chose for ``attempt`` (``next_agent`` in the record)."""
    planned = record.next_agent if record is not None else None
    return planned.agent if planned is not None and planned.attempt == attempt else ""


def with_attempt(
    record: TaskRecord | None, base: TaskRecord, entry: Attempt, now: str
) -> TaskRecord:
    """``record`` with ``entry`` as its attempt (replaced if that attempt is there already,
    keeping its first ``started_at``) and status ``running`` (no longer waiting)."""
    out = (record or TaskRecord()).without("waiting").based_on(base, now)
    previous = out.entry(entry.attempt)
    merged = entry
    if previous is not None:
        merged = entry.model_copy(
            update={
                "started_at": previous.started_at or entry.started_at or now,
                "outcome": previous.outcome,
            }
        )
    attempts = [a for a in out.attempts if a.attempt != entry.attempt] + [merged]
    return out.model_copy(
        update={
            "attempts": sorted(attempts, key=lambda a: a.attempt),
            "status": TaskStatus.RUNNING,
            "updated_at": now,
        }
    )


def record_attempt(
    state: StateStore, task_id: str, base: TaskRecord, entry: Attempt, now: str
) -> TaskRecord:
    """Write ``entry`` into the task record atomically (an unreadable record is replaced, not
    kept forever); the record as written."""
    written = persistence.update(
        state,
        task_key(task_id),
        TaskRecord,
        lambda current: with_attempt(current, base, entry, now),
        doing="recording an attempt",
    )
    assert written is not None  # the change always writes
    return written
