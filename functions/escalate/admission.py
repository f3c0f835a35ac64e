"""Whether an exhausted event may reach humans: only for a task whose record says so.

Anyone who can reach the Service or the Broker can post a ``remediation.exhausted``, and
escalating posts on GitHub and Discord in Healer's name. So the event is only a prompt to look:
the task record ``task:<task_id>`` that completion-check wrote must say ``exhausted`` (or
``escalation_failed``, for a replayed dead letter), for the same repository and run, and the
context the message is built from is the one spawn stored for the task's last attempt, not the
event's.
"""

from __future__ import annotations

from healer.errors import InvalidInput
from healer.events import task_id
from healer.models import ContextGathered, RemediationExhausted
from healer.policy import shown
from healer.refs import alert_ref
from healer.state.records import TaskRecord, TaskStatus
from healer.stores.blob import BlobStore

ESCALABLE = frozenset({TaskStatus.EXHAUSTED, TaskStatus.ESCALATION_FAILED})


def check_identity(event: RemediationExhausted) -> None:
    """A 400 when the event contradicts itself: its task id is not the one its repository and
    run (or its context's alert) name."""
    context = event.context
    if context is not None:
        failure, alert = context.classified.failure, context.classified.alert
        if failure is not None:
            named: tuple[str, int | str] = (failure.repository, failure.run_id)
        elif alert is not None:
            named = (alert.repository, alert_ref(alert))
        else:
            raise InvalidInput("remediation.exhausted context carries neither failure nor alert")
        if named[0] != event.repository or context.task_id != event.task_id:
            raise InvalidInput(
                f"remediation.exhausted for {event.task_id} carries the context of "
                f"{shown(context.task_id)} ({named[0]})"
            )
    elif event.run_id > 0:
        named = (event.repository, event.run_id)
    else:
        return  # an alert without context: the record decides
    expected = task_id(*named)
    if event.task_id != expected:
        raise InvalidInput(
            f"task_id {event.task_id!r} does not match repository {named[0]} and run "
            f"{named[1]}: expected {expected!r}"
        )


def refusal(event: RemediationExhausted, record: TaskRecord | None) -> str | None:
    """Why nobody is told (None: go ahead), from the task record completion-check keeps (an
    unreadable one counts as none)."""
    if record is None:
        return f"task {event.task_id} is unknown (no task record); nothing was exhausted"
    if record.status not in ESCALABLE:
        shown_status = shown(record.status.value) if record.status else "without a status"
        return f"task {event.task_id} is {shown_status}, not exhausted"
    repository = record.repository
    if repository and repository != event.repository:
        return (
            f"task {event.task_id} belongs to {shown(repository)}, "
            f"not {event.repository}; the event does not match the record"
        )
    run = record.run_id
    if isinstance(run, int) and event.run_id and run != event.run_id:
        return (
            f"task {event.task_id} is run {run}, not {event.run_id}; "
            "the event does not match the record"
        )
    return None


def stored_context(blobs: BlobStore, record: TaskRecord) -> ContextGathered | None:
    """The context spawn stored for the task's last attempt (it checked it before starting)."""
    from healer.stores.exceptions import BlobNotFound

    last = record.latest()
    key = last.context_key if last is not None else ""
    if not key:
        return None
    try:
        context = ContextGathered.model_validate_json(blobs.get(key))
    except (BlobNotFound, ValueError):
        return None
    expected = record.task_id if "task_id" in record.model_fields_set else context.task_id
    return context if context.task_id == expected else None
