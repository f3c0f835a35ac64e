"""Attempts started by the real spawn stage (outbox, memory state, blob folder, recorded GitHub
with a push ledger), and the events that finish them, as the cluster would send them; the
simulated agent's commit goes into the ledger, where completion-check asks GitHub for it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent
from event_data import data_of

from functions.completion_check.stage import CompletionChecker
from functions.spawn.stage import Spawner
from healer.events import build_event
from healer.github.pushes import PushLedger
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
from healer_dev.broker.finish import ci_event, coderun_update, fix_commit, read_outbox

TASK = "acme-widgets-7001"
REPO = "acme/widgets"
BRANCH = "feature/parser"
HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"  # the branch's recorded head
STARTED = "2025-01-02T03:00:00Z"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "github"


def services(tmp_path: Path, **settings: Any) -> Services:
    """Outbox, memory state, blob folder, and GitHub as recorded plus what was pushed."""
    configured: dict[str, Any] = {
        "coderun_outbox": str(tmp_path / "outbox"),
        "github_recorded_dir": str(EXAMPLES),
        "github_pushes_dir": str(tmp_path / "pushes"),
        **settings,
    }
    return Services(
        Settings(**configured),
        state=MemoryStateStore(),
        blobs=FileBlobStore(tmp_path / "blobs"),
    )


def ledger(services: Services) -> PushLedger:
    return PushLedger(services.settings.github_pushes_dir)


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
    data: dict[str, Any] = data_of(reply)
    return data


def checker(services: Services, now: str = "2025-01-02T03:10:00Z") -> CompletionChecker:
    moment = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
    return CompletionChecker(services, clock=lambda: moment)


def coderun(services: Services, attempt: int = 1) -> dict[str, Any]:
    return read_outbox(services.settings.coderun_outbox, f"healer-{TASK}-a{attempt}")


def push(services: Services, sha: str, *, base: str = HEAD, message: str = "fix") -> None:
    """Someone (the agent) pushes ``sha`` onto the fix branch, as GitHub will then show it."""
    ledger(services).push(REPO, BRANCH, sha=sha, base=base, message=message)


def agent_done(
    services: Services,
    attempt: int = 1,
    phase: str = "Succeeded",
    *,
    pushed: bool = True,
    message: str = "",
    sha: str = "",
) -> CloudEvent:
    """The CodeRun's update; a Succeeded agent first pushes its commit (unless ``pushed`` is
    False: it pushed nothing)."""
    name = f"healer-{TASK}-a{attempt}"
    if phase == "Succeeded" and pushed:
        push(services, sha or fix_commit(name), message=message or "fix")
    return coderun_update(coderun(services, attempt), phase, message=message)


def ci_done(attempt: int = 1, conclusion: str = "success", sha: str = "") -> CloudEvent:
    name = f"healer-{TASK}-a{attempt}"
    return ci_event(REPO, BRANCH, sha or fix_commit(name), conclusion, key=f"{name}-{conclusion}")


def retried_from(services: Services, data: dict[str, Any]) -> ContextGathered:
    """The context a ``remediation.retry`` names, read back from the blob store."""
    return ContextGathered.model_validate_json(services.blobs.get(data["context_key"]))


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
