"""The remediation record ``task:<task_id>``: one entry per attempt, written by compare-and-set.

Several stages write the record (spawn starts attempts, completion-check finishes them), so
every update re-reads it and writes only if nobody changed it since; a lost race retries.
"""

from __future__ import annotations

import json
from typing import Any

from healer.errors import StoreUnavailable
from healer.stores.state import StateStore

MAX_RACES = 20


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def branch_key(repository: str, branch: str) -> str:
    """``branch:<repo>:<branch>`` → the task working there, so CI deliveries match cheaply."""
    return f"branch:{repository}:{branch}"


def planned_agent(record: Any, attempt: int) -> str:
    """The specialist completion-check chose for ``attempt`` (``next_agent`` in the record)."""
    planned = record.get("next_agent") if isinstance(record, dict) else None
    if isinstance(planned, dict) and planned.get("attempt") == attempt:
        return str(planned.get("agent") or "")
    return ""


def with_attempt(
    record: dict[str, Any] | None, base: dict[str, Any], entry: dict[str, Any], now: str
) -> dict[str, Any]:
    """``record`` with ``entry`` as its attempt (replaced if that attempt is there already,
    keeping its first ``started_at``) and status ``running`` (no longer waiting)."""
    out = dict(record) if isinstance(record, dict) else {}
    out.pop("waiting", None)
    for name, value in base.items():
        out.setdefault(name, value)
    out.setdefault("created_at", now)
    attempts = [a for a in out.get("attempts") or [] if isinstance(a, dict)]
    previous = next((a for a in attempts if a.get("attempt") == entry["attempt"]), None)
    merged = {**entry}
    if previous is not None:
        merged["started_at"] = previous.get("started_at") or entry.get("started_at", now)
        merged["outcome"] = previous.get("outcome", "")
    attempts = [a for a in attempts if a.get("attempt") != entry["attempt"]] + [merged]
    out["attempts"] = sorted(attempts, key=lambda a: int(a.get("attempt") or 0))
    out["status"] = "running"
    out["updated_at"] = now
    return out


def record_attempt(
    state: StateStore, task_id: str, base: dict[str, Any], entry: dict[str, Any], now: str
) -> dict[str, Any]:
    """Write ``entry`` into the task record atomically; the record as written."""
    key = task_key(task_id)
    for _ in range(MAX_RACES):
        raw = state.get(key)
        try:
            current = json.loads(raw) if raw is not None else None
        except ValueError:
            current = None  # an unreadable record is replaced, not kept forever
        updated = with_attempt(current, base, entry, now)
        if state.compare_and_set(key, raw, json.dumps(updated, sort_keys=True)):
            return updated
    raise StoreUnavailable(f"{key} changed {MAX_RACES} times while recording an attempt")
