"""completion-check's decisions on attempts started by the real spawn stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent
from completion_fixtures import (
    BRANCH,
    REPO,
    TASK,
    agent_done,
    checker,
    ci_done,
    ping,
    record,
    retried_from,
    services,
    start,
)
from event_data import data_of

from healer.errors import InvalidInput, StoreUnavailable
from healer.models import HistoryEntry
from healer.runtime import Skip
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType
from healer_dev.broker.finish import ci_event


def test_agent_ok_then_ci_ok_succeeds_and_frees_the_slot(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    assert svc.state.get(ACTIVE_KEY) == "1"

    first = check(agent_done(svc, message="fixed the nested table parser"))
    assert isinstance(first, Skip) and "waiting for CI" in first.reason
    reply = check(ci_done())

    assert isinstance(reply, CloudEvent)
    assert reply["type"] == EventType.REMEDIATION_SUCCEEDED
    assert reply["source"] == "healer/completion-check" and reply["subject"] == f"{REPO}#7001"
    data = data_of(reply)
    assert (data["task_id"], data["attempt"], data["agent"]) == (TASK, 1, "rex")
    assert data["summary"] == "fixed the nested table parser" and data["commits"]
    task = record(svc)
    assert task["status"] == "succeeded" and task["finished_at"] == "2025-01-02T03:10:00Z"
    (entry,) = task["attempts"]
    assert entry["outcome"] == "succeeded" and entry["commits"] == data["commits"]
    assert svc.state.get(ACTIVE_KEY) == "0"
    (raw,) = svc.state.items("history:fp-rust-nested")
    history = HistoryEntry.model_validate_json(raw)
    assert (history.task_id, history.outcome, history.attempts) == (TASK, "succeeded", 1)


def test_ci_first_then_the_agent_decides_in_either_order(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    waiting = check(ci_done())
    assert isinstance(waiting, Skip) and "waiting for the agent" in waiting.reason
    reply = check(agent_done(svc))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_SUCCEEDED


def test_ci_failing_after_the_agent_succeeded_is_a_failed_attempt(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    check(agent_done(svc))
    reply = check(ci_done(conclusion="failure"))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_RETRY
    assert "CI concluded failure" in data_of(reply)["reason"]


def test_agent_failed_asks_for_attempt_two_with_the_stored_context(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    reply = checker(svc)(agent_done(svc, phase="Failed", message="tests still fail"))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_RETRY
    assert reply["healerattempt"] == "2"
    data = data_of(reply)
    assert data["attempt"] == 2 and "next_agent" not in data  # spawn reads it from the record
    assert "tests still fail" in data["reason"]
    assert data["task_id"] == TASK and retried_from(svc, data).task_id == TASK
    (previous,) = data["previous_attempts"]
    assert (previous["attempt"], previous["agent"], previous["outcome"]) == (1, "rex", "failed")
    task = record(svc)
    assert task["status"] == "retrying" and task["next_agent"] == {"attempt": 2, "agent": "rex"}
    assert svc.state.get(ACTIVE_KEY) == "0"
    assert svc.state.items("history:fp-rust-nested") == []  # only finished tasks


def test_the_same_specialist_failing_twice_hands_over_and_spawn_follows(tmp_path: Path) -> None:
    svc = services(tmp_path)
    check = checker(svc)
    start(svc, 1)
    check(agent_done(svc, 1, phase="Failed"))
    start(svc, 2)
    reply = check(agent_done(svc, 2, phase="Failed"))
    assert isinstance(reply, CloudEvent)
    assert record(svc)["next_agent"] == {"attempt": 3, "agent": "atlas"}  # the fallback
    assert start(svc, 3)["agent"] == "atlas"


def test_a_configured_alternate_takes_over(tmp_path: Path) -> None:
    svc = services(tmp_path, alternate_agent="viper")
    check = checker(svc)
    start(svc, 1)
    check(agent_done(svc, 1, phase="Failed"))
    start(svc, 2)
    reply = check(agent_done(svc, 2, phase="Failed"))
    assert isinstance(reply, CloudEvent)
    assert record(svc)["next_agent"] == {"attempt": 3, "agent": "viper"}


def test_the_last_attempt_failing_is_exhausted(tmp_path: Path) -> None:
    svc = services(tmp_path, max_attempts=2)
    check = checker(svc)
    start(svc, 1)
    check(agent_done(svc, 1, phase="Failed"))
    start(svc, 2)
    reply = check(agent_done(svc, 2, phase="Failed", message="gave up"))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_EXHAUSTED
    data = data_of(reply)
    assert [a["attempt"] for a in data["attempts"]] == [1, 2]
    assert "gave up" in data["last_error"] and data["context"]["task_id"] == TASK
    assert record(svc)["status"] == "exhausted"
    (raw,) = svc.state.items("history:fp-rust-nested")
    assert HistoryEntry.model_validate_json(raw).outcome == "exhausted"


def test_a_redelivery_answers_the_same_event_and_decrements_once(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    svc.state.incr(ACTIVE_KEY, 4)  # other CodeRuns running
    check = checker(svc)
    update = agent_done(svc, phase="Failed")
    first = check(update)
    again = check(update)
    assert isinstance(first, CloudEvent) and isinstance(again, CloudEvent)
    assert again["id"] == first["id"] and data_of(again) == data_of(first)
    assert svc.state.get(ACTIVE_KEY) == "4"
    start(svc, 2)  # the task moved on: a late copy of attempt 1's update changes nothing
    late = check(update)
    assert isinstance(late, Skip) and "moved on" in late.reason
    assert svc.state.get(ACTIVE_KEY) == "5"


def test_the_agent_succeeding_without_a_commit_fails_the_attempt(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    reply = checker(svc)(agent_done(svc, pushed=False))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_RETRY
    assert "without pushing a commit" in data_of(reply)["reason"]


def test_ci_of_another_commit_or_of_an_older_run_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc, started="2999-01-01T00:00:00Z")
    check = checker(svc)
    old = check(ci_done())
    assert isinstance(old, Skip) and "started before attempt 1" in old.reason
    svc2 = services(tmp_path / "two")
    start(svc2)
    check2 = checker(svc2)
    check2(agent_done(svc2, sha="a" * 40))
    other = check2(ci_done(sha="b" * 40))
    assert isinstance(other, Skip) and "not on the agent's commits" in other.reason


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (ci_event("acme/other", "main", "c" * 40, "success", key="k"), "no Healer task"),
        (ci_event(REPO, BRANCH, "c" * 40, "cancelled", key="k2"), "decides nothing"),
    ],
)
def test_unrelated_webhooks_are_skipped_cheaply(
    tmp_path: Path, event: CloudEvent, reason: str
) -> None:
    svc = services(tmp_path)
    reply = checker(svc)(event)
    assert isinstance(reply, Skip) and reason in reply.reason
    assert svc.state.keys("") == []  # nothing written


def test_a_ci_result_for_a_task_with_nothing_running_is_skipped(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    check(agent_done(svc, phase="Failed"))
    reply = check(ci_done())
    assert isinstance(reply, Skip) and "no attempt running" in reply.reason


def test_coderuns_that_are_not_finished_are_skipped_without_a_read(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    check = checker(svc)
    event = agent_done(svc)
    running = data_of(event)
    running["status"] = {"phase": "Running"}
    assert "waiting for it to finish" in _skip(check, event, running)
    assert check.coderuns is None  # nothing was read back for a non-terminal phase
    assert record(svc)["attempts"][0].get("agent_result") is None


def _skip(check: object, event: CloudEvent, data: dict[str, object]) -> str:
    reply = check(CloudEvent(dict(event.get_attributes()), data))  # type: ignore[operator]
    assert isinstance(reply, Skip)
    return reply.reason


def test_the_sweep_times_out_attempts_running_too_long(tmp_path: Path) -> None:
    svc = services(tmp_path, attempt_timeout_mins=60)
    start(svc)
    early = checker(svc, now="2025-01-02T03:59:00Z")(ping("t1"))
    assert isinstance(early, Skip) and "past 60 minutes" in early.reason
    check = checker(svc, now="2025-01-02T04:00:00Z")
    reply = check(ping("t2"))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_RETRY
    assert "timed out" in data_of(reply)["reason"]
    assert record(svc)["attempts"][0]["outcome"] == "timed_out"
    assert svc.state.get(ACTIVE_KEY) == "0"
    again = check(ping("t2"))  # the same tick redelivered: the same answer
    assert isinstance(again, CloudEvent) and again["id"] == reply["id"]
    assert svc.state.get(ACTIVE_KEY) == "0"
    late = check(agent_done(svc, phase="Succeeded"))  # the CodeRun reports after all
    assert isinstance(late, CloudEvent) and late["id"] == reply["id"]


def test_the_sweep_forwards_every_timed_out_attempt_beyond_the_first(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    other = dict(record(svc), task_id="acme-widgets-7009", repository=REPO)
    other["attempts"] = [
        dict(other["attempts"][0], coderun_name="", started_at="2025-01-02T02:00:00Z")
    ]
    svc.state.set_json("task:acme-widgets-7009", other)
    sent: list[CloudEvent] = []
    check = checker(svc, now="2025-01-02T05:00:00Z")
    check.forward = sent.append
    reply = check(ping())
    assert isinstance(reply, CloudEvent) and retried_from(svc, data_of(reply)).task_id == TASK
    # the older attempt answers first (its context is the same stored blob)
    assert [e["type"] for e in sent] == [EventType.REMEDIATION_RETRY]
    assert record(svc)["status"] == "retrying"
    assert json.loads(svc.state.get("task:acme-widgets-7009") or "")["status"] == "retrying"


def test_consecutive_failures_across_tasks_open_the_breaker(tmp_path: Path) -> None:
    svc = services(tmp_path, breaker_threshold=2, max_attempts=5)
    check = checker(svc)
    start(svc, 1)
    check(agent_done(svc, 1, phase="Failed"))
    assert svc.state.get(BREAKER_KEY) is None
    start(svc, 2)
    check(agent_done(svc, 2, phase="Failed"))
    assert "2 failed attempts in a row" in (svc.state.get(BREAKER_KEY) or "")
    skipped = start_refused(svc)
    assert skipped == "breaker"


def start_refused(svc: object) -> str:
    from completion_fixtures import REPO as repo
    from completion_fixtures import context

    from functions.spawn.stage import Spawner
    from healer.events import build_event
    from healer.vocabulary import Stage

    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context(3),
        key=(TASK, 3),
        repository=repo,
        run_id=7001,
        attempt=3,
    )
    reply = Spawner(svc)(event)  # type: ignore[arg-type]
    return str(data_of(reply).get("code"))


def test_a_success_resets_the_breaker_count(tmp_path: Path) -> None:
    svc = services(tmp_path, breaker_threshold=2)
    check = checker(svc)
    start(svc, 1)
    check(agent_done(svc, 1, phase="Failed"))
    start(svc, 2)
    check(ci_done(2))
    check(agent_done(svc, 2))
    assert svc.state.get("breaker:failures") is None and svc.state.get(BREAKER_KEY) is None


class DownStore(MemoryStateStore):
    def get(self, key: str) -> str | None:
        raise StoreUnavailable("state store down")


def test_a_store_outage_is_retryable(tmp_path: Path) -> None:
    svc = services(tmp_path)
    start(svc)
    event = agent_done(svc, phase="Failed")
    svc._state = DownStore()
    with pytest.raises(StoreUnavailable):
        checker(svc)(event)


def test_other_event_types_are_rejected(tmp_path: Path) -> None:
    event = CloudEvent({"type": "dev.healer.failure.detected", "source": "t", "id": "1"}, {})
    with pytest.raises(InvalidInput, match="completion-check accepts"):
        checker(services(tmp_path))(event)


@pytest.mark.parametrize("bad_id", ["run-seven", 1.5e400, [7]])
def test_a_ci_delivery_with_a_malformed_run_id_is_invalid_input(
    tmp_path: Path, bad_id: object
) -> None:
    # A malformed delivery is a permanent 400, not a 500 that the broker retries.
    svc = services(tmp_path)
    start(svc)
    event = ci_done()
    data = data_of(event)
    data["body"]["workflow_run"]["id"] = bad_id
    with pytest.raises(InvalidInput, match=r"workflow_run\.id must be an integer"):
        checker(svc)(CloudEvent(dict(event.get_attributes()), data))
