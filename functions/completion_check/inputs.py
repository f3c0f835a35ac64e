"""The two reports that finish an attempt, read from what the platform sends.

A CodeRun update (ApiServerSource, mode ``Resource``: data is the whole object) says how the
agent's run ended; a ``workflow_run`` / ``check_suite`` completed delivery says how CI ended on
a branch. Anything else answers a reason instead of a report, cheaply: ingest's deliveries
reach this stage too (Trigger filters cannot look at ``data``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healer.errors import InvalidInput

MANAGED_BY = "app.kubernetes.io/managed-by"
TASK_ANNOTATION = "healer.dev/task-id"
TASK_LABEL = "healer.dev/task"
ATTEMPT_LABEL = "healer.dev/attempt"
PHASES = {"Succeeded": "succeeded", "Failed": "failed", "Error": "failed"}
CI_PASSED = frozenset({"success", "neutral"})
CI_FAILED = frozenset({"failure", "timed_out", "startup_failure", "action_required"})
CI_EVENTS = ("workflow_run", "check_suite")


@dataclass(frozen=True)
class AgentReport:
    """A CodeRun that reached a terminal phase."""

    task_id: str
    attempt: int
    coderun_name: str
    result: str  # succeeded | failed
    phase: str
    summary: str = ""
    message: str = ""
    commits: tuple[str, ...] | None = None  # None: the CodeRun did not say
    pull_request_url: str = ""

    def as_record(self, at: str) -> dict[str, Any]:
        return {
            "result": self.result,
            "phase": self.phase,
            "summary": self.summary,
            "message": self.message,
            "commits": None if self.commits is None else list(self.commits),
            "pull_request_url": self.pull_request_url,
            "at": at,
        }


@dataclass(frozen=True)
class CIReport:
    """A completed CI run (or check suite) on a branch."""

    repository: str
    branch: str
    head_sha: str
    conclusion: str
    kind: str  # workflow_run | check_suite
    ident: int
    started_at: str = ""
    url: str = ""

    @property
    def passed(self) -> bool:
        return self.conclusion in CI_PASSED

    def as_record(self, at: str) -> dict[str, Any]:
        return {
            "conclusion": self.conclusion,
            "passed": self.passed,
            "head_sha": self.head_sha,
            "kind": self.kind,
            "id": self.ident,
            "url": self.url,
            "at": at,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _commits(status: Mapping[str, Any]) -> tuple[str, ...] | None:
    """``status.commits`` or ``status.pushedCommits``: SHAs, or objects with a ``sha``."""
    raw = status.get("commits", status.get("pushedCommits"))
    if not isinstance(raw, list):
        return None
    shas = [c if isinstance(c, str) else _text(c.get("sha")) for c in raw if c]
    return tuple(s for s in shas if s)


def agent_report(obj: Any) -> AgentReport | str:
    """The report of a finished Healer CodeRun, or why this object is not one."""
    if not isinstance(obj, dict):
        raise InvalidInput("a CodeRun update's data must be the CodeRun object")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = _text(metadata.get("name")) or "?"
    if obj.get("kind") != "CodeRun":
        return f"{obj.get('kind') or 'an object'} {name} is not a CodeRun"
    labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
    annotations = metadata.get("annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    if labels.get(MANAGED_BY) != "healer":
        return f"CodeRun {name} is not managed by Healer"
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    task = _text(annotations.get(TASK_ANNOTATION)) or _text(spec.get("taskId"))
    try:
        attempt = int(labels.get(ATTEMPT_LABEL) or spec.get("attempt") or 0)
    except (TypeError, ValueError):
        attempt = 0
    if not task or attempt < 1:
        raise InvalidInput(f"CodeRun {name} names no Healer task and attempt")
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    phase = _text(status.get("phase"))
    if phase not in PHASES:
        return f"CodeRun {name} is {phase or 'without a phase'}; waiting for it to finish"
    return AgentReport(
        task_id=task,
        attempt=attempt,
        coderun_name=name,
        result=PHASES[phase],
        phase=phase,
        summary=_text(status.get("summary")),
        message=_text(status.get("message")),
        commits=_commits(status),
        pull_request_url=_text(status.get("pullRequestUrl")),
    )


def _header(headers: Any, name: str) -> str:
    if not isinstance(headers, dict):
        return ""
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else ""
            return str(value)
    return ""


def ci_report(data: dict[str, Any]) -> CIReport | str:
    """The CI result a webhook envelope carries, or why it carries none."""
    kind = _header(data.get("headers"), "x-github-event")
    if kind not in CI_EVENTS:
        return f"a {kind or 'webhook'} delivery is not a CI result"
    body = data.get("body")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return "the delivery body is not JSON"
    if not isinstance(body, dict) or body.get("action") != "completed":
        return f"{kind} not completed"
    item = body.get(kind)
    repo = body.get("repository")
    if not isinstance(item, dict) or not isinstance(repo, dict):
        return f"{kind} delivery without {kind} or repository"
    conclusion = _text(item.get("conclusion"))
    if conclusion not in CI_PASSED | CI_FAILED:
        return f"{kind} concluded {conclusion or 'nothing'}, which decides nothing"
    branch = _text(item.get("head_branch"))
    if not branch:
        return f"{kind} has no head branch"
    started = _text(item.get("run_started_at")) or _text(item.get("created_at"))
    ident = item.get("id") or 0
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise InvalidInput(f"{kind}.id must be an integer, got {type(ident).__name__}")
    return CIReport(
        repository=_text(repo.get("full_name")),
        branch=branch,
        head_sha=_text(item.get("head_sha")),
        conclusion=conclusion,
        kind=kind,
        ident=ident,
        started_at=started,
        url=_text(item.get("html_url")) or _text(item.get("url")),
    )
