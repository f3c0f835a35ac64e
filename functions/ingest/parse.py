"""Webhook payload → the data of ``failure.detected`` / ``alert.detected``, or a skip with a reason.

Payload dicts are built with the model field names directly (no pydantic here: it would more
than double ingest's cold start); the tests validate every result with the models.
"""

from __future__ import annotations

import re
from typing import Any

from functions.ingest.alerts import parse_alert
from functions.ingest.fields import (
    at,
    integer,
    numbers,
    obj,
    optional_integer,
    repository,
    required_text,
    shown,
    text,
)
from functions.ingest.finding import Finding
from healer.runtime import Skip
from healer.vocabulary import AlertKind, EventType

__all__ = ["Finding", "event_name_of", "parse"]

CI_EVENTS = ("workflow_job", "workflow_run", "check_run", "check_suite")
ALERT_EVENTS = frozenset(kind.value for kind in AlertKind)
ACTIONS_APP = "github-actions"
_ACTIONS_JOB_URL = re.compile(r"/actions/runs/(\d{1,19})/job/(\d{1,19})")


def event_name_of(payload: dict[str, Any]) -> str:
    """The event a payload is, from its shape, for senders that dropped ``X-GitHub-Event``."""
    for name in CI_EVENTS:
        if isinstance(payload.get(name), dict):
            return name
    alert = payload.get("alert")
    if isinstance(alert, dict):
        if "secret_type" in alert:
            return AlertKind.SECRET_SCANNING.value
        if "rule" in alert or "tool" in alert:
            return AlertKind.CODE_SCANNING.value
        if "security_advisory" in alert or "dependency" in alert:
            return AlertKind.DEPENDABOT.value
    if "zen" in payload and "hook_id" in payload:
        return "ping"
    return ""


def parse(event_name: str, payload: dict[str, Any]) -> Finding | Skip:
    name = event_name or event_name_of(payload)
    if name == "ping":
        return Skip("ping: the webhook is set up; nothing to do")
    if name in CI_EVENTS:
        return _ci(name, payload)
    if name in ALERT_EVENTS:
        return parse_alert(AlertKind(name), payload)
    return Skip(f"event {shown(name) or '(unknown)'} is not one Healer handles")


def _failed(name: str, action: str, conclusion: Any) -> Skip | None:
    if action != "completed":
        return Skip(f"{name} {shown(action) or '(no action)'}: not completed")
    if conclusion is None:
        return Skip(f"{name} completed without a conclusion: not a failure")
    if conclusion != "failure":
        return Skip(f"{name} concluded {shown(conclusion)}: not a failure")
    return None


def _common(name: str, payload: dict[str, Any], repo: str) -> dict[str, Any]:
    return {
        "repository": repo,
        "event": name,
        "conclusion": "failure",
        "sender": text(at(payload, "sender", "login")),
        "installation_id": optional_integer(at(payload, "installation", "id")),
        "delivery_id": "",
        "archive_key": "",
        "default_branch": text(at(payload, "repository", "default_branch")),
    }


def _ci(name: str, payload: dict[str, Any]) -> Finding | Skip:
    body = payload.get(name)
    if not isinstance(body, dict):
        return Skip(f"{name} payload has no '{name}' object")
    skip = _failed(name, text(payload.get("action")), body.get("conclusion"))
    if skip is not None:
        return skip
    repo = repository(payload)
    data = _common(name, payload, repo)
    sender = obj(payload.get("sender"))
    base = {
        "sender_login": text(sender.get("login")),
        "sender_type": text(sender.get("type")),
    }
    if name == "workflow_job":
        run_id = integer(body.get("run_id"), "workflow_job.run_id")
        attempt = optional_integer(body.get("run_attempt")) or 1
        job_id = integer(body.get("id"), "workflow_job.id")
        data.update(
            run_id=run_id,
            run_attempt=attempt,
            job_id=job_id,
            job_name=text(body.get("name")),
            workflow_name=text(body.get("workflow_name")),
            head_sha=required_text(body.get("head_sha"), "workflow_job.head_sha"),
            head_branch=text(body.get("head_branch")),
            html_url=text(body.get("html_url")),
            pull_requests=[],
        )
        identity: tuple[object, ...] = ("job", repo, job_id, attempt)
        return Finding(
            EventType.FAILURE_DETECTED,
            data,
            repo,
            run_id,
            attempt,
            identity,
            branch=data["head_branch"],
            **base,
        )
    if name == "workflow_run":
        run_id = integer(body.get("id"), "workflow_run.id")
        attempt = optional_integer(body.get("run_attempt")) or 1
        data.update(
            run_id=run_id,
            run_attempt=attempt,
            job_id=None,
            job_name="",
            workflow_name=text(body.get("name")),
            head_sha=required_text(body.get("head_sha"), "workflow_run.head_sha"),
            head_branch=text(body.get("head_branch")),
            html_url=text(body.get("html_url")),
            pull_requests=numbers(body.get("pull_requests")),
        )
        return Finding(
            EventType.FAILURE_DETECTED,
            data,
            repo,
            run_id,
            attempt,
            ("run", repo, run_id, attempt),
            branch=data["head_branch"],
            commit_message=text(at(body, "head_commit", "message")),
            fork_head=_fork_head(repo, payload, obj(body.get("head_repository"))),
            **base,
        )
    if name == "check_run":
        return _check_run(payload, body, repo, data, base)
    return _check_suite(payload, body, repo, data, base)


def _fork_head(repo: str, payload: dict[str, Any], head: dict[str, Any]) -> str:
    """The head repository's name when it is not the repository the run belongs to."""
    head_name = text(head.get("full_name"))
    if head_name and head_name != repo:
        return head_name
    if head.get("fork") is True and at(payload, "repository", "fork") is not True:
        return head_name or "(a fork)"
    return ""


def _fork_from_pulls(pulls: Any) -> str:
    """Check payloads list PRs with head/base repo ids only; differing ids mean a fork."""
    for pull in pulls if isinstance(pulls, list) else ():
        head_id = at(pull, "head", "repo", "id")
        base_id = at(pull, "base", "repo", "id")
        if head_id is not None and base_id is not None and head_id != base_id:
            return text(at(pull, "head", "repo", "name")) or "(a fork)"
    return ""


def _check_run(
    payload: dict[str, Any],
    body: dict[str, Any],
    repo: str,
    data: dict[str, Any],
    base: dict[str, str],
) -> Finding | Skip:
    """A GitHub Actions check run: its run and job from the details URL, else (a URL that does
    not carry the run) from its id, which is its job's id; classify then resolves the run
    with ``GET /repos/{o}/{r}/actions/jobs/{id}``, as it resolves a check suite's."""
    match = None
    for url_field in ("details_url", "html_url"):
        match = _ACTIONS_JOB_URL.search(text(body.get(url_field)))
        if match:
            break
    check_id = optional_integer(body.get("id"))
    suite = obj(body.get("check_suite"))
    if match is not None:
        run_id, job_id = int(match.group(1)), int(match.group(2))
    else:
        app = text(at(body, "app", "slug")) or text(at(suite, "app", "slug"))
        if app != ACTIONS_APP or not check_id:
            shown_app = shown(app) or "(none)"
            return Skip(
                f"check_run {check_id} is not a GitHub Actions job (app {shown_app}, no run URL)"
            )
        run_id, job_id = 0, check_id
    pulls = body.get("pull_requests") or suite.get("pull_requests")
    data.update(
        run_id=run_id,
        run_attempt=1,
        job_id=job_id,
        job_name=text(body.get("name")),
        workflow_name="",
        head_sha=required_text(body.get("head_sha"), "check_run.head_sha"),
        head_branch=text(suite.get("head_branch")),
        html_url=text(body.get("html_url")),
        pull_requests=numbers(pulls),
    )
    subject_run: int | str = run_id or f"job-{job_id}"
    return Finding(
        EventType.FAILURE_DETECTED,
        data,
        repo,
        subject_run,
        1,
        ("check_run", repo, check_id, job_id),
        branch=data["head_branch"],
        fork_head=_fork_from_pulls(pulls),
        **base,
    )


def _check_suite(
    payload: dict[str, Any],
    body: dict[str, Any],
    repo: str,
    data: dict[str, Any],
    base: dict[str, str],
) -> Finding | Skip:
    suite_id = integer(body.get("id"), "check_suite.id")
    app = text(at(body, "app", "slug"))
    if app != ACTIONS_APP:
        return Skip(f"check_suite {suite_id} belongs to app {shown(app) or '(none)'}, not Actions")
    run_id = optional_integer(body.get("workflow_run_id")) or 0
    head_sha = required_text(body.get("head_sha"), "check_suite.head_sha")
    data.update(
        run_id=run_id,
        run_attempt=1,
        job_id=None,
        job_name="",
        workflow_name="",
        head_sha=head_sha,
        head_branch=text(body.get("head_branch")),
        html_url=text(body.get("url")),
        pull_requests=numbers(body.get("pull_requests")),
        check_suite_id=suite_id,
    )
    subject_run: int | str = run_id or f"suite-{suite_id}"
    return Finding(
        EventType.FAILURE_DETECTED,
        data,
        repo,
        subject_run,
        1,
        ("check_suite", repo, suite_id, head_sha),
        branch=data["head_branch"],
        commit_message=text(at(body, "head_commit", "message")),
        fork_head=_fork_from_pulls(body.get("pull_requests")),
        **base,
    )
