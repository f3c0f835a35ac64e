"""Attempts started by the real spawn stage (outbox, memory state, blob folder), and the
events that finish them, as the cluster would send them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent

from functions.completion_check.stage import CompletionChecker
from functions.spawn.stage import Spawner
from healer.broker.finish import ci_event, coderun_update, fix_commit, read_outbox
from healer.events import build_event
from healer.models import (
    ContextGathered,
    FailureClassified,
    FailureDetected,
    PullRequestInfo,
    Verdict,
)
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import Action, Category, EventType, FailureType, Stage

TASK = "acme-widgets-7001"
REPO = "acme/widgets"
BRANCH = "feature/parser"
STARTED = "2025-01-02T03:00:00Z"
RECORDED = Path(__file__).resolve().parents[2] / "examples" / "github"


def services(tmp_path: Path, **settings: Any) -> Services:
    return Services(
        Settings(
            coderun_outbox=str(tmp_path / "outbox"),
            github_recorded_dir=str(RECORDED),  # spawn asks GitHub about the branch
            **settings,
        ),
        state=MemoryStateStore(),
        blobs=FileBlobStore(tmp_path / "blobs"),
    )


def context(attempt: int = 1, agent: str = "rex") -> ContextGathered:
    primary = Verdict(
        failure_type=FailureType.RUST_TEST,
        category=Category.RUST,
        agent=agent,
        action=Action.FIX,
        confidence=0.9,
        failing_step="Run cargo test",
        excerpt="thread 'parser::nested' panicked",
        fingerprint="fp-rust-nested",
    )
    failure = FailureDetected(
        repository=REPO,
        event="workflow_job",
        run_id=7001,
        job_id=90001,
        head_sha="3f786850e387550fdab836ed7e6dc881de23001b",
        head_branch=BRANCH,
        default_branch="main",
    )
    return ContextGathered(
        classified=FailureClassified(failure=failure, verdicts=[primary], primary=primary),
        attempt=attempt,
        task_id=TASK,
        pull_request=PullRequestInfo(number=42, head_ref=BRANCH, base_ref="main"),
    )


def start(services: Services, attempt: int = 1, *, started: str = STARTED) -> dict[str, Any]:
    """spawn starts ``attempt``: the record, the branch index, the context, the CodeRun."""
    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context(attempt),
        key=(TASK, attempt),
        repository=REPO,
        run_id=7001,
        attempt=attempt,
    )
    reply = Spawner(services, clock=lambda: started)(event)
    assert reply["type"] == EventType.REMEDIATION_STARTED
    data: dict[str, Any] = reply.get_data()
    return data


def checker(services: Services, now: str = "2025-01-02T03:10:00Z") -> CompletionChecker:
    moment = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
    return CompletionChecker(services, clock=lambda: moment)


def coderun(services: Services, attempt: int = 1) -> dict[str, Any]:
    return read_outbox(services.settings.coderun_outbox, f"healer-{TASK}-a{attempt}")


def agent_done(
    services: Services, attempt: int = 1, phase: str = "Succeeded", **status: Any
) -> CloudEvent:
    name = f"healer-{TASK}-a{attempt}"
    if phase == "Succeeded":
        status.setdefault("commits", [fix_commit(name)])
    return coderun_update(coderun(services, attempt), phase, **status)


def ci_done(attempt: int = 1, conclusion: str = "success", sha: str = "") -> CloudEvent:
    name = f"healer-{TASK}-a{attempt}"
    return ci_event(REPO, BRANCH, sha or fix_commit(name), conclusion, key=f"{name}-{conclusion}")


def record(services: Services) -> dict[str, Any]:
    value = services.state.get_json(f"task:{TASK}")
    assert isinstance(value, dict)
    return value


def ping(ident: str = "tick-1") -> CloudEvent:
    return CloudEvent(
        {
            "type": EventType.PING.value,
            "source": "/apis/v1/namespaces/cto/pingsources/healer-sweep",
            "id": ident,
        },
        {"sweep": "attempt-timeouts"},
    )
