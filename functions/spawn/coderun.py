"""The ``CodeRun`` (``agents.platform/v1``) that starts a specialist on a failure.

Built through Healer's contract (:mod:`healer.coderun`), so it carries only fields the
platform's CRD has: a ``remediate`` run whose prompt is ``promptModification`` and whose task,
branch, run and blob keys travel in ``env`` (``HEALER_*``), labels and annotations. The name is
deterministic in (task, attempt), so creating it twice is a conflict the launcher treats as
done. The prompt travels inline up to ``MAX_INLINE_PROMPT`` bytes (well under etcd's 1.5 MiB
object limit); a longer one is cut with a note pointing at its blob, which holds it whole.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from healer import coderun as contract
from healer.roster import Specialist
from healer.secrets import mask
from healer.target import Target

MAX_NAME = 63
MAX_INLINE_PROMPT = 256 * 1024
WORKING_DIRECTORY = "."
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
        contract.LABEL_NAME: contract.HEALER,
        contract.LABEL_MANAGED_BY: contract.HEALER,
        contract.LABEL_TASK: label_value(target.task_id),
        contract.LABEL_ATTEMPT: str(target.attempt),
        contract.LABEL_AGENT: label_value(agent),
        contract.LABEL_FAILURE_TYPE: target.primary.failure_type.value,
    }


def inline_prompt(prompt: str, prompt_key: str) -> tuple[str, bool]:
    """The prompt as ``promptModification``: whole, or cut at a character boundary to fit
    ``MAX_INLINE_PROMPT`` bytes with a note naming the blob that holds all of it."""
    raw = prompt.encode("utf-8")
    if len(raw) <= MAX_INLINE_PROMPT:
        return prompt, False
    note = (
        f"\n\n[This prompt was cut at {MAX_INLINE_PROMPT} of {len(raw)} bytes. The whole "
        f"prompt is the blob {prompt_key} (env {contract.ENV_PROMPT_KEY}).]\n"
    )
    room = MAX_INLINE_PROMPT - len(note.encode("utf-8"))
    head = raw[:room].decode("utf-8", "ignore")
    return head + note, True


def agent_env(target: Target, agent: str, *, start_sha: str, prompt_cut: bool) -> dict[str, str]:
    """``spec.env``: what the agent needs about its task, as strings."""
    primary = target.primary
    env = {
        contract.ENV_TASK_ID: target.task_id,
        contract.ENV_ATTEMPT: str(target.attempt),
        contract.ENV_AGENT: agent,
        contract.ENV_REPOSITORY: target.repository,
        contract.ENV_TARGET_BRANCH: target.branch,
        contract.ENV_BASE_BRANCH: target.base_branch,
        contract.ENV_START_SHA: start_sha,
        contract.ENV_FAILURE_TYPE: primary.failure_type.value,
        contract.ENV_PROMPT_KEY: target.prompt_key,
        contract.ENV_CONTEXT_KEY: target.context_key,
        contract.ENV_LOG_KEY: primary.log_key,
        contract.ENV_JOB_ID: "" if primary.job_id is None else str(primary.job_id),
        contract.ENV_JOB_NAME: mask(primary.job_name),
        contract.ENV_FAILING_STEP: mask(primary.failing_step),
        contract.ENV_PULL_REQUEST: "" if target.pull_request is None else str(target.pull_request),
    }
    if target.is_alert:
        env[contract.ENV_ALERT] = str(target.run_ref)
    else:
        env[contract.ENV_RUN_ID] = str(target.run_ref)
        env[contract.ENV_RUN_ATTEMPT] = str(target.run_attempt)
    if prompt_cut:
        env[contract.ENV_PROMPT_TRUNCATED] = "true"
    return {name: value for name, value in env.items() if value}


def annotations_of(target: Target, *, start_sha: str, prompt_cut: bool) -> dict[str, str]:
    """Exact values (labels are cut and restricted), for completion-check and for people."""
    out = {
        contract.ANNOTATION_TASK_ID: target.task_id,
        contract.ANNOTATION_ATTEMPT: str(target.attempt),
        contract.ANNOTATION_REPOSITORY: target.repository,
        contract.ANNOTATION_TARGET_BRANCH: target.branch,
        contract.ANNOTATION_BASE_BRANCH: target.base_branch,
        contract.ANNOTATION_START_SHA: start_sha,
        contract.ANNOTATION_PROMPT_KEY: target.prompt_key,
        contract.ANNOTATION_CONTEXT_KEY: target.context_key,
        contract.ANNOTATION_LOG_KEY: target.primary.log_key,
    }
    if prompt_cut:
        out[contract.ANNOTATION_PROMPT_CUT] = "true"
    return {name: value for name, value in out.items() if value}


def build_manifest(
    target: Target,
    specialist: Specialist,
    *,
    namespace: str,
    service: str,
    cli: str,
    model: str,
    prompt: str,
    start_sha: str = "",
) -> dict[str, Any]:
    """The CodeRun object, checked against the contract; ``model`` is the specialist's own
    when the roster names one. ``start_sha`` is the target branch's head when the attempt
    started (completion-check counts the agent's commits from there)."""
    chosen_model = specialist.model or model
    # The prompt is masked when rendered; masked again here, as nothing unmasked may reach etcd.
    text, cut = inline_prompt(mask(prompt), target.prompt_key)
    obj = {
        "apiVersion": contract.API_VERSION,
        "kind": contract.KIND,
        "metadata": {
            "name": coderun_name(target.task_id, target.attempt),
            "namespace": namespace,
            "labels": labels(target, specialist.key),
            "annotations": annotations_of(target, start_sha=start_sha, prompt_cut=cut),
        },
        "spec": {
            "runType": "remediate",
            "service": service,
            "repositoryUrl": target.repository_url,
            "docsRepositoryUrl": target.repository_url,
            "workingDirectory": WORKING_DIRECTORY,
            "model": chosen_model,
            "githubApp": specialist.github_app,
            "contextVersion": target.attempt,
            "promptModification": text,
            "cliConfig": {"cliType": cli, "model": chosen_model},
            "env": agent_env(target, specialist.key, start_sha=start_sha, prompt_cut=cut),
        },
    }
    return contract.validate_coderun(obj).manifest()
