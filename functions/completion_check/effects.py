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

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.spawn.limits import ACTIVE_KEY, BREAKER_KEY
from functions.spawn.record import task_key
from healer.errors import StoreUnavailable

if TYPE_CHECKING:
    from healer.settings import Settings
    from healer.stores.state import StateStore

FAILURES_KEY = "breaker:failures"
HISTORY_MAX = 20
DONE_TTL = 7 * 24 * 3600
MAX_RACES = 20

Change = Callable[[dict[str, Any]], dict[str, Any] | None]


def load_record(state: StateStore, task_id: str) -> tuple[str | None, dict[str, Any] | None]:
    raw = state.get(task_key(task_id))
    if raw is None:
        return None, None
    try:
        record = json.loads(raw)
    except ValueError:
        return raw, None
    return raw, record if isinstance(record, dict) else None


def update_record(state: StateStore, task_id: str, change: Change) -> dict[str, Any] | None:
    """Apply ``change`` atomically; it returns the new record, or None to leave it be. The
    record as it stands afterwards (None: there is none)."""
    for _ in range(MAX_RACES):
        raw, record = load_record(state, task_id)
        if record is None:
            return None
        updated = change(record)
        if updated is None:
            return record
        if state.compare_and_set(task_key(task_id), raw, json.dumps(updated, sort_keys=True)):
            return updated
    raise StoreUnavailable(f"{task_key(task_id)} changed {MAX_RACES} times while finishing")


def done_key(task_id: str, attempt: int, effect: str = "") -> str:
    return f"done:{task_id}:{attempt}" + (f":{effect}" if effect else "")


def once(state: StateStore, key: str, effect: Callable[[], None]) -> bool:
    """Run ``effect`` unless ``key`` was claimed already; a failing effect gives it back."""
    if not state.claim(key, "1", DONE_TTL):
        return False
    try:
        effect()
    except BaseException:
        state.delete(key)
        raise
    return True


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
        lambda: state.push(f"history:{fingerprint}", entry_json, HISTORY_MAX),
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
