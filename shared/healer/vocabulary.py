"""Every CloudEvent type, source and extension name Healer speaks, in one place.

The Trigger manifests in ``knative/`` must agree with this module; a test checks that.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

PREFIX = "dev.healer."


class EventType(StrEnum):
    """CloudEvent ``type`` attributes, inputs and outputs of the stages."""

    GITHUB_WEBHOOK = "dev.healer.github.webhook"
    FAILURE_DETECTED = "dev.healer.failure.detected"
    ALERT_DETECTED = "dev.healer.alert.detected"
    FAILURE_CLASSIFIED = "dev.healer.failure.classified"
    CONTEXT_GATHERED = "dev.healer.context.gathered"
    REMEDIATION_STARTED = "dev.healer.remediation.started"
    REMEDIATION_SKIPPED = "dev.healer.remediation.skipped"
    REMEDIATION_SUCCEEDED = "dev.healer.remediation.succeeded"
    REMEDIATION_RETRY = "dev.healer.remediation.retry"
    REMEDIATION_EXHAUSTED = "dev.healer.remediation.exhausted"
    REMEDIATION_ESCALATED = "dev.healer.remediation.escalated"
    APISERVER_UPDATE = "dev.knative.apiserver.resource.update"
    PING = "dev.knative.sources.ping"


class Stage(StrEnum):
    """Function names; the Knative Service of each is the value."""

    INGEST = "ingest"
    CLASSIFY = "classify"
    GATHER = "gather"
    SPAWN = "spawn"
    COMPLETION_CHECK = "completion-check"
    ESCALATE = "escalate"
    STATUS = "status"


class SkipCode(StrEnum):
    """Why spawn skipped (``remediation.skipped`` ``code``), for machines; the docs list these
    (a test checks they agree)."""

    IGNORE = "ignore"  # the verdict asks for no remediation
    UNSURE = "unsure"  # the verdict is below min_confidence
    MAX_ATTEMPTS = "max_attempts"  # the attempt is past max_attempts
    REPOSITORY = "repository"  # policy: the repository is not allowed
    BRANCH = "branch"  # policy: the branch is not allowed
    FORK = "fork"  # policy: a fork's run
    BREAKER = "breaker"  # lifts: the circuit breaker is open
    BUSY = "busy"  # lifts: another task is still working on the branch
    WINDOW = "window"  # lifts: another task started on the branch within the window
    CONCURRENCY = "concurrency"  # lifts: every CodeRun slot is taken


# Skips whose limit lifts: the task waits and starts when it allows.
LIFTING = frozenset({SkipCode.BREAKER, SkipCode.BUSY, SkipCode.WINDOW, SkipCode.CONCURRENCY})

# Where escalate told GitHub: a comment on the PR, or a new issue.
CommentKind = Literal["comment", "issue"]


def source_of(stage: Stage) -> str:
    """The CE ``source`` a stage stamps on what it emits."""
    return f"healer/{stage.value}"


GITHUB_SOURCE = "https://github.com"

# Extension attributes: lowercase letters and digits only, at most 20 characters.
EXT_REPO = "healerrepo"
EXT_RUN = "healerrun"
EXT_ATTEMPT = "healerattempt"
# The Sensor copies X-GitHub-Event here so Triggers can route by it (they cannot see data).
EXT_GITHUB_EVENT = "githubevent"
EXT_TTL = "knativebrokerttl"
EXT_ERROR_DEST = "knativeerrordest"
EXT_ERROR_CODE = "knativeerrorcode"
EXT_ERROR_DATA = "knativeerrordata"
EXTENSIONS = (EXT_REPO, EXT_RUN, EXT_ATTEMPT)


class FailureType(StrEnum):
    """The failure types users see; each maps to a category and a specialist."""

    RUST_CLIPPY = "rust_clippy"
    RUST_TEST = "rust_test"
    RUST_BUILD = "rust_build"
    RUST_DEPS = "rust_deps"
    FRONTEND_DEPS = "frontend_deps"
    FRONTEND_TYPESCRIPT = "frontend_typescript"
    FRONTEND_LINT = "frontend_lint"
    FRONTEND_TEST = "frontend_test"
    FRONTEND_BUILD = "frontend_build"
    PYTHON_LINT = "python_lint"
    PYTHON_TYPE = "python_type"
    PYTHON_TEST = "python_test"
    PYTHON_DEPS = "python_deps"
    DOCKER_BUILD = "docker_build"
    HELM_TEMPLATE = "helm_template"
    K8S_MANIFEST = "k8s_manifest"
    ARGOCD_SYNC = "argocd_sync"
    YAML_SYNTAX = "yaml_syntax"
    INFRA_NETWORK = "infra_network"
    INFRA_RUNNER = "infra_runner"
    INFRA_IAC = "infra_iac"
    SECURITY_DEPENDABOT = "security_dependabot"
    SECURITY_CODE_SCAN = "security_code_scan"
    SECURITY_SECRET = "security_secret"
    SECURITY_AUDIT = "security_audit"
    GIT_MERGE_CONFLICT = "git_merge_conflict"
    GITHUB_WORKFLOW = "github_workflow"
    GIT_PERMISSION = "git_permission"
    GENERAL = "general"


class Category(StrEnum):
    RUST = "rust"
    FRONTEND = "frontend"
    PYTHON = "python"
    INFRA = "infra"
    SECURITY = "security"
    GIT = "git"
    GENERAL = "general"


def category_of(failure_type: FailureType) -> Category:
    """Category from the type's prefix; the roster maps categories to specialists."""
    head = failure_type.value.split("_", 1)[0]
    return {
        "rust": Category.RUST,
        "frontend": Category.FRONTEND,
        "python": Category.PYTHON,
        "security": Category.SECURITY,
        "git": Category.GIT,
        "github": Category.GIT,
        "general": Category.GENERAL,
    }.get(head, Category.INFRA)


class Action(StrEnum):
    """What a verdict asks for: an agent fix, a GitHub re-run, nothing, or a person's look.

    ``unsure`` is a fix the evidence does not support well enough: spawn starts no agent on it
    unless its confidence reaches the ``min_confidence`` setting.
    """

    FIX = "fix"
    RERUN = "rerun"
    IGNORE = "ignore"
    UNSURE = "unsure"


class AlertKind(StrEnum):
    DEPENDABOT = "dependabot_alert"
    CODE_SCANNING = "code_scanning_alert"
    SECRET_SCANNING = "secret_scanning_alert"


ALERT_FAILURE_TYPE: dict[AlertKind, FailureType] = {
    AlertKind.DEPENDABOT: FailureType.SECURITY_DEPENDABOT,
    AlertKind.CODE_SCANNING: FailureType.SECURITY_CODE_SCAN,
    AlertKind.SECRET_SCANNING: FailureType.SECURITY_SECRET,
}
