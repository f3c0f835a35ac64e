"""What gather emits: the picture an engineer would read before fixing the failure."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from healer.models.base import Payload
from healer.models.identity import (
    Attempt,
    Id,
    OptionalBranch,
    OptionalRepository,
    OptionalSha,
    Sha,
    TaskId,
    Token,
    Url,
)
from healer.models.verdict import FailureClassified


class PullRequestInfo(Payload):
    number: Id
    title: str = ""
    html_url: Url = ""
    head_ref: OptionalBranch = ""
    head_sha: OptionalSha = ""
    base_ref: OptionalBranch = ""
    mergeable_state: str = ""
    draft: bool = False
    author: str = ""
    head_repository: OptionalRepository = (
        ""  # owner/name the head branch lives in; another one is a fork
    )


class ChangedFile(Payload):
    filename: str
    status: str = "modified"
    additions: int = 0
    deletions: int = 0
    previous_filename: str = ""


class CommitInfo(Payload):
    sha: Sha
    message: str = ""
    author: str = ""


class HistoryEntry(Payload):
    """A past remediation of the same fingerprint."""

    task_id: str
    agent: str = ""
    outcome: str = ""
    attempts: int = 0
    finished_at: str = ""
    summary: str = ""
    source: Literal["state", "memory"] = "state"


class AttemptSummary(Payload):
    """What an earlier attempt of this task did, for the retry prompt."""

    attempt: Attempt
    agent: str
    outcome: str = ""
    summary: str = ""
    coderun_name: Token = ""
    commits: list[Sha] = Field(default_factory=list)
    error: str = ""


class Extra(Payload):
    """One optional source (Argo CD, Loki, advisory): present, missing, or failed softly."""

    status: Literal["ok", "missing", "error", "disabled"]
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class ContextGathered(Payload):
    """``dev.healer.context.gathered``."""

    classified: FailureClassified
    attempt: Attempt = 1
    task_id: TaskId
    pull_request: PullRequestInfo | None = None
    changed_files: list[ChangedFile] = Field(default_factory=list)
    changed_files_total: int = 0
    changed_files_key: str = ""
    recent_commits: list[CommitInfo] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    extras: dict[str, Extra] = Field(default_factory=dict)
    previous_attempts: list[AttemptSummary] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
