"""Builders: exhausted remediations, GitHub faked at the transport (recorded answers plus
overrides, writes kept), Discord faked with an httpx MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
from contexts import widgets_failure
from github_routes import Routes

from functions.escalate.webhook import DiscordWebhook
from healer.models import (
    AlertDetected,
    AttemptSummary,
    ContextGathered,
    FailureClassified,
    PullRequestInfo,
    RemediationExhausted,
    Verdict,
)
from healer.stores.state import StateStore
from healer.vocabulary import Action, AlertKind, Category, FailureType

WEBHOOK = "https://discord.com/api/webhooks/123/very-secret-token"
EXCERPT = "error[E0308]: mismatched types\n``` closing attempt\n@everyone look ghp_" + "a" * 36


def attempts(n: int = 3) -> list[AttemptSummary]:
    agents = ["rex", "rex", "atlas"]
    return [
        AttemptSummary(
            attempt=i,
            agent=agents[(i - 1) % 3],
            outcome="failed",
            summary=f"attempt {i}: adjusted the parser",
            coderun_name=f"healer-acme-widgets-7001-a{i}",
            commits=[f"{i:07x}abcdef" + "0" * 27],
            error=f"cargo test still fails ({i})",
        )
        for i in range(1, n + 1)
    ]


def failure_context(pull: bool = True) -> ContextGathered:
    primary = Verdict(
        failure_type=FailureType.RUST_TEST,
        category=Category.RUST,
        agent="rex",
        action=Action.FIX,
        confidence=0.9,
        failing_step="Run cargo test",
        job_id=90001,
        job_name="test",
        excerpt=EXCERPT,
        log_key="repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log",
    )
    failure = widgets_failure(workflow_name="CI")
    return ContextGathered(
        classified=FailureClassified(failure=failure, verdicts=[primary], primary=primary),
        task_id="acme-widgets-7001",
        attempt=3,
        pull_request=PullRequestInfo(
            number=42,
            title="Parse nested tables",
            html_url="https://github.com/acme/widgets/pull/42",
            head_ref="feature/parser",
            base_ref="main",
        )
        if pull
        else None,
    )


def alert_context() -> ContextGathered:
    alert = AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.DEPENDABOT,
        alert_number=3,
        html_url="https://github.com/acme/widgets/security/dependabot/3",
        package="serde_yaml",
    )
    primary = Verdict(
        failure_type=FailureType.SECURITY_DEPENDABOT,
        category=Category.SECURITY,
        agent="cipher",
        action=Action.FIX,
        confidence=1.0,
    )
    return ContextGathered(
        classified=FailureClassified(alert=alert, verdicts=[primary], primary=primary),
        task_id="acme-widgets-dependabot-3",
    )


def exhausted(
    context: ContextGathered | None = None, n: int = 3, **extra: Any
) -> RemediationExhausted:
    ctx = context if context is not None else failure_context()
    is_alert = ctx.classified.alert is not None
    values: dict[str, Any] = {
        "task_id": ctx.task_id,
        "repository": "acme/widgets",
        "run_id": 0 if is_alert else 7001,
        "attempts": attempts(n),
        "last_error": "cargo test: 2 tests failed after the third fix",
        "context": ctx,
        **extra,
    }
    return RemediationExhausted(**values)


def exhausted_record(
    task_id: str = "acme-widgets-7001", run_id: int | str = 7001, status: str = "exhausted"
) -> dict[str, Any]:
    """The task record as completion-check leaves it when the last attempt failed."""
    return {
        "task_id": task_id,
        "repository": "acme/widgets",
        "run_id": run_id,
        "status": status,
        "attempts": [],
    }


def record_exhausted(state: StateStore, status: str = "exhausted") -> None:
    """Both example tasks (run 7001 and the Dependabot alert 3) recorded as ``status``."""
    state.set_json("task:acme-widgets-7001", exhausted_record(status=status))
    state.set_json(
        "task:acme-widgets-dependabot-3",
        exhausted_record("acme-widgets-dependabot-3", "dependabot-3", status),
    )


class Discord:
    """A fake webhook: answers in order from ``answers`` (then 200), keeps every request."""

    def __init__(self) -> None:
        self.answers: list[httpx.Response | Exception] = []
        self.posted: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.slept: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        if answer is None or answer.status_code < 300:
            self.posted.append(json.loads(request.content))
        return answer or httpx.Response(200, json={"id": f"m{len(self.posted)}"})

    def webhook(self) -> DiscordWebhook:
        return DiscordWebhook(WEBHOOK, transport=httpx.MockTransport(self), sleep=self.slept.append)


def github_writes(routes: Routes) -> list[tuple[str, dict[str, Any]]]:
    return [(r.url.path, json.loads(r.content)) for r in routes.requests if r.method == "POST"]
