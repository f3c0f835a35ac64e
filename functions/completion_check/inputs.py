"""The two reports that finish an attempt, read from what the platform sends.

A CodeRun update (ApiServerSource, mode ``Resource``: data is the whole object) says a CodeRun
reached a phase; it is a claim until the CodeRun is read back from where spawn created it (see
``coderuns``), and the report is built from that stored object, with only the status fields
the CRD has (``phase``, ``message``, ``pullRequestUrl``, ``finishedAt``, ``workCompleted``).
What the agent pushed is not in the CodeRun: completion-check asks GitHub (see ``pushed``). A
``workflow_run`` / ``check_suite`` completed delivery says how CI ended on a branch. Anything
else answers a reason instead of a report, cheaply: ingest's deliveries reach this stage too
(Trigger filters cannot look at ``data``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from healer import coderun as contract
from healer.errors import InvalidInput
from healer.state.records import AgentResult, CIResult

PHASES = {"Succeeded": "succeeded", "Failed": "failed"}
CI_PASSED = frozenset({"success", "neutral"})
CI_FAILED = frozenset({"failure", "timed_out", "startup_failure", "action_required"})
CI_EVENTS = ("workflow_run", "check_suite")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class CodeRunSeen:
    """What an update claims: this CodeRun reached this phase."""

    name: str
    namespace: str
    phase: str
    status: Mapping[str, Any]


@dataclass(frozen=True)
class AgentReport:
    """A Healer CodeRun that reached a terminal phase, as read back from its backend."""

    task_id: str
    attempt: int
    coderun_name: str
    result: str  # succeeded | failed
    phase: str
    message: str = ""
    pull_request_url: str = ""
    finished_at: str = ""
    work_completed: bool | None = None
    commits: tuple[str, ...] | None = None  # from GitHub; None: not asked (a failed run)

    def with_commits(self, commits: tuple[str, ...]) -> AgentReport:
        return replace(self, commits=commits)

    def as_record(self, at: str) -> AgentResult:
        return AgentResult(
            result="succeeded" if self.result == "succeeded" else "failed",
            phase=self.phase,
            summary=self.message if self.result == "succeeded" else "",
            message=self.message,
            commits=None if self.commits is None else list(self.commits),
            pull_request_url=self.pull_request_url,
            finished_at=self.finished_at,
            work_completed=self.work_completed,
            at=at,
        )


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

    def as_record(self, at: str) -> CIResult:
        return CIResult(
            conclusion=self.conclusion,
            passed=self.passed,
            head_sha=self.head_sha,
            kind=self.kind,
            id=self.ident,
            url=self.url,
            at=at,
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def coderun_seen(obj: Any) -> CodeRunSeen | str:
    """What a CodeRun update claims, or why it is nobody's business here. A malformed update
    (no object, no valid name) is invalid input."""
    if not isinstance(obj, dict):
        raise InvalidInput("a CodeRun update's data must be the CodeRun object")
    metadata = _mapping(obj.get("metadata"))
    name = _text(metadata.get("name"))
    if obj.get("kind") != contract.KIND:
        return f"{obj.get('kind') or 'an object'} {name or '?'} is not a CodeRun"
    if not _DNS_LABEL.match(name) or len(name) > 63:
        raise InvalidInput(f"a CodeRun update names no valid CodeRun ({name[:80]!r})")
    status = _mapping(obj.get("status"))
    phase = _text(status.get("phase"))
    if phase not in PHASES:
        return f"CodeRun {name} is {phase or 'without a phase'}; waiting for it to finish"
    return CodeRunSeen(name, _text(metadata.get("namespace")), phase, status)


def agent_report(stored: Mapping[str, Any], status: Mapping[str, Any]) -> AgentReport | str:
    """The report of a finished Healer CodeRun, from the stored object's labels and
    annotations and the given status; or why it is not Healer's."""
    metadata = _mapping(stored.get("metadata"))
    name = _text(metadata.get("name")) or "?"
    labels = _mapping(metadata.get("labels"))
    annotations = _mapping(metadata.get("annotations"))
    if stored.get("kind") != contract.KIND or stored.get("apiVersion") != contract.API_VERSION:
        return f"{name} is not an {contract.API_VERSION} CodeRun"
    if (
        labels.get(contract.LABEL_MANAGED_BY) != contract.HEALER
        or labels.get(contract.LABEL_NAME) != contract.HEALER
    ):
        return f"CodeRun {name} is not Healer's (no {contract.LABEL_MANAGED_BY}=healer label)"
    task = _text(annotations.get(contract.ANNOTATION_TASK_ID))
    try:
        attempt = int(labels.get(contract.LABEL_ATTEMPT) or 0)
    except (TypeError, ValueError):
        attempt = 0
    if not task or attempt < 1:
        return f"CodeRun {name} names no Healer task and attempt"
    phase = _text(status.get("phase"))
    if phase not in PHASES:
        return f"CodeRun {name} is {phase or 'without a phase'}; waiting for it to finish"
    done = status.get("workCompleted")
    return AgentReport(
        task_id=task,
        attempt=attempt,
        coderun_name=name,
        result=PHASES[phase],
        phase=phase,
        message=_text(status.get("message")),
        pull_request_url=_text(status.get("pullRequestUrl")),
        finished_at=_text(status.get("finishedAt")),
        work_completed=done if isinstance(done, bool) else None,
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
