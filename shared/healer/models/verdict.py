"""What classify emits: one verdict per failed job, and the primary that picks the specialist."""

from __future__ import annotations

from pydantic import Field

from healer.models.base import Payload
from healer.models.detected import AlertDetected, FailureDetected
from healer.models.identity import Attempt, Id, Key
from healer.vocabulary import Action, Category, FailureType


class Verdict(Payload):
    failure_type: FailureType
    category: Category
    agent: str
    action: Action
    confidence: float = Field(ge=0.0, le=1.0)
    failing_step: str = ""
    job_id: Id | None = None
    job_name: str = ""
    signals: list[str] = Field(default_factory=list)
    excerpt: str = ""
    fingerprint: str = ""
    log_key: Key = ""


class FailureClassified(Payload):
    """``dev.healer.failure.classified``: exactly one of ``failure`` / ``alert`` is set."""

    failure: FailureDetected | None = None
    alert: AlertDetected | None = None
    verdicts: list[Verdict]
    primary: Verdict
    attempt: Attempt = 1
