"""The events a decided attempt leads to, built from the task record (so a redelivery builds
the same one). Ids are keyed on (task id, attempt, decision)."""

from __future__ import annotations

from typing import Any

from cloudevents.http import CloudEvent

from functions.completion_check.decide import Decision, attempts_of, entry_of
from healer.events import build_event
from healer.models import (
    AttemptSummary,
    ContextGathered,
    RemediationExhausted,
    RemediationRetry,
    RemediationSucceeded,
)
from healer.vocabulary import EventType, Stage

EVENT_TYPES = {
    "succeeded": EventType.REMEDIATION_SUCCEEDED,
    "retry": EventType.REMEDIATION_RETRY,
    "exhausted": EventType.REMEDIATION_EXHAUSTED,
}


def summaries(record: dict[str, Any], up_to: int) -> list[AttemptSummary]:
    """Every attempt up to ``up_to``, as the retry prompt and escalation show them."""
    out = []
    for entry in attempts_of(record):
        number = int(entry.get("attempt") or 0)
        if not 1 <= number <= up_to:
            continue
        commits = entry.get("commits")
        out.append(
            AttemptSummary(
                attempt=number,
                agent=str(entry.get("agent") or ""),
                outcome=str(entry.get("outcome") or ""),
                summary=str(entry.get("summary") or ""),
                coderun_name=str(entry.get("coderun_name") or ""),
                commits=[str(c) for c in commits] if isinstance(commits, list) else [],
                error=str(entry.get("error") or ""),
            )
        )
    return sorted(out, key=lambda s: s.attempt)


def _run_id(record: dict[str, Any]) -> int:
    run = record.get("run_id")
    return run if isinstance(run, int) else 0


def build(
    record: dict[str, Any], decision: Decision, context: ContextGathered | None
) -> CloudEvent:
    task_id = str(record.get("task_id") or "")
    repository = str(record.get("repository") or "")
    entry = entry_of(record, decision.attempt) or {}
    payload: RemediationSucceeded | RemediationRetry | RemediationExhausted
    attempt_ext = decision.attempt
    if decision.kind == "succeeded":
        agent_result = entry.get("agent_result")
        agent = agent_result if isinstance(agent_result, dict) else {}
        ci_result = entry.get("ci")
        ci = ci_result if isinstance(ci_result, dict) else {}
        commits = entry.get("commits")
        payload = RemediationSucceeded(
            task_id=task_id,
            repository=repository,
            run_id=_run_id(record),
            attempt=decision.attempt,
            agent=str(entry.get("agent") or ""),
            summary=str(entry.get("summary") or decision.reason),
            coderun_name=str(entry.get("coderun_name") or ""),
            branch=str(entry.get("branch") or record.get("branch") or ""),
            commits=[str(c) for c in commits] if isinstance(commits, list) else [],
            pull_request_url=str(agent.get("pull_request_url") or ""),
            ci_url=str(ci.get("url") or ""),
        )
    elif decision.kind == "retry":
        if context is None:
            raise ValueError("a retry needs the gathered context")
        attempt_ext = decision.attempt + 1
        payload = RemediationRetry(
            context=context,
            attempt=decision.attempt + 1,
            previous_attempts=summaries(record, decision.attempt),
            reason=decision.reason,
            next_agent=decision.next_agent,
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
        key=(task_id, decision.attempt, decision.kind),
        repository=repository,
        run_id=run if isinstance(run := record.get("run_id"), int | str) else 0,
        attempt=attempt_ext,
    )
