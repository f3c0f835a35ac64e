"""Pydantic models of every event payload in the design's table (pure data, frozen)."""

from healer.models.context import (
    AttemptSummary,
    ChangedFile,
    CommitInfo,
    ContextGathered,
    Extra,
    HistoryEntry,
    PullRequestInfo,
)
from healer.models.detected import AlertDetected, FailureDetected
from healer.models.remediation import (
    RemediationEscalated,
    RemediationExhausted,
    RemediationRetry,
    RemediationSkipped,
    RemediationStarted,
    RemediationSucceeded,
)
from healer.models.verdict import FailureClassified, Verdict

__all__ = [
    "AlertDetected",
    "AttemptSummary",
    "ChangedFile",
    "CommitInfo",
    "ContextGathered",
    "Extra",
    "FailureClassified",
    "FailureDetected",
    "HistoryEntry",
    "PullRequestInfo",
    "RemediationEscalated",
    "RemediationExhausted",
    "RemediationRetry",
    "RemediationSkipped",
    "RemediationStarted",
    "RemediationSucceeded",
    "Verdict",
]
