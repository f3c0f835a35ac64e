"""Finishing CodeRuns without a cluster: the events a cluster would send when an agent ends.

A CodeRun update is what Knative's ApiServerSource (mode ``Resource``) sends: type
``dev.knative.apiserver.resource.update``, subject ``/apis/agents.platform/v1/namespaces/<ns>/
coderuns/<name>``, data the whole object with its ``status``. The CI result is a GitHub
``workflow_run`` completed delivery on the fix branch, as Argo Events forwards it, signed
with the webhook secret when one is configured (completion-check then refuses unsigned ones).
Both go into a broker like any other event: in-process (replay) or to ``healer dev``'s ingress.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudevents.http import CloudEvent

from healer.broker.replay import to_cloudevent
from healer.errors import InvalidInput
from healer.vocabulary import EventType

if TYPE_CHECKING:
    from healer.broker.hops import Hop
    from healer.stores.state import StateStore

APISERVER = "https://kubernetes.default.svc"
PHASES = ("Succeeded", "Failed")
AgentOutcome = Literal["succeeded", "failed"]


def _digest(*parts: object, n: int = 40) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:n]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_outbox(outbox: str | Path, name: str) -> dict[str, Any]:
    """The CodeRun manifest spawn wrote to ``<outbox>/<name>.yaml``."""
    import yaml

    path = Path(outbox) / f"{name}.yaml"
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"no readable CodeRun manifest at {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != "CodeRun":
        raise InvalidInput(f"{path} does not hold a CodeRun")
    return manifest


def fix_commit(coderun_name: str) -> str:
    """A stand-in SHA for the commit a local agent 'pushed'."""
    return _digest("commit", coderun_name)


def coderun_update(
    coderun: Mapping[str, Any],
    phase: str,
    *,
    summary: str = "",
    message: str = "",
    commits: Sequence[str] | None = None,
    pull_request_url: str = "",
) -> CloudEvent:
    """The ApiServerSource event for ``coderun`` reaching ``phase``."""
    if phase not in PHASES:
        raise InvalidInput(f"phase {phase!r} is not one of {', '.join(PHASES)}")
    obj = copy.deepcopy(dict(coderun))
    raw_metadata = obj.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or "default")
    if not name:
        raise InvalidInput("the CodeRun has no metadata.name")
    status: dict[str, Any] = {"phase": phase, "completionTime": _now()}
    if summary:
        status["summary"] = summary
    if message:
        status["message"] = message
    if commits is not None:
        status["commits"] = list(commits)
    if pull_request_url:
        status["pullRequestUrl"] = pull_request_url
    obj["status"] = status
    attributes = {
        "type": EventType.APISERVER_UPDATE.value,
        "source": APISERVER,
        "subject": f"/apis/agents.platform/v1/namespaces/{namespace}/coderuns/{name}",
        "id": _digest("update", namespace, name, phase, n=32),
        "datacontenttype": "application/json",
        "kind": "CodeRun",
        "name": name,
        "namespace": namespace,
    }
    return CloudEvent(attributes, obj)


def ci_delivery(
    repository: str,
    branch: str,
    head_sha: str,
    conclusion: str,
    *,
    key: str,
    workflow: str = "CI",
) -> dict[str, Any]:
    """A ``workflow_run`` completed delivery (file format) for CI on ``branch``."""
    owner, _, name = repository.partition("/")
    run_id = int(_digest("run", key, n=8), 16) % 900_000_000 + 100_000_000
    started = _now()
    return {
        "headers": {
            "X-GitHub-Event": "workflow_run",
            "X-GitHub-Delivery": _digest("delivery", key, conclusion, n=32),
            "Content-Type": "application/json",
        },
        "body": {
            "action": "completed",
            "workflow_run": {
                "id": run_id,
                "name": workflow,
                "head_branch": branch,
                "head_sha": head_sha,
                "run_attempt": 1,
                "event": "push",
                "status": "completed",
                "conclusion": conclusion,
                "created_at": started,
                "run_started_at": started,
                "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
                "pull_requests": [],
                "head_repository": {"full_name": repository},
            },
            "repository": {
                "full_name": repository,
                "name": name,
                "owner": {"login": owner},
                "default_branch": "main",
            },
            "sender": {"login": "healer-local", "type": "User"},
        },
    }


def ci_event(
    repository: str, branch: str, head_sha: str, conclusion: str, key: str, *, secret: str = ""
) -> CloudEvent:
    """The Sensor's event for CI's result, signed under ``secret`` when given."""
    delivery = ci_delivery(repository, branch, head_sha, conclusion, key=key)
    return to_cloudevent(delivery, secret=secret)


def _repository(coderun: Mapping[str, Any]) -> str:
    annotations = (coderun.get("metadata") or {}).get("annotations") or {}
    repo = str(annotations.get("healer.dev/repository") or "")
    if not repo:
        url = str((coderun.get("spec") or {}).get("repositoryUrl") or "")
        repo = url.removeprefix("https://github.com/")
    return repo


def finish_events(
    coderun: Mapping[str, Any], phase: str, *, ci: str = "", summary: str = "", secret: str = ""
) -> list[CloudEvent]:
    """CI's result first (when given), then the CodeRun's update: CI is recorded against the
    attempt still running, and the update then decides it."""
    name = str((coderun.get("metadata") or {}).get("name") or "")
    branch = str((coderun.get("spec") or {}).get("branch") or "")
    sha = fix_commit(name)
    events = []
    if ci:
        events.append(ci_event(_repository(coderun), branch, sha, ci, key=name, secret=secret))
    pushed = [sha] if phase == "Succeeded" else None
    message = "" if phase == "Succeeded" else (summary or "the agent could not fix the failure")
    events.append(
        coderun_update(
            coderun,
            phase,
            summary=summary or f"{phase.lower()} locally",
            message=message,
            commits=pushed,
        )
    )
    return events


def agent_outcome_events(
    started: Mapping[str, Any], outcome: AgentOutcome, state: StateStore, *, secret: str = ""
) -> list[CloudEvent]:
    """What a cluster would send after ``remediation.started``, for the demo's chosen outcome:
    an agent run succeeds (CI passes on its commit) or fails (no commit, no CI); a GitHub
    re-run (no agent) passes or fails CI on the task's branch."""
    launched = str(started.get("launched_to") or "")
    if started.get("coderun_name") and launched and Path(launched).is_file():
        coderun = read_outbox(Path(launched).parent, str(started["coderun_name"]))
        if outcome == "succeeded":
            return finish_events(coderun, "Succeeded", ci="success", secret=secret)
        return finish_events(coderun, "Failed")
    record = state.get_json(f"task:{started.get('task_id')}")
    branch = str(record.get("branch") or "") if isinstance(record, dict) else ""
    if not branch:
        return []
    conclusion = "success" if outcome == "succeeded" else "failure"
    key = f"{started.get('task_id')}-{started.get('attempt')}"
    repository = str(started.get("repository"))
    sha = _digest("rerun", key)
    return [ci_event(repository, branch, sha, conclusion, key, secret=secret)]


def play_outcomes(
    publish: Callable[[CloudEvent], list[Hop]],
    hops: list[Hop],
    outcome: AgentOutcome,
    state: StateStore,
    *,
    limit: int = 20,
    secret: str = "",
) -> list[Hop]:
    """After every ``remediation.started`` in ``hops`` (and in the hops that follow), publish
    the agent's outcome; the hops that made, in order."""
    from healer.events import event_data

    out: list[Hop] = []
    pending = list(hops)
    seen: set[str] = set()
    while pending and len(seen) < limit:
        hop = pending.pop(0)
        if hop.reply_type != EventType.REMEDIATION_STARTED or hop.reply is None:
            continue
        if hop.reply_id in seen:
            continue
        seen.add(hop.reply_id)
        for event in agent_outcome_events(event_data(hop.reply), outcome, state, secret=secret):
            new = publish(event)
            out += new
            pending += new
    return out
