"""A gathered context for scenario 1 (acme/widgets run 7001, PR #42), for spawn's tests."""

from __future__ import annotations

from typing import Any

from healer.models import (
    ContextGathered,
    FailureClassified,
    FailureDetected,
    PullRequestInfo,
    Verdict,
)
from healer.vocabulary import Action, Category, FailureType


def widgets_failure(**overrides: Any) -> FailureDetected:
    """The failed job of acme/widgets run 7001 the shared contexts start from."""
    fields: dict[str, Any] = {
        "repository": "acme/widgets",
        "event": "workflow_job",
        "run_id": 7001,
        "job_id": 90001,
        "head_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
        "head_branch": "feature/parser",
        "default_branch": "main",
    }
    return FailureDetected(**{**fields, **overrides})


def widgets_context(
    action: Action = Action.FIX,
    failure_type: FailureType = FailureType.RUST_TEST,
    excerpt: str = "thread 'parser::nested' panicked",
) -> ContextGathered:
    primary = Verdict(
        failure_type=failure_type,
        category=Category.RUST if action == Action.FIX else Category.INFRA,
        agent="rex" if action == Action.FIX else "bolt",
        action=action,
        confidence=0.9,
        failing_step="Run cargo test",
        excerpt=excerpt,
    )
    failure = widgets_failure()
    return ContextGathered(
        classified=FailureClassified(failure=failure, verdicts=[primary], primary=primary),
        task_id="acme-widgets-7001",
        pull_request=PullRequestInfo(number=42, head_ref="feature/parser", base_ref="main"),
    )


def coderun_manifest(name: str, namespace: str = "cto") -> dict[str, Any]:
    """The CodeRun spawn builds for :func:`widgets_context`, under ``name`` (an API server
    holds it to the CRD's schema)."""
    from functions.spawn.coderun import build_manifest
    from healer.roster import load_roster
    from healer.target import target_of

    built = build_manifest(
        target_of(widgets_context()),
        load_roster().specialists["rex"],
        namespace=namespace,
        service="healer",
        cli="claude",
        model="m-1",
        prompt="Fix it.",
        start_sha="3f786850e387550fdab836ed7e6dc881de23001b",
    )
    built["metadata"]["name"] = name
    return built
