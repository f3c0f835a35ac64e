"""Finishing CodeRuns without a cluster: what a cluster (and the agent) would do when it ends.

A CodeRun update is what Knative's ApiServerSource (mode ``Resource``) sends: type
``dev.knative.apiserver.resource.update``, subject ``/apis/agents.platform/v1/namespaces/<ns>/
coderuns/<name>``, data the whole object with a ``status`` of the CRD's fields (phase, message,
finishedAt, workCompleted…; no commit list). What the agent pushed is GitHub's to say: offline,
the simulated agent pushes its commit into the recorded GitHub's push ledger
(:class:`~healer.github.pushes.PushLedger`), onto the branch and from the start commit its
CodeRun's ``env`` names, exactly as a real agent would read them. The CI result is a GitHub
``workflow_run`` completed delivery on that branch, as Argo Events forwards it, signed with the
webhook secret when one is configured (completion-check then refuses unsigned ones). Both go
into a broker like any other event: in-process (replay) or to ``healer dev``'s ingress.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudevents.http import CloudEvent

from healer import coderun as contract
from healer.errors import InvalidInput
from healer.state import clock, persistence
from healer.state.records import TaskRecord
from healer.stores.keys import task_key
from healer.vocabulary import EventType
from healer_dev.broker.replay import to_cloudevent

if TYPE_CHECKING:
    from healer.github.pushes import PushLedger
    from healer.settings import Settings
    from healer.stores.state import StateStore
    from healer_dev.broker.hops import Hop

APISERVER = "https://kubernetes.default.svc"
PHASES = contract.TERMINAL_PHASES
AgentOutcome = Literal["succeeded", "failed"]


def _digest(*parts: object, n: int = 40) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:n]


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


def agent_env(coderun: Mapping[str, Any]) -> dict[str, str]:
    """The CodeRun's ``spec.env``: what the agent is told about its task."""
    spec = coderun.get("spec")
    env = spec.get("env") if isinstance(spec, dict) else None
    return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}


def ledger_for(settings: Settings) -> PushLedger | None:
    """The push ledger the recorded GitHub serves, when GitHub is the recorded one."""
    if not settings.github_recorded_dir or not settings.github_pushes_dir:
        return None
    from healer.github.pushes import PushLedger

    return PushLedger(settings.github_pushes_dir)


def push_fix(pushes: PushLedger, coderun: Mapping[str, Any], message: str) -> str:
    """The simulated agent's push: one commit on its target branch, from its start commit."""
    env = agent_env(coderun)
    name = str((coderun.get("metadata") or {}).get("name") or "")
    repository = env.get(contract.ENV_REPOSITORY, "")
    branch = env.get(contract.ENV_TARGET_BRANCH, "")
    if not name or not repository or not branch:
        raise InvalidInput(
            f"CodeRun {name or '?'} names no repository and target branch in its env "
            f"({contract.ENV_REPOSITORY}, {contract.ENV_TARGET_BRANCH})"
        )
    sha = fix_commit(name)
    pushes.push(
        repository, branch, sha=sha, base=env.get(contract.ENV_START_SHA, ""), message=message
    )
    return sha


def coderun_update(
    coderun: Mapping[str, Any],
    phase: str,
    *,
    message: str = "",
    pull_request_url: str = "",
) -> CloudEvent:
    """The ApiServerSource event for ``coderun`` reaching ``phase``; the status has only the
    CRD's fields (checked against the contract)."""
    if phase not in PHASES:
        raise InvalidInput(f"phase {phase!r} is not one of {', '.join(PHASES)}")
    obj = copy.deepcopy(dict(coderun))
    raw_metadata = obj.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or "default")
    if not name:
        raise InvalidInput("the CodeRun has no metadata.name")
    now = clock.now()
    status = contract.CodeRunStatus(
        phase=phase,
        message=message or None,
        lastUpdate=now,
        finishedAt=now,
        workCompleted=phase == "Succeeded",
        pullRequestUrl=pull_request_url or None,
    )
    obj["status"] = status.model_dump(mode="json", exclude_none=True)
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
    started = clock.now()
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


def finish_events(
    coderun: Mapping[str, Any],
    phase: str,
    *,
    ci: str = "",
    summary: str = "",
    secret: str = "",
    pushes: PushLedger | None = None,
) -> list[CloudEvent]:
    """The agent's push (Succeeded, given a ledger), CI's result (when given), then the
    CodeRun's update: CI is recorded against the attempt still running, and the update then
    decides it. Without a ledger nothing is pushed, and a Succeeded run counts as having
    pushed nothing."""
    name = str((coderun.get("metadata") or {}).get("name") or "")
    env = agent_env(coderun)
    repository = env.get(contract.ENV_REPOSITORY, "")
    branch = env.get(contract.ENV_TARGET_BRANCH, "")
    message = summary or (
        f"{phase.lower()} locally"
        if phase == "Succeeded"
        else "the agent could not fix the failure"
    )
    sha = fix_commit(name)
    if phase == "Succeeded" and pushes is not None:
        sha = push_fix(pushes, coderun, message)
    events = []
    if ci:
        events.append(ci_event(repository, branch, sha, ci, key=name, secret=secret))
    events.append(coderun_update(coderun, phase, message=message))
    return events


def agent_outcome_events(
    started: Mapping[str, Any],
    outcome: AgentOutcome,
    state: StateStore,
    *,
    secret: str = "",
    pushes: PushLedger | None = None,
) -> list[CloudEvent]:
    """What a cluster would send after ``remediation.started``, for the demo's chosen outcome:
    an agent run succeeds (pushes a commit, CI passes on it) or fails (no commit, no CI); a
    GitHub re-run (no agent) passes or fails CI on the task's branch."""
    launched = str(started.get("launched_to") or "")
    if started.get("coderun_name") and launched and Path(launched).is_file():
        coderun = read_outbox(Path(launched).parent, str(started["coderun_name"]))
        if outcome == "succeeded":
            return finish_events(coderun, "Succeeded", ci="success", secret=secret, pushes=pushes)
        return finish_events(coderun, "Failed")
    record = persistence.read(state, task_key(str(started.get("task_id"))), TaskRecord)
    branch = record.branch if record is not None else ""
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
    pushes: PushLedger | None = None,
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
        started = event_data(hop.reply)
        for event in agent_outcome_events(started, outcome, state, secret=secret, pushes=pushes):
            new = publish(event)
            out += new
            pending += new
    return out
