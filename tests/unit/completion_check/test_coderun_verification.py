"""completion-check believes a CodeRun update only once it has checked it: the CodeRun exists
in the outbox spawn wrote it to, is Healer's, and runs an attempt Healer started under that
name. What the agent pushed comes from GitHub (recorded answers plus the push ledger)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cloudevents.http import CloudEvent
from completion_fixtures import (
    BRANCH,
    REPO,
    TASK,
    agent_done,
    checker,
    ci_done,
    coderun,
    push,
    record,
    services,
    start,
)
from event_data import data_of

from healer.errors import InvalidInput
from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import GitHubUnavailable
from healer.runtime import Skip
from healer.services import Services
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, FAILURES_KEY
from healer.vocabulary import EventType
from healer_dev.broker.finish import coderun_update, fix_commit

NAME = f"healer-{TASK}-a1"


def _write_outbox(svc: Services, obj: dict[str, Any]) -> None:
    path = Path(svc.settings.coderun_outbox) / f"{obj['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(obj), encoding="utf-8")


def _forged(svc: Services, name: str, **labels: str) -> dict[str, Any]:
    """A copy of attempt 1's CodeRun under another name (with some labels replaced)."""
    obj = copy.deepcopy(coderun(svc))
    obj["metadata"]["name"] = name
    obj["metadata"]["labels"].update(labels)
    return obj


def _reason(reply: object) -> str:
    assert isinstance(reply, Skip), reply
    return reply.reason


def _unchanged(svc: Services, active: str = "1") -> None:
    assert svc.state.get(ACTIVE_KEY) == active
    assert svc.state.get(FAILURES_KEY) is None and svc.state.get(BREAKER_KEY) is None
    entry = record(svc)["attempts"][0]
    assert entry.get("agent_result") is None and not entry.get("outcome")


def test_an_update_for_a_coderun_the_outbox_does_not_hold_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    ghost = coderun_update(_forged(svc, "healer-acme-widgets-7001-a9"), "Failed")
    assert "does not exist in the outbox" in _reason(checker(svc)(ghost))
    _unchanged(svc)


def test_an_update_for_a_coderun_that_is_not_healers_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    foreign = _forged(svc, "someone-else", **{"app.kubernetes.io/managed-by": "argo"})
    _write_outbox(svc, foreign)
    assert "is not Healer's" in _reason(checker(svc)(coderun_update(foreign, "Failed")))
    _unchanged(svc)


def test_the_stored_labels_count_not_the_ones_in_the_update(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    foreign = _forged(svc, "someone-else", **{"app.kubernetes.io/managed-by": "argo"})
    _write_outbox(svc, foreign)
    claimed = coderun_update(foreign, "Failed")
    data = data_of(claimed)
    data["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "healer"  # the update lies
    reply = checker(svc)(CloudEvent(dict(claimed.get_attributes()), data))
    assert "is not Healer's" in _reason(reply)
    _unchanged(svc)


def test_a_healer_coderun_that_does_not_run_the_attempt_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    twin = _forged(svc, "healer-acme-widgets-7001-twin")  # same task and attempt annotations
    _write_outbox(svc, twin)
    reason = _reason(checker(svc)(coderun_update(twin, "Failed")))
    assert f"attempt 1 runs CodeRun {NAME}, not healer-acme-widgets-7001-twin" in reason
    _unchanged(svc)


def test_a_coderun_of_a_task_healer_has_no_record_of_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    other = _forged(svc, "healer-acme-other-1-a1")
    other["metadata"]["annotations"]["healer.dev/task-id"] = "acme-other-1"
    _write_outbox(svc, other)
    assert "no task record acme-other-1" in _reason(checker(svc)(coderun_update(other, "Failed")))
    _unchanged(svc)


def test_an_attempt_healer_did_not_start_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    later = _forged(svc, "healer-acme-widgets-7001-a2", **{"healer.dev/attempt": "2"})
    _write_outbox(svc, later)
    assert "has no attempt 2" in _reason(checker(svc)(coderun_update(later, "Failed")))
    _unchanged(svc)


def test_five_forged_failures_leave_the_breaker_closed_and_the_slots_alone(
    tmp_path: Path,
) -> None:
    svc = services(tmp_path, breaker_threshold=2)
    start(svc)
    check = checker(svc)
    foreign = _forged(svc, "foreign-run", **{"app.kubernetes.io/name": "other"})
    twin = _forged(svc, "healer-acme-widgets-7001-twin")
    later = _forged(svc, "healer-acme-widgets-7001-a2", **{"healer.dev/attempt": "2"})
    for obj in (foreign, twin, later):
        _write_outbox(svc, obj)
    ghost = _forged(svc, "healer-acme-widgets-7001-ghost")
    running = data_of(coderun_update(coderun(svc), "Failed"))
    running["status"]["phase"] = "Running"
    forged = [coderun_update(obj, "Failed") for obj in (foreign, twin, later, ghost)]
    forged.append(CloudEvent(dict(forged[0].get_attributes()), running))
    reasons = [_reason(check(event)) for event in forged]
    assert len(set(reasons)) == 5  # each refusal says why
    _unchanged(svc)
    assert record(svc)["status"] == "running"


@pytest.mark.parametrize(
    "data",
    [["not", "an", "object"], {"kind": "CodeRun", "metadata": {"name": "../../etc/passwd"}}],
)
def test_a_malformed_update_is_invalid_input(tmp_path: Path, data: Any) -> None:
    svc = services(tmp_path)
    event = CloudEvent(
        {"type": EventType.APISERVER_UPDATE.value, "source": "https://k", "id": "1"}, data
    )
    with pytest.raises(InvalidInput):
        checker(svc)(event)


def test_a_succeeded_run_that_pushed_nothing_fails_the_attempt(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    reply = checker(svc)(agent_done(svc, pushed=False))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_RETRY
    assert "without pushing a commit" in data_of(reply)["reason"]
    assert record(svc)["attempts"][0]["agent_result"]["commits"] == []


def test_commits_come_from_github_and_ci_must_pass_on_the_last(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    first = "1" * 40
    push(svc, first)
    last = fix_commit(NAME)
    check(agent_done(svc, sha=last))  # pushes ``last`` on top of ``first``
    assert record(svc)["attempts"][0]["agent_result"]["commits"] == [first, last]
    early = check(ci_done(sha=first))
    assert isinstance(early, Skip) and "waiting" in early.reason  # CI of an earlier commit
    reply = check(ci_done(sha=last))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_SUCCEEDED
    assert data_of(reply)["commits"] == [first, last]


def test_the_start_commit_bounds_what_counts_as_the_agents(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc, 1)
    check = checker(svc)
    check(agent_done(svc, 1, phase="Failed"))
    push(svc, "2" * 40)  # somebody pushed between the attempts
    start(svc, 2)  # attempt 2 starts at the branch head, "222…"
    assert record(svc)["attempts"][1]["start_sha"] == "2" * 40
    check(agent_done(svc, 2))
    commits = record(svc)["attempts"][1]["agent_result"]["commits"]
    assert commits == [fix_commit(f"healer-{TASK}-a2")]


def test_without_a_start_commit_the_commits_since_the_start_count(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc, started="2025-01-02T03:00:00Z")
    raw = record(svc)
    raw["attempts"][0]["start_sha"] = ""  # neither branch was on GitHub at spawn time
    svc.state.set_json(f"task:{TASK}", raw)
    old = "3" * 40
    from completion_fixtures import ledger

    ledger(svc).push(REPO, BRANCH, sha=old, message="before", date="2025-01-01T00:00:00Z")
    check = checker(svc)
    check(agent_done(svc))
    assert record(svc)["attempts"][0]["agent_result"]["commits"] == [fix_commit(NAME)]


def _down(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"message": "unicorn"})


def test_a_github_outage_while_reading_the_commits_is_retryable(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    update = agent_done(svc)
    svc._github = GitHubClient(
        auth=TokenAuth("t"), transport=httpx.MockTransport(_down), sleep=lambda _: None
    )
    with pytest.raises(GitHubUnavailable) as caught:
        checker(svc)(update)
    assert caught.value.status == 503
    _unchanged(svc)
    svc._github = None  # GitHub is back: the broker's retry decides the attempt
    check = checker(svc)
    check(update)
    reply = check(ci_done())
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_SUCCEEDED
