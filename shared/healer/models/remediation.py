"""What spawn, completion-check and escalate emit about a remediation task."""

from __future__ import annotations

from pydantic import Field

from healer.models.base import Payload
from healer.models.context import AttemptSummary, ContextGathered
from healer.vocabulary import Action, FailureType


class RemediationStarted(Payload):
    task_id: str
    repository: str
    run_id: int
    attempt: int
    agent: str
    action: Action
    failure_type: FailureType
    coderun_name: str = ""
    branch: str = ""
    base_branch: str = ""
    prompt_key: str = ""
    context_key: str = ""
    launched_to: str = ""  # the CodeRun's outbox file, or kubernetes:<namespace>/coderuns/<name>


class RemediationSkipped(Payload):
    task_id: str
    repository: str
    run_id: int
    attempt: int
    reason: str
    code: str = ""  # why, for machines: ignore, max_attempts, breaker, concurrency, window


class RemediationSucceeded(Payload):
    task_id: str
    repository: str
    run_id: int
    attempt: int
    agent: str
    summary: str = ""


class RemediationRetry(Payload):
    """Asks gather to refresh context for another attempt."""

    context: ContextGathered
    attempt: int
    previous_attempts: list[AttemptSummary] = Field(default_factory=list)
    reason: str = ""
    next_agent: str = ""


class RemediationExhausted(Payload):
    task_id: str
    repository: str
    run_id: int
    attempts: list[AttemptSummary]
    last_error: str = ""
    context: ContextGathered | None = None


class RemediationEscalated(Payload):
    task_id: str
    repository: str
    run_id: int
    channels: list[str] = Field(default_factory=list)
    comment_url: str = ""
