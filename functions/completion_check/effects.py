"""State writes around a decided attempt: the task record by compare-and-set, and once-only
side effects (the CodeRun slot, the fingerprint history, the circuit breaker).

Each side effect is guarded by its own claim ``done:<task>:<attempt>[:<effect>]`` taken just
before it runs and given back if it fails, so redeliveries (and the sweep racing an update)
apply each exactly once.

The breaker: every failed or timed-out attempt, whatever its task, adds one to
``breaker:failures`` (which expires ``breaker_window_mins`` after the first of a run of
failures); a succeeded attempt deletes it. When it reaches ``breaker_threshold``,
``breaker:open`` is set for ``breaker_open_mins`` and spawn starts nothing meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from healer.state import persistence
from healer.state.records import TaskRecord
from healer.stores.keys import (
    ACTIVE_KEY,
    BREAKER_KEY,
    FAILURES_KEY,
    done_key,
    history_key,
    task_key,
)

if TYPE_CHECKING:
    from healer.settings import Settings
    from healer.stores.state import StateStore

HISTORY_MAX = 20
DONE_TTL = 7 * 24 * 3600

Change = Callable[[TaskRecord], TaskRecord | None]


def load_record(state: StateStore, task_id: str) -> TaskRecord | None:
    """The task record; None when there is none or it is unreadable."""
    return persistence.read(state, task_key(task_id), TaskRecord)


def update_record(state: StateStore, task_id: str, change: Change) -> TaskRecord | None:
    """Apply ``change`` atomically; it returns the new record, or None to leave it be. The
    record as it stands afterwards (None: there is none, and none is made)."""
    return persistence.update(
        state,
        task_key(task_id),
        TaskRecord,
        lambda record: None if record is None else change(record),
        doing="finishing",
    )


def once(state: StateStore, key: str, effect: Callable[[], None]) -> bool:
    """Run ``effect`` unless ``key`` was claimed already; a failing effect gives it back."""
    ran, _ = persistence.once(state, key, effect, ttl_seconds=DONE_TTL)
    return ran


def release_slot(state: StateStore, task_id: str, attempt: int) -> bool:
    """One CodeRun fewer running (spawn took the slot)."""
    return once(state, done_key(task_id, attempt), lambda: _decrement(state))


def _decrement(state: StateStore) -> None:
    if state.incr(ACTIVE_KEY, -1) < 0:  # never below zero (e.g. the store was reset)
        state.incr(ACTIVE_KEY, 1)


def record_history(
    state: StateStore, task_id: str, attempt: int, fingerprint: str, entry_json: str
) -> bool:
    if not fingerprint:
        return False
    return once(
        state,
        done_key(task_id, attempt, "history"),
        lambda: state.push(history_key(fingerprint), entry_json, HISTORY_MAX),
    )


def count_for_breaker(
    state: StateStore, settings: Settings, task_id: str, attempt: int, failed: bool
) -> bool:
    """Feed the breaker once per finished attempt; True if this attempt opened it."""
    opened: list[bool] = []

    def effect() -> None:
        if not failed:
            state.delete(FAILURES_KEY)
            return
        window = max(1, settings.breaker_window_mins) * 60
        count = state.incr(FAILURES_KEY, 1, ttl_seconds=window)
        if 0 < settings.breaker_threshold <= count:
            reason = (
                f"{count} failed attempts in a row within {settings.breaker_window_mins} "
                f"minutes, the last {task_id} attempt {attempt}"
            )
            state.set(BREAKER_KEY, reason, max(1, settings.breaker_open_mins) * 60)
            state.delete(FAILURES_KEY)
            opened.append(True)

    once(state, done_key(task_id, attempt, "breaker"), effect)
    return bool(opened)
