"""Remediation task records (``task:<id>`` in the state store), as the status views show them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from healer.errors import PermanentError
from healer.stores.keys import TASK_PREFIX, task_key
from healer.stores.state import StateStore

MAX_TASKS = 500
MAX_SCANNED = 10_000  # records read to find the newest; a store holds far fewer in practice


class TaskNotFound(PermanentError):
    status = 404
    title = "task not found"


def list_tasks(state: StateStore, limit: int = MAX_TASKS) -> list[dict[str, Any]]:
    """The newest ``limit`` task records (by ``updated_at``, else ``created_at``), newest first;
    unreadable ones skipped. Sorting comes before the cut, so a new task is never left out."""
    tasks = []
    for key in state.keys(TASK_PREFIX)[:MAX_SCANNED]:
        record = _record(state.get(key))
        if record is not None:
            record.setdefault("task_id", key[len(TASK_PREFIX) :])
            tasks.append(record)
    tasks.sort(key=_when, reverse=True)
    return tasks[:limit]


def _when(record: dict[str, Any]) -> str:
    return str(record.get("updated_at") or record.get("created_at") or "")


def get_task(state: StateStore, task_id: str) -> dict[str, Any]:
    record = _record(state.get(task_key(task_id)))
    if record is None:
        raise TaskNotFound(f"no task {task_id!r} in the state store")
    record.setdefault("task_id", task_id)
    return record


def counts(tasks: list[dict[str, Any]], field: str = "status") -> dict[str, int]:
    """How many tasks have each value of ``field`` (status, failure_type)."""
    return dict(sorted(Counter(str(t.get(field) or "unknown") for t in tasks).items()))


def waiting(task: dict[str, Any]) -> dict[str, Any] | None:
    """What a waiting task waits for (its ``waiting`` entry); None for any other task."""
    entry = task.get("waiting")
    if task.get("status") != "waiting" or not isinstance(entry, dict):
        return None
    return {
        "task_id": str(task.get("task_id", "")),
        "repository": str(task.get("repository", "")),
        "attempt": entry.get("attempt"),
        "code": str(entry.get("code") or ""),
        "reason": str(entry.get("reason") or ""),
        "since": str(entry.get("since") or ""),
    }


def waiting_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every waiting task, oldest first: the order they start in."""
    found = [w for w in map(waiting, tasks) if w is not None]
    return sorted(found, key=lambda w: (w["since"], w["task_id"]))


def _attempts(task: dict[str, Any]) -> list[dict[str, Any]]:
    attempts = task.get("attempts") if isinstance(task.get("attempts"), list) else []
    return [a for a in attempts or [] if isinstance(a, dict)]


def summary(task: dict[str, Any]) -> dict[str, Any]:
    """The columns a list view shows: the last attempt's agent and outcome, every CodeRun."""
    attempts = _attempts(task)
    last = attempts[-1] if attempts else {}
    escalation = task.get("escalation") if isinstance(task.get("escalation"), dict) else {}
    waits = waiting(task)
    return {
        "task_id": str(task.get("task_id", "")),
        "repository": str(task.get("repository", "")),
        "run_id": task.get("run_id"),
        "failure_type": str(task.get("failure_type") or ""),
        "status": str(task.get("status") or "unknown"),
        "attempts": len(attempts),
        "agent": str(last.get("agent", "")),
        "outcome": str(last.get("outcome", "")),
        "coderuns": [str(a["coderun_name"]) for a in attempts if a.get("coderun_name")],
        "updated_at": _when(task),
        "comment_url": str(task.get("comment_url") or (escalation or {}).get("comment_url") or ""),
        "waiting_for": (
            f"{waits['code']} since {waits['since']}: {waits['reason']}" if waits else ""
        ),
    }


def _record(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
