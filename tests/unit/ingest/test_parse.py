"""Payloads → detected-event data (validated with the models) or a skip with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.ingest.parse import Finding, event_name_of, parse
from healer.errors import InvalidInput
from healer.models import AlertDetected, FailureDetected
from healer.runtime import Skip
from healer.vocabulary import AlertKind, EventType

Load = Callable[[str], dict[str, Any]]


def found(name: str, payload: dict[str, Any]) -> Finding:
    result = parse(name, payload)
    assert isinstance(result, Finding), result
    return result


def skipped(name: str, payload: dict[str, Any]) -> str:
    result = parse(name, payload)
    assert isinstance(result, Skip), result
    return result.reason


def test_workflow_job_failure(delivery: Load) -> None:
    finding = found("workflow_job", delivery("workflow_job-failure")["body"])
    model = FailureDetected.model_validate(finding.data)
    assert model.event == "workflow_job"
    assert (model.repository, model.run_id, model.run_attempt) == ("acme/widgets", 7001, 1)
    assert (model.job_id, model.job_name, model.workflow_name) == (90001, "test", "CI")
    assert model.head_sha == "3f786850e387550fdab836ed7e6dc881de23001b"
    assert model.head_branch == "feature/parser"
    assert model.installation_id == 4242
    assert model.default_branch == "main"
    assert finding.identity == ("job", "acme/widgets", 90001, 1)
    assert finding.branch == "feature/parser"


def test_workflow_job_rerun_keeps_attempt(delivery: Load) -> None:
    finding = found("workflow_job", delivery("workflow_job-python-failure")["body"])
    model = FailureDetected.model_validate(finding.data)
    assert (model.run_id, model.run_attempt, model.job_id) == (7003, 2, 90004)
    assert finding.attempt == 2
    assert model.pull_requests == []


def test_workflow_run_failure(delivery: Load) -> None:
    finding = found("workflow_run", delivery("workflow_run-failure")["body"])
    model = FailureDetected.model_validate(finding.data)
    assert (model.event, model.run_id, model.job_id) == ("workflow_run", 7002, None)
    assert model.workflow_name == "Frontend"
    assert model.pull_requests == [17]
    assert finding.commit_message.startswith("Validate the login form")
    assert finding.fork_head == ""


def test_workflow_run_from_fork_names_the_fork(delivery: Load) -> None:
    finding = found("workflow_run", delivery("workflow_run-fork")["body"])
    assert finding.fork_head == "mallory/webapp"


def test_head_repository_flagged_fork_of_a_non_fork_is_a_fork(delivery: Load) -> None:
    payload = delivery("workflow_run-failure")["body"]
    payload["workflow_run"]["head_repository"]["fork"] = True
    assert found("workflow_run", payload).fork_head == "acme/webapp"
    payload["repository"]["fork"] = True  # a repository that is itself a fork runs its own CI
    assert found("workflow_run", payload).fork_head == ""


def test_check_suite_resolves_later_by_head_sha(delivery: Load) -> None:
    finding = found("check_suite", delivery("check_suite-failure")["body"])
    model = FailureDetected.model_validate(finding.data)
    assert (model.event, model.run_id, model.check_suite_id) == ("check_suite", 0, 5001)
    assert model.head_sha == "9fceb02d0ae598e95dc970b74767f19372d61af8"
    assert model.pull_requests == [17]
    assert finding.run_id == "suite-5001"


def test_check_suite_of_another_app_is_skipped(delivery: Load) -> None:
    payload = delivery("check_suite-failure")["body"]
    payload["check_suite"]["app"]["slug"] = "circleci"
    assert "not Actions" in skipped("check_suite", payload)


def check_run_payload(delivery: Load, **changes: Any) -> dict[str, Any]:
    job = delivery("workflow_job-failure")["body"]
    check_run = {
        "id": 90001,
        "name": "test",
        "head_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
        "status": "completed",
        "conclusion": "failure",
        "details_url": "https://github.com/acme/widgets/actions/runs/7001/job/90001",
        "html_url": "https://github.com/acme/widgets/runs/90001",
        "check_suite": {"id": 5000, "head_branch": "feature/parser", "pull_requests": []},
        "pull_requests": [],
        **changes,
    }
    return {
        "action": "completed",
        "check_run": check_run,
        **{k: job[k] for k in ("repository", "sender", "installation")},
    }


def test_check_run_uses_the_workflow_run_and_job_from_its_url(delivery: Load) -> None:
    finding = found("check_run", check_run_payload(delivery, id=555))
    model = FailureDetected.model_validate(finding.data)
    assert (model.run_id, model.job_id) == (7001, 90001)  # not the check run id 555
    assert model.head_branch == "feature/parser"


def test_check_run_not_from_actions_is_skipped(delivery: Load) -> None:
    payload = check_run_payload(
        delivery, details_url="https://ci.example/build/1", html_url="https://github.com/x"
    )
    assert "not a GitHub Actions job" in skipped("check_run", payload)


def test_an_actions_check_run_without_a_run_url_is_resolved_later_through_its_job(
    delivery: Load,
) -> None:
    # A check run's id is its job's id; classify asks GitHub for the job's run.
    payload = check_run_payload(
        delivery,
        id=90002,
        details_url="https://github.com/acme/widgets/runs/90002",
        html_url="https://github.com/acme/widgets/runs/90002",
        app={"slug": "github-actions"},
    )
    finding = found("check_run", payload)
    model = FailureDetected.model_validate(finding.data)
    assert (model.event, model.run_id, model.job_id) == ("check_run", 0, 90002)
    assert finding.run_id == "job-90002" and finding.identity[-1] == 90002


def test_a_check_run_of_another_app_without_a_run_url_is_skipped(delivery: Load) -> None:
    payload = check_run_payload(
        delivery,
        details_url="https://ci.example/build/1",
        html_url="https://github.com/x",
        app={"slug": "circleci"},
    )
    assert "not a GitHub Actions job (app circleci" in skipped("check_run", payload)


def test_check_run_from_fork_pull_request(delivery: Load) -> None:
    pulls = [{"number": 9, "head": {"repo": {"id": 2, "name": "w"}}, "base": {"repo": {"id": 1}}}]
    finding = found("check_run", check_run_payload(delivery, pull_requests=pulls))
    assert finding.fork_head == "w"


@pytest.mark.parametrize(
    ("action", "conclusion", "reason"),
    [
        ("in_progress", None, "workflow_job in_progress: not completed"),
        ("queued", None, "workflow_job queued: not completed"),
        ("completed", None, "workflow_job completed without a conclusion"),
        ("completed", "success", "concluded success: not a failure"),
        ("completed", "cancelled", "concluded cancelled: not a failure"),
        ("completed", "skipped", "concluded skipped: not a failure"),
        ("completed", "neutral", "concluded neutral: not a failure"),
    ],
)
def test_non_failures_are_skipped(
    delivery: Load, action: str, conclusion: str | None, reason: str
) -> None:
    payload = delivery("workflow_job-failure")["body"]
    payload["action"] = action
    payload["workflow_job"]["conclusion"] = conclusion
    assert reason in skipped("workflow_job", payload)


def test_missing_conclusion_is_not_a_failure(delivery: Load) -> None:
    payload = delivery("workflow_run-failure")["body"]
    del payload["workflow_run"]["conclusion"]
    assert "without a conclusion" in skipped("workflow_run", payload)


def test_examples_that_are_not_failures(delivery: Load) -> None:
    assert "success" in skipped("workflow_job", delivery("workflow_job-success")["body"])
    assert "in_progress" in skipped("workflow_job", delivery("workflow_job-in_progress")["body"])


def test_dependabot_alert(delivery: Load) -> None:
    finding = found("dependabot_alert", delivery("dependabot_alert")["body"])
    model = AlertDetected.model_validate(finding.data)
    assert model.kind is AlertKind.DEPENDABOT
    assert (model.alert_number, model.package, model.ecosystem) == (3, "toml-edit-lite", "rust")
    assert (model.vulnerable_range, model.patched_version) == ("< 0.9.4", "0.9.4")
    assert model.ghsa_id == "GHSA-4xq8-v2hj-7mqx"
    assert model.manifest_path == "Cargo.lock"
    assert finding.event_type is EventType.ALERT_DETECTED
    assert finding.failure_type == "security_dependabot"


def test_code_scanning_alert(delivery: Load) -> None:
    finding = found("code_scanning_alert", delivery("code_scanning_alert")["body"])
    model = AlertDetected.model_validate(finding.data)
    assert model.kind is AlertKind.CODE_SCANNING
    assert (model.rule_id, model.tool, model.severity) == (
        "rust/cleartext-logging",
        "CodeQL",
        "high",
    )
    assert (model.location_path, model.location_line) == ("src/auth/session.rs", 57)
    assert model.ref == "refs/heads/main"
    assert finding.failure_type == "security_code_scan"


def test_secret_scanning_alert_never_carries_the_secret(delivery: Load) -> None:
    payload = delivery("secret_scanning_alert")["body"]
    secret = payload["alert"]["secret"]
    finding = found("secret_scanning_alert", payload)
    model = AlertDetected.model_validate(finding.data)
    assert model.kind is AlertKind.SECRET_SCANNING
    assert model.secret_type == "npm_access_token"
    assert secret not in repr(finding)
    assert finding.failure_type == "security_secret"


@pytest.mark.parametrize("action", ["fixed", "dismissed", "resolved", "auto_dismissed", "revoked"])
@pytest.mark.parametrize(
    "kind", ["dependabot_alert", "code_scanning_alert", "secret_scanning_alert"]
)
def test_closing_alert_actions_are_skipped(delivery: Load, kind: str, action: str) -> None:
    payload = delivery(kind)["body"]
    payload["action"] = action
    assert "not a new or reopened alert" in skipped(kind, payload)


@pytest.mark.parametrize("action", ["reopened", "reintroduced", "auto_reopened"])
def test_reopening_alert_actions_are_detected(delivery: Load, action: str) -> None:
    payload = delivery("dependabot_alert")["body"]
    payload["action"] = action
    assert AlertDetected.model_validate(found("dependabot_alert", payload).data).action == action


@pytest.mark.parametrize(
    "name",
    [
        "workflow_job-failure",
        "workflow_run-failure",
        "check_suite-failure",
        "dependabot_alert",
        "code_scanning_alert",
        "secret_scanning_alert",
    ],
)
def test_event_name_from_payload_shape(delivery: Load, name: str) -> None:
    file = delivery(name)
    assert event_name_of(file["body"]) == file["headers"]["X-GitHub-Event"]


def test_ping_and_unknown_events_are_skipped() -> None:
    assert "ping" in skipped("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert "ping" in skipped("", {"zen": "z", "hook_id": 1})
    assert "event push is not one Healer handles" in skipped("push", {"ref": "refs/heads/main"})
    assert "(unknown)" in skipped("", {"hello": "world"})


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("workflow_job", "run_id"), "7001", "workflow_job.run_id must be an integer"),
        (("workflow_job", "id"), True, "workflow_job.id must be an integer"),
        (("workflow_job", "head_sha"), None, "workflow_job.head_sha must be a non-empty string"),
        (("repository", "full_name"), "not a repo", "repository.full_name must be 'owner/name'"),
        (("repository", "full_name"), "acme/w\nx", "repository.full_name must be 'owner/name'"),
    ],
)
def test_wrong_field_types_are_invalid_input(
    delivery: Load, path: tuple[str, str], value: object, message: str
) -> None:
    payload = delivery("workflow_job-failure")["body"]
    payload[path[0]][path[1]] = value
    with pytest.raises(InvalidInput, match=message):
        parse("workflow_job", payload)


def test_reasons_are_single_line_and_bounded(delivery: Load) -> None:
    payload = delivery("workflow_job-failure")["body"]
    payload["workflow_job"]["conclusion"] = "weird\r\nX-Injected: 1" + "x" * 500
    reason = skipped("workflow_job", payload)
    assert "\n" not in reason and "\r" not in reason
    assert len(reason) < 200
