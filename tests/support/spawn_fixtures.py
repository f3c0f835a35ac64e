"""Builders for spawn's tests: verdicts, detected failures and alerts, gathered contexts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent

from functions.spawn.launcher import Launched, Launcher, OutboxLauncher
from healer.events import build_event
from healer.models import (
    AlertDetected,
    ContextGathered,
    FailureClassified,
    FailureDetected,
    PullRequestInfo,
    Verdict,
)
from healer.vocabulary import Action, AlertKind, Category, EventType, FailureType, Stage

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "examples" / "github"

ContextFactory = Callable[..., ContextGathered]


def verdict(
    failure_type: FailureType = FailureType.RUST_TEST,
    action: Action = Action.FIX,
    agent: str = "rex",
    category: Category = Category.RUST,
) -> Verdict:
    return Verdict(
        failure_type=failure_type,
        category=category,
        agent=agent,
        action=action,
        confidence=0.9,
        failing_step="Run cargo test",
        job_id=90001,
        job_name="test",
        excerpt="test parser::nested ... FAILED",
        fingerprint="f" * 16,
        log_key="repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log",
    )


def failure(**overrides: Any) -> FailureDetected:
    fields: dict[str, Any] = {
        "repository": "acme/widgets",
        "event": "workflow_job",
        "run_id": 7001,
        "job_id": 90001,
        "job_name": "test",
        "workflow_name": "CI",
        "head_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
        "head_branch": "feature/parser",
        "default_branch": "main",
    }
    return FailureDetected(**{**fields, **overrides})


def pull(number: int = 42, head: str = "feature/parser", base: str = "main") -> PullRequestInfo:
    return PullRequestInfo(number=number, title="Parse nested tables", head_ref=head, base_ref=base)


def alert() -> AlertDetected:
    return AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.DEPENDABOT,
        alert_number=3,
        severity="high",
        package="tokio",
        ecosystem="cargo",
        manifest_path="Cargo.lock",
    )


def build_context(
    *,
    primary: Verdict | None = None,
    detected: FailureDetected | AlertDetected | None = None,
    pull_request: PullRequestInfo | None = None,
    attempt: int = 1,
    task_id: str | None = None,
) -> ContextGathered:
    detected = detected if detected is not None else failure()
    primary = primary or verdict()
    is_alert = isinstance(detected, AlertDetected)
    classified = FailureClassified(
        failure=None if is_alert else detected,
        alert=detected if is_alert else None,
        verdicts=[primary],
        primary=primary,
        attempt=attempt,
    )
    default_task = "acme-widgets-dependabot-3" if is_alert else "acme-widgets-7001"
    return ContextGathered(
        classified=classified,
        attempt=attempt,
        task_id=task_id or default_task,
        pull_request=pull_request,
    )


def gathered(context: ContextGathered) -> CloudEvent:
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context,
        key=(context.task_id, context.attempt),
        repository="acme/widgets",
        run_id=7001,
        attempt=context.attempt,
    )


class CountingLauncher(Launcher):
    """The outbox, counting creates; ``fail`` makes the next launches raise."""

    def __init__(self, directory: Path) -> None:
        self.outbox = OutboxLauncher(directory)
        self.created = 0
        self.fail: Exception | None = None

    def launch(self, manifest: dict[str, Any]) -> Launched:
        if self.fail is not None:
            raise self.fail
        launched = self.outbox.launch(manifest)
        self.created += launched.created
        return launched
