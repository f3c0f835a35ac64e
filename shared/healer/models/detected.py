"""What ingest emits: a failed CI run or job, or a security alert."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer.models.base import Payload
from healer.models.identity import (
    Attempt,
    Id,
    Key,
    OptionalBranch,
    Repository,
    RunId,
    Sha,
    Token,
    Url,
)
from healer.vocabulary import AlertKind


class FailureDetected(Payload):
    """``dev.healer.failure.detected``: a workflow run (or one of its jobs) failed.

    ``job_id`` is set for ``workflow_job`` and ``check_run`` (parsed from the check run's
    ``/actions/runs/<run>/job/<job>`` URL); for ``workflow_run`` classify lists the run's failed
    jobs. A ``check_suite`` payload names no workflow run: then ``run_id`` is 0,
    ``check_suite_id`` is set and classify resolves the run with ``list_runs(head_sha=...)``.
    """

    repository: Repository = Field(description="owner/name")
    event: Literal["workflow_job", "workflow_run", "check_run", "check_suite"]
    run_id: RunId
    run_attempt: Attempt = 1
    job_id: Id | None = None
    job_name: str = ""
    workflow_name: str = ""
    conclusion: str = "failure"
    head_sha: Sha
    head_branch: OptionalBranch = ""
    html_url: Url = ""
    pull_requests: list[Id] = Field(default_factory=list)
    sender: str = ""
    installation_id: Id | None = None
    delivery_id: Token = ""
    archive_key: Key = ""
    default_branch: OptionalBranch = ""
    check_suite_id: Id | None = None


class AlertDetected(Payload):
    """``dev.healer.alert.detected``: a Dependabot, code-scanning or secret-scanning alert.

    Never carries a secret's value: only its type and where it was found.
    """

    repository: Repository
    kind: AlertKind
    alert_number: Id
    action: str = "created"
    severity: str = ""
    summary: str = ""
    html_url: Url = ""
    ref: OptionalBranch = ""
    # Dependabot
    ecosystem: str = ""
    package: str = ""
    manifest_path: str = ""
    vulnerable_range: str = ""
    patched_version: str = ""
    ghsa_id: str = ""
    cve_id: str = ""
    # Code scanning
    rule_id: str = ""
    tool: str = ""
    location_path: str = ""
    location_line: int | None = None
    # Secret scanning
    secret_type: str = ""
    secret_type_display_name: str = ""
    sender: str = ""
    installation_id: Id | None = None
    delivery_id: Token = ""
    archive_key: Key = ""
