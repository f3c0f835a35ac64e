"""Healer's contract for the platform's ``CodeRun`` (``coderuns.agents.platform``, ``v1``).

The platform's CRD has a structural schema without ``x-kubernetes-preserve-unknown-fields`` on
``spec`` or ``status``: the API server silently drops any field it does not list (and refuses
it under strict field validation), so a field Healer invents never reaches the agent. These
models list exactly the CRD's fields, with its types, enums and required fields, and forbid
anything else; spawn builds every CodeRun through :func:`validate_coderun`, and completion-check
reads only :class:`CodeRunStatus` fields. Field names are the wire names (camelCase) on purpose.

Everything the agent needs that the CRD has no field for travels in ``spec.env`` (the ``ENV_*``
names below), and again in labels and annotations for selectors and for completion-check.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from healer.errors import InvalidInput

GROUP = "agents.platform"
VERSION = "v1"
PLURAL = "coderuns"
KIND = "CodeRun"
API_VERSION = f"{GROUP}/{VERSION}"


def collection_path(namespace: str) -> str:
    """The API server path of a namespace's CodeRuns (the namespace escaped into one segment)."""
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{PLURAL}"


RunType = Literal["implementation", "documentation", "intake", "review", "remediate"]
RUN_TYPES: tuple[str, ...] = ("implementation", "documentation", "intake", "review", "remediate")
TERMINAL_PHASES = ("Succeeded", "Failed")

# Labels: the platform's runbook selects ``app.kubernetes.io/name=healer``; the ApiServerSource
# that feeds completion-check selects ``app.kubernetes.io/managed-by=healer``.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TASK = "healer.dev/task"
LABEL_ATTEMPT = "healer.dev/attempt"
LABEL_AGENT = "healer.dev/agent"
LABEL_FAILURE_TYPE = "healer.dev/failure-type"
HEALER = "healer"

# Annotations: exact values (labels are cut to 63 characters and a restricted alphabet).
ANNOTATION_TASK_ID = "healer.dev/task-id"
ANNOTATION_ATTEMPT = "healer.dev/attempt"
ANNOTATION_REPOSITORY = "healer.dev/repository"
ANNOTATION_TARGET_BRANCH = "healer.dev/target-branch"
ANNOTATION_BASE_BRANCH = "healer.dev/base-branch"
ANNOTATION_START_SHA = "healer.dev/start-sha"
ANNOTATION_PROMPT_KEY = "healer.dev/prompt-key"
ANNOTATION_CONTEXT_KEY = "healer.dev/context-key"
ANNOTATION_LOG_KEY = "healer.dev/log-key"
ANNOTATION_PROMPT_CUT = "healer.dev/prompt-truncated"

# ``spec.env``: what the agent reads about its task (strings only, as the CRD requires).
ENV_TASK_ID = "HEALER_TASK_ID"
ENV_ATTEMPT = "HEALER_ATTEMPT"
ENV_AGENT = "HEALER_AGENT"
ENV_REPOSITORY = "HEALER_REPOSITORY"
ENV_TARGET_BRANCH = "HEALER_TARGET_BRANCH"
ENV_BASE_BRANCH = "HEALER_BASE_BRANCH"
ENV_START_SHA = "HEALER_START_SHA"
ENV_FAILURE_TYPE = "HEALER_FAILURE_TYPE"
ENV_RUN_ID = "HEALER_RUN_ID"
ENV_RUN_ATTEMPT = "HEALER_RUN_ATTEMPT"
ENV_ALERT = "HEALER_ALERT"
ENV_PULL_REQUEST = "HEALER_PULL_REQUEST"
ENV_JOB_ID = "HEALER_JOB_ID"
ENV_JOB_NAME = "HEALER_JOB_NAME"
ENV_FAILING_STEP = "HEALER_FAILING_STEP"
ENV_PROMPT_KEY = "HEALER_PROMPT_KEY"
ENV_CONTEXT_KEY = "HEALER_CONTEXT_KEY"
ENV_LOG_KEY = "HEALER_LOG_KEY"
ENV_PROMPT_TRUNCATED = "HEALER_PROMPT_TRUNCATED"


class _Closed(BaseModel):
    """A CRD object: no field the schema does not list, and no type coercion ("1" is no int)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class CliConfig(_Closed):
    cliType: str
    model: str
    settings: dict[str, Any] | None = None  # free-form in the CRD
    maxTokens: int | None = Field(default=None, ge=-(2**31), lt=2**31)
    temperature: float | None = None
    modelRotation: list[str] | None = None


class EnvFromSecret(_Closed):
    name: str
    secretName: str
    secretKey: str


class LinearIntegration(_Closed):
    sessionId: str | None = None
    issueId: str | None = None
    teamId: str | None = None
    enabled: bool | None = None


class CodeRunSpec(_Closed):
    """``spec``: six required strings; ``taskId`` (an integer) only for implementation runs."""

    service: str
    repositoryUrl: str
    docsRepositoryUrl: str
    workingDirectory: str
    model: str
    githubApp: str
    runType: RunType | None = None  # the CRD defaults it to implementation
    taskId: int | None = None
    skillsUrl: str | None = None
    docsProjectDirectory: str | None = None
    docsBranch: str | None = None
    githubUser: str | None = None
    localTools: str | None = None
    remoteTools: str | None = None
    contextVersion: int | None = None
    promptModification: str | None = None
    continueSession: bool | None = None
    overwriteMemory: bool | None = None
    env: dict[str, str] | None = None
    envFromSecrets: list[EnvFromSecret] | None = None
    enableDocker: bool | None = None
    taskRequirements: str | None = None
    serviceAccountName: str | None = None
    cliConfig: CliConfig | None = None
    linearIntegration: LinearIntegration | None = None

    @model_validator(mode="after")
    def _task_for_implementation(self) -> CodeRunSpec:
        if (self.runType or "implementation") == "implementation" and self.taskId is None:
            raise ValueError("taskId (an integer) is required for implementation runs")
        return self


class Condition(_Closed):
    type: str
    status: str
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class CodeRunStatus(_Closed):
    """``status``: what the platform's controller reports. No summary, no commit list."""

    phase: str | None = None  # Pending | Running | Succeeded | Failed
    message: str | None = None
    lastUpdate: str | None = None
    jobName: str | None = None
    pullRequestUrl: str | None = None
    remediationStatus: str | None = None
    qaStatus: str | None = None
    retryCount: int | None = None
    conditions: list[Condition] | None = None
    configmapName: str | None = None
    contextVersion: int | None = None
    promptModification: str | None = None
    promptMode: str | None = None
    sessionId: str | None = None
    finishedAt: str | None = None
    expireAt: str | None = None
    cleanupCompletedAt: str | None = None
    workCompleted: bool | None = None


class ObjectMeta(BaseModel):
    """The part of ``metadata`` Healer writes; the API server adds more (uid, resourceVersion,
    managedFields…), which the core ObjectMeta type allows, so reading keeps them."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, defer_build=True)

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class CodeRun(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    apiVersion: Literal["agents.platform/v1"]
    kind: Literal["CodeRun"]
    metadata: ObjectMeta
    spec: CodeRunSpec
    status: CodeRunStatus | None = None

    def manifest(self) -> dict[str, Any]:
        """The object as sent to the API server (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def validate_coderun(obj: Any) -> CodeRun:
    """``obj`` as a :class:`CodeRun`, or ``InvalidInput`` naming every field that is wrong."""
    try:
        return CodeRun.model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'object'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput(f"not a valid {KIND}: {problems}") from exc
