"""What spawn, completion-check and escalate emit about a remediation task."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer.models.base import Payload
from healer.models.context import AttemptSummary, ContextGathered
from healer.models.identity import (
    Attempt,
    Key,
    OptionalBranch,
    Repository,
    RunId,
    Sha,
    TaskId,
    Token,
    Url,
)
from healer.vocabulary import Action, CommentKind, FailureType, SkipCode


class RemediationStarted(Payload):
    task_id: TaskId
    repository: Repository
    run_id: RunId
    attempt: Attempt
    agent: str
    action: Action
    failure_type: FailureType
    coderun_name: Token = ""
    branch: OptionalBranch = ""
    base_branch: OptionalBranch = ""
    prompt_key: Key = ""
    context_key: Key = ""
    launched_to: str = ""  # the CodeRun's outbox file, or kubernetes:<namespace>/coderuns/<name>


class RemediationSkipped(Payload):
    task_id: TaskId
    repository: Repository
    run_id: RunId
    attempt: Attempt
    reason: str
    code: SkipCode | Literal[""] = ""  # why, for machines
    # Set when the limit will lift: the task waits (since then) and starts when it allows.
    waiting_since: str = ""


class RemediationSucceeded(Payload):
    task_id: TaskId
    repository: Repository
    run_id: RunId
    attempt: Attempt
    agent: str
    summary: str = ""
    coderun_name: Token = ""
    branch: OptionalBranch = ""
    commits: list[Sha] = Field(default_factory=list)
    pull_request_url: Url = ""
    ci_url: Url = ""


class RemediationRetry(Payload):
    """Asks gather to refresh context for another attempt. The context the last attempt
    started from is already in the blob store (spawn put it there), so the event names it by
    ``context_key`` instead of carrying it; the next specialist is on the task record."""

    task_id: TaskId
    context_key: Key
    attempt: Attempt
    previous_attempts: list[AttemptSummary] = Field(default_factory=list)
    reason: str = ""


class RemediationExhausted(Payload):
    task_id: TaskId
    repository: Repository
    run_id: RunId
    attempts: list[AttemptSummary]
    last_error: str = ""
    context: ContextGathered | None = None


class RemediationEscalated(Payload):
    """Humans were told: ``channels`` are the ones that took the message (discord, github)."""

    task_id: TaskId
    repository: Repository
    run_id: RunId
    channels: list[str] = Field(default_factory=list)
    comment_url: Url = ""
    comment_kind: CommentKind | Literal[""] = ""  # on the PR, or a new issue
    failure_type: str = ""
    attempts: int = 0
    disabled: list[str] = Field(default_factory=list)  # channels not configured
    errors: dict[str, str] = Field(default_factory=dict)  # channel -> why it refused, for good
    message_key: Key = ""  # blob: the GitHub comment body as rendered
    discord_key: Key = ""  # blob: the Discord message as rendered
