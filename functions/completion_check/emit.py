"""The events a decided attempt leads to, built from the task record (so a redelivery builds
the same one). Ids are keyed on (task id, attempt, decision)."""

from __future__ import annotations

from cloudevents.http import CloudEvent

from functions.completion_check.decide import Decision
from healer.events import build_event
from healer.models import (
    AttemptSummary,
    ContextGathered,
    RemediationExhausted,
    RemediationRetry,
    RemediationSucceeded,
)
from healer.state.records import DecisionKind, TaskRecord
from healer.vocabulary import EventType, Stage

EVENT_TYPES = {
    DecisionKind.SUCCEEDED: EventType.REMEDIATION_SUCCEEDED,
    DecisionKind.RETRY: EventType.REMEDIATION_RETRY,
    DecisionKind.EXHAUSTED: EventType.REMEDIATION_EXHAUSTED,
}


def summaries(record: TaskRecord, up_to: int) -> list[AttemptSummary]:
    """Every attempt up to ``up_to``, as the retry prompt and escalation show them."""
    out = [
        AttemptSummary(
            attempt=entry.attempt,
            agent=entry.agent,
            outcome=str(entry.outcome),
            summary=entry.summary,
            coderun_name=entry.coderun_name,
            commits=list(entry.commits),
            error=entry.error,
        )
        for entry in record.attempts
        if 1 <= entry.attempt <= up_to
    ]
    return sorted(out, key=lambda s: s.attempt)


def _run_id(record: TaskRecord) -> int:
    return record.run_id if isinstance(record.run_id, int) else 0


def build(record: TaskRecord, decision: Decision, context: ContextGathered | None) -> CloudEvent:
    task_id = record.task_id
    repository = record.repository
    entry = record.entry(decision.attempt)
    payload: RemediationSucceeded | RemediationRetry | RemediationExhausted
    attempt_ext = decision.attempt
    if decision.kind == DecisionKind.SUCCEEDED:
        agent = entry.agent_result if entry is not None else None
        ci = entry.ci if entry is not None else None
        payload = RemediationSucceeded(
            task_id=task_id,
            repository=repository,
            run_id=_run_id(record),
            attempt=decision.attempt,
            agent=entry.agent if entry is not None else "",
            summary=(entry.summary if entry is not None else "") or decision.reason,
            coderun_name=entry.coderun_name if entry is not None else "",
            branch=(entry.branch if entry is not None else "") or record.branch,
            commits=list(entry.commits) if entry is not None else [],
            pull_request_url=agent.pull_request_url if agent is not None else "",
            ci_url=ci.url if ci is not None else "",
        )
    elif decision.kind == DecisionKind.RETRY:
        if context is None or entry is None or not entry.context_key:
            raise ValueError("a retry needs the gathered context")
        attempt_ext = decision.attempt + 1
        payload = RemediationRetry(
            task_id=task_id,
            context_key=entry.context_key,
            attempt=decision.attempt + 1,
            previous_attempts=summaries(record, decision.attempt),
            reason=decision.reason,
        )
    else:
        payload = RemediationExhausted(
            task_id=task_id,
            repository=repository,
            run_id=_run_id(record),
            attempts=summaries(record, decision.attempt),
            last_error=decision.reason,
            context=context,
        )
    return build_event(
        EVENT_TYPES[decision.kind],
        Stage.COMPLETION_CHECK,
        payload,
        key=(task_id, decision.attempt, decision.kind.value),
        repository=repository,
        run_id=record.run_id if record.run_id is not None else 0,
        attempt=attempt_ext,
    )
