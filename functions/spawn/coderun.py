"""The ``CodeRun`` manifest (``agents.platform/v1``) that starts a specialist on a failure.

The name is deterministic in (task, attempt), so creating it twice is a conflict the launcher
treats as done. The prompt travels inline up to ``MAX_INLINE_PROMPT`` bytes (well under
etcd's 1.5 MiB object limit) and is always referenced by its blob key too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from functions.spawn.target import Target
from healer.roster import Specialist

GROUP = "agents.platform"
VERSION = "v1"
PLURAL = "coderuns"
KIND = "CodeRun"
API_VERSION = f"{GROUP}/{VERSION}"
MAX_NAME = 63
MAX_INLINE_PROMPT = 256 * 1024
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


def _digest(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def coderun_name(task_id: str, attempt: int) -> str:
    """``healer-<task>-a<attempt>``: a DNS-1123 label; long task ids keep a hash suffix."""
    suffix = f"-a{attempt}"
    slug = _NOT_DNS.sub("-", task_id.lower()).strip("-") or "task"
    name = f"healer-{slug}{suffix}"
    if len(name) <= MAX_NAME:
        return name
    room = MAX_NAME - len("healer-") - len(suffix) - 9  # "-" + 8 hash characters
    head = slug[:room].rstrip("-")
    return f"healer-{head}-{_digest(task_id)}{suffix}"


def label_value(value: str) -> str:
    """A valid label value (≤ 63, alphanumeric at both ends), hashed when it must be cut."""
    text = _NOT_LABEL.sub("-", value).strip("-._")
    if len(text) <= MAX_NAME:
        return text
    return f"{text[: MAX_NAME - 9].rstrip('-._')}-{_digest(value)}"


def labels(target: Target, agent: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "healer",
        "healer.dev/task": label_value(target.task_id),
        "healer.dev/attempt": str(target.attempt),
        "healer.dev/agent": label_value(agent),
        "healer.dev/failure-type": target.primary.failure_type.value,
    }


def build_manifest(
    target: Target,
    specialist: Specialist,
    *,
    namespace: str,
    cli: str,
    model: str,
    prompt: str,
) -> dict[str, Any]:
    """The CodeRun object; ``model`` is the specialist's own when the roster names one."""
    primary = target.primary
    spec: dict[str, Any] = {
        "taskId": target.task_id,
        "attempt": target.attempt,
        "repositoryUrl": target.repository_url,
        "branch": target.branch,
        "agent": specialist.key,
        "githubApp": specialist.github_app,
        "cli": cli,
        "model": specialist.model or model,
        "failureType": primary.failure_type.value,
        "promptRef": {"blobKey": target.prompt_key},
        "contextRef": {"blobKey": target.context_key},
    }
    if target.base_branch:
        spec["baseBranch"] = target.base_branch
    if target.pull_request is not None:
        spec["pullRequest"] = target.pull_request
    if not target.is_alert:
        spec["workflowRun"] = {"id": target.run_ref, "attempt": target.run_attempt}
    if primary.log_key or primary.failing_step:
        spec["log"] = {
            key: value
            for key, value in (
                ("blobKey", primary.log_key),
                ("jobId", primary.job_id),
                ("jobName", primary.job_name),
                ("failingStep", primary.failing_step),
            )
            if value
        }
    if len(prompt.encode("utf-8")) <= MAX_INLINE_PROMPT:
        spec["prompt"] = prompt
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": coderun_name(target.task_id, target.attempt),
            "namespace": namespace,
            "labels": labels(target, specialist.key),
            "annotations": {
                "healer.dev/repository": target.repository,
                "healer.dev/task-id": target.task_id,
            },
        },
        "spec": spec,
    }
