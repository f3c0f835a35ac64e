"""Remediation task records (``task:<id>`` in the state store), as the status views show them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from healer.errors import PermanentError
from healer.stores.state import StateStore

TASK_PREFIX = "task:"
MAX_TASKS = 500


class TaskNotFound(PermanentError):
    status = 404
    title = "task not found"


def list_tasks(state: StateStore, limit: int = MAX_TASKS) -> list[dict[str, Any]]:
    """Task records, newest first when they carry a time, else by id; unreadable ones skipped."""
    tasks = []
    for key in state.keys(TASK_PREFIX)[:limit]:
        record = _record(state.get(key))
        if record is not None:
            record.setdefault("task_id", key[len(TASK_PREFIX) :])
            tasks.append(record)
    tasks.sort(key=lambda r: str(r.get("updated_at") or r.get("created_at") or ""), reverse=True)
    return tasks


def get_task(state: StateStore, task_id: str) -> dict[str, Any]:
    record = _record(state.get(TASK_PREFIX + task_id))
    if record is None:
        raise TaskNotFound(f"no task {task_id!r} in the state store")
    record.setdefault("task_id", task_id)
    return record


def counts(tasks: list[dict[str, Any]]) -> dict[str, int]:
    """How many tasks are in each status."""
    return dict(sorted(Counter(str(t.get("status") or "unknown") for t in tasks).items()))


def summary(task: dict[str, Any]) -> dict[str, Any]:
    """The columns a list view shows: the last attempt's agent and outcome."""
    attempts = task.get("attempts") if isinstance(task.get("attempts"), list) else []
    last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
    return {
        "task_id": str(task.get("task_id", "")),
        "repository": str(task.get("repository", "")),
        "run_id": task.get("run_id"),
        "status": str(task.get("status") or "unknown"),
        "attempts": len(attempts),
        "agent": str(last.get("agent", "")),
        "outcome": str(last.get("outcome", "")),
    }


def _record(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
