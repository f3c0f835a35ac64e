"""Each filter refuses with a reason of its own, and only when its setting says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.ingest.filters import check
from functions.ingest.parse import Finding, parse
from healer.settings import Settings

Load = Callable[[str], dict[str, Any]]


def finding(payload: dict[str, Any], name: str) -> Finding:
    result = parse(name, payload)
    assert isinstance(result, Finding)
    return result


def reason(payload: dict[str, Any], name: str, **settings: Any) -> str | None:
    skip = check(finding(payload, name), Settings(**settings))
    return None if skip is None else skip.reason


@pytest.fixture
def job(delivery: Load) -> dict[str, Any]:
    result: dict[str, Any] = delivery("workflow_job-failure")["body"]
    return result


@pytest.fixture
def run(delivery: Load) -> dict[str, Any]:
    result: dict[str, Any] = delivery("workflow_run-failure")["body"]
    return result


def test_a_plain_failure_passes_every_filter(job: dict[str, Any], run: dict[str, Any]) -> None:
    assert reason(job, "workflow_job") is None
    assert reason(run, "workflow_run") is None


def test_bot_sender_by_type_and_by_login(job: dict[str, Any], delivery: Load) -> None:
    assert reason(delivery("workflow_job-bot")["body"], "workflow_job") == (
        "sender dependabot[bot] is a bot"
    )
    job["sender"] = {"login": "renovate[bot]", "type": "User"}
    assert reason(job, "workflow_job") == "sender renovate[bot] is a bot"
    job["sender"] = {"login": "healer-app", "type": "Bot"}
    assert reason(job, "workflow_job") == "sender healer-app is a bot"


def test_bots_allowed_when_ignore_bots_is_off(delivery: Load) -> None:
    assert reason(delivery("workflow_job-bot")["body"], "workflow_job", ignore_bots=False) is None


def test_alerts_from_github_apps_are_not_bot_skipped(delivery: Load) -> None:
    alert = delivery("code_scanning_alert")["body"]
    assert alert["sender"]["type"] == "Bot"
    assert reason(alert, "code_scanning_alert") is None


@pytest.mark.parametrize("marker", ["[skip-healer]", "[healer skip]", "[Skip-Healer]"])
def test_skip_marker_in_head_commit_message(run: dict[str, Any], marker: str) -> None:
    run["workflow_run"]["head_commit"]["message"] = f"Try a thing {marker}\n\nbody"
    assert reason(run, "workflow_run") == f"head commit message contains {marker.lower()}"


def test_skip_marker_in_check_suite_head_commit(delivery: Load) -> None:
    suite = delivery("check_suite-failure")["body"]
    suite["check_suite"]["head_commit"]["message"] = "wip [healer skip]"
    assert reason(suite, "check_suite") == "head commit message contains [healer skip]"


def test_repository_allow_list_globs(job: dict[str, Any]) -> None:
    assert reason(job, "workflow_job", repo_allow=("acme/*",)) is None
    assert reason(job, "workflow_job", repo_allow=("ACME/Widgets",)) is None
    assert reason(job, "workflow_job", repo_allow=("other/*", "acme/web*")) == (
        "repository acme/widgets is not in the allow-list"
    )


def test_allow_list_applies_to_alerts(delivery: Load) -> None:
    alert = delivery("dependabot_alert")["body"]
    assert reason(alert, "dependabot_alert", repo_allow=("acme/api",)) is not None


def test_branch_include_and_exclude(job: dict[str, Any]) -> None:
    assert reason(job, "workflow_job", branch_include=("feature/*",)) is None
    assert reason(job, "workflow_job", branch_include=("main", "release/*")) == (
        "branch feature/parser matches none of the include patterns"
    )
    assert reason(job, "workflow_job", branch_exclude=("feature/*",)) == (
        "branch feature/parser matches an exclude pattern"
    )
    assert reason(job, "workflow_job", branch_exclude=("dependabot/*",)) is None


def test_fork_pull_requests_refused_unless_allowed(delivery: Load) -> None:
    fork = delivery("workflow_run-fork")["body"]
    refused = reason(fork, "workflow_run")
    assert refused is not None and "mallory/webapp is a fork" in refused
    assert reason(fork, "workflow_run", allow_fork_prs=True) is None


def test_first_refusal_wins(delivery: Load) -> None:
    bot = delivery("workflow_job-bot")["body"]
    assert reason(bot, "workflow_job", repo_allow=("x/*",)) == (
        "repository acme/widgets is not in the allow-list"
    )
