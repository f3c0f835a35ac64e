"""Remediation task records (``task:<id>`` in the state store), as the status views show them."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field

from healer.errors import PermanentError
from healer.state import persistence
from healer.state.records import Attempt, Outcome, TaskRecord, TaskStatus
from healer.stores.keys import TASK_PREFIX, task_key
from healer.stores.state import StateStore

MAX_TASKS = 500
MAX_SCANNED = 10_000  # records read to find the newest; a store holds far fewer in practice


class TaskNotFound(PermanentError):
    status = 404
    title = "task not found"


class AttemptView(Attempt):
    """An attempt as the views read it: an outcome this version does not know is shown."""

    outcome: Outcome | str = ""  # type: ignore[assignment]  # wider on purpose: read only


class TaskView(TaskRecord):
    """A task record as the views read it: a status or outcome this version does not know (a
    newer writer's) is shown as it stands rather than hiding the task."""

    status: TaskStatus | str | None = None  # type: ignore[assignment]  # as above
    attempts: list[AttemptView] = Field(default_factory=list)  # type: ignore[assignment]


def _named(record: TaskView, task_id: str) -> TaskView:
    return record if record.task_id else record.model_copy(update={"task_id": task_id})


def list_tasks(state: StateStore, limit: int = MAX_TASKS) -> list[TaskView]:
    """The newest ``limit`` task records (by ``updated_at``, else ``created_at``), newest first;
    unreadable ones skipped. Sorting comes before the cut, so a new task is never left out."""
    tasks = []
    for key in state.keys(TASK_PREFIX)[:MAX_SCANNED]:
        record = persistence.parse(TaskView, state.get(key))
        if record is not None:
            tasks.append(_named(record, key[len(TASK_PREFIX) :]))
    tasks.sort(key=_when, reverse=True)
    return tasks[:limit]


def _when(record: TaskView) -> str:
    return record.updated_at or record.created_at


def get_task(state: StateStore, task_id: str) -> TaskView:
    record = persistence.read(state, task_key(task_id), TaskView)
    if record is None:
        raise TaskNotFound(f"no task {task_id!r} in the state store")
    return _named(record, task_id)


def as_json(records: list[TaskView]) -> list[dict[str, Any]]:
    """The records as stored (what ``GET /api/status`` lists)."""
    return [record.stored() for record in records]


def counts(
    tasks: list[TaskView], field: Literal["status", "failure_type"] = "status"
) -> dict[str, int]:
    """How many tasks have each value of ``field`` (status, failure_type)."""
    return dict(sorted(Counter(str(getattr(t, field) or "unknown") for t in tasks).items()))


def waiting(task: TaskView) -> dict[str, Any] | None:
    """What a waiting task waits for (its ``waiting`` entry); None for any other task."""
    entry = task.waiting_entry()
    if entry is None:
        return None
    return {
        "task_id": task.task_id,
        "repository": task.repository,
        "attempt": entry.attempt,
        "code": entry.code,
        "reason": entry.reason,
        "since": entry.since,
    }


def waiting_tasks(tasks: list[TaskView]) -> list[dict[str, Any]]:
    """Every waiting task, oldest first: the order they start in."""
    found = [w for w in map(waiting, tasks) if w is not None]
    return sorted(found, key=lambda w: (w["since"], w["task_id"]))


def summary(task: TaskView) -> dict[str, Any]:
    """The columns a list view shows: the last attempt's agent and outcome, every CodeRun."""
    attempts = task.attempts
    last = attempts[-1] if attempts else None
    escalation_url = task.escalation.comment_url if task.escalation is not None else ""
    waits = waiting(task)
    return {
        "task_id": task.task_id,
        "repository": task.repository,
        "run_id": task.run_id,
        "failure_type": task.failure_type,
        "status": str(task.status or "unknown"),
        "attempts": len(attempts),
        "agent": last.agent if last is not None else "",
        "outcome": str(last.outcome) if last is not None else "",
        "coderuns": [a.coderun_name for a in attempts if a.coderun_name],
        "updated_at": _when(task),
        "comment_url": task.comment_url or escalation_url,
        "waiting_for": (
            f"{waits['code']} since {waits['since']}: {waits['reason']}" if waits else ""
        ),
    }
