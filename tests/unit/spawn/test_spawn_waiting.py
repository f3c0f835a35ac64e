"""Refusals that lift keep the task waiting; those that do not stay plain skips."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from event_data import data_of
from spawn_fixtures import ContextFactory, CountingLauncher, failure, gathered, verdict

from functions.spawn.stage import Spawner
from healer.models import ContextGathered
from healer.services import Services
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, WAITING_INDEX
from healer.stores.keys import waiting_lease_key as lease_key
from healer.vocabulary import Action, Category, EventType, FailureType

Make = Callable[..., Services]
TASK = "acme-widgets-7009"


@pytest.fixture
def launcher(tmp_path: Path) -> CountingLauncher:
    return CountingLauncher(tmp_path / "outbox")


def record(services: Services, task: str = TASK) -> dict[str, object]:
    value = json.loads(services.state.get(f"task:{task}") or "null")
    assert isinstance(value, dict)
    return value


def test_a_full_house_keeps_the_task_waiting_once_however_often_it_is_refused(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services(max_concurrent=1)
    now = ["2025-01-02T03:00:00Z"]
    spawner = Spawner(services, launcher=launcher, clock=lambda: now[0])
    spawner(gathered(make_context()))
    now[0] = "2025-01-02T03:01:00Z"
    other = make_context(detected=failure(run_id=7009, head_branch="b2"), task_id=TASK)
    services.state.claim(lease_key(TASK, 1), "a release", 900)  # as a sweep would have

    reply = spawner(gathered(other))
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    data = data_of(reply)
    assert (data["code"], data["waiting_since"]) == ("concurrency", "2025-01-02T03:01:00Z")
    task = record(services)
    assert task["status"] == "waiting" and "attempts" not in task
    assert task["waiting"] == {
        "attempt": 1,
        "code": "concurrency",
        "reason": "1 remediations are running; the limit is 1",
        "context_key": "repos/acme/widgets/runs/7009/attempt-1/context-1.json",
        "action": "fix",
        "repository": "acme/widgets",
        "branch": "b2",
        "since": "2025-01-02T03:01:00Z",
    }
    stored = ContextGathered.model_validate_json(
        services.blobs.get(str(task["waiting"]["context_key"]))
    )
    assert stored == other  # what a release sends back
    assert services.state.get(lease_key(TASK, 1)) is None  # the next release may send it
    assert services.state.keys("dedup:spawn:acme-widgets-7009") == []

    now[0] = "2025-01-02T03:02:00Z"
    again = data_of(spawner(gathered(other)))  # redelivered, a minute later
    assert again["waiting_since"] == "2025-01-02T03:01:00Z"
    assert record(services) == task  # unchanged: not even updated_at moved
    assert services.state.index_range(WAITING_INDEX) == [TASK]
    assert launcher.created == 1 and services.state.get(ACTIVE_KEY) == "1"


def test_starting_a_waiting_task_takes_it_out_of_line(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    services.state.set(BREAKER_KEY, "too many failures", 60)
    spawner = Spawner(services, launcher=launcher, clock=lambda: "2025-01-02T03:00:00Z")
    context = make_context()
    assert data_of(spawner(gathered(context)))["code"] == "breaker"
    assert record(services, "acme-widgets-7001")["status"] == "waiting"
    services.state.delete(BREAKER_KEY)
    services.state.claim(lease_key("acme-widgets-7001", 1), "a release", 900)

    started = spawner(gathered(context))
    assert started["type"] == EventType.REMEDIATION_STARTED
    task = record(services, "acme-widgets-7001")
    assert task["status"] == "running" and "waiting" not in task
    assert services.state.index_range(WAITING_INDEX) == []
    assert services.state.get(lease_key("acme-widgets-7001", 1)) is None
    assert spawner(gathered(context))["id"] == started["id"]  # a second release: no new start
    assert launcher.created == 1 and services.state.get(ACTIVE_KEY) == "1"


@pytest.mark.parametrize("code", ["busy", "window"])
def test_a_held_branch_keeps_the_task_waiting(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher, code: str
) -> None:
    services = make_services()
    spawner = Spawner(services, launcher=launcher)
    spawner(gathered(make_context()))
    if code == "window":
        first = record(services, "acme-widgets-7001")
        services.state.set("task:acme-widgets-7001", json.dumps({**first, "status": "succeeded"}))
    later = make_context(detected=failure(run_id=7010), task_id="acme-widgets-7010")
    data = data_of(spawner(gathered(later)))
    assert data["code"] == code and data["waiting_since"]
    waiting = record(services, "acme-widgets-7010")["waiting"]
    assert isinstance(waiting, dict) and waiting["branch"] == "feature/parser"


def test_refusals_that_do_not_lift_stay_plain_skips(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    quiet = verdict(FailureType.GENERAL, Action.IGNORE, "atlas", Category.GENERAL)
    limited = make_services(max_attempts=2)
    closed = make_services(repo_allow=["acme/other"])
    cases = [
        (limited, make_context(primary=quiet), "ignore"),
        (limited, make_context(attempt=3), "max_attempts"),
        (closed, make_context(), "repository"),
    ]
    for services, context, code in cases:
        data = data_of(Spawner(services, launcher=launcher)(gathered(context)))
        assert (data["code"], data["waiting_since"]) == (code, "")
        assert services.state.keys("task:") == []
        assert services.state.index_range(WAITING_INDEX) == []
