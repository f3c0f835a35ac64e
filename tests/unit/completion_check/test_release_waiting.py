"""completion-check releases waiting tasks: when a slot frees, and on sweep ticks; once each."""

from __future__ import annotations

from pathlib import Path

from cloudevents.http import CloudEvent
from completion_fixtures import REPO, agent_done, checker, ci_done, context, ping, services, start
from event_data import data_of

from functions.completion_check import release
from functions.spawn.stage import Spawner
from healer.events import build_event, task_id
from healer.runtime import Skip
from healer.services import Services
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, WAITING_INDEX
from healer.stores.keys import waiting_lease_key as lease_key
from healer.vocabulary import EventType, Stage

WAITER = task_id(REPO, 7020)


def wait_behind_the_running_one(svc: Services) -> None:
    """Task 7001 runs (max_concurrent 1); 7020, on its own branch, is refused and waits."""
    start(svc)
    base = context()
    failure = base.classified.failure
    assert failure is not None and base.pull_request is not None
    other = base.model_copy(
        update={
            "task_id": WAITER,
            "classified": base.classified.model_copy(
                update={"failure": failure.model_copy(update={"run_id": 7020, "head_branch": "b2"})}
            ),
            "pull_request": base.pull_request.model_copy(update={"head_ref": "b2"}),
        }
    )
    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        other,
        key=(WAITER, 1),
        repository=REPO,
        run_id=7020,
    )
    reply = Spawner(svc, clock=lambda: "2025-01-02T03:05:00Z")(event)
    assert data_of(reply)["code"] == "concurrency"
    assert svc.state.index_range(WAITING_INDEX) == [WAITER]


def test_a_freed_slot_goes_to_the_waiting_task_at_once(tmp_path: Path) -> None:
    svc = services(tmp_path, max_concurrent=1)
    wait_behind_the_running_one(svc)
    sent: list[CloudEvent] = []
    check = checker(svc)
    check.forward = sent.append
    check(agent_done(svc))
    reply = check(ci_done())  # decides 7001: its slot frees
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_SUCCEEDED
    (released,) = sent
    assert released["type"] == EventType.CONTEXT_GATHERED
    assert data_of(released)["task_id"] == WAITER and released["healerattempt"] == "1"
    assert svc.state.get(lease_key(WAITER, 1)) is not None
    again = check(agent_done(svc))  # the update redelivered: the same decision, no release
    assert isinstance(again, CloudEvent) and again["id"] == reply["id"] and len(sent) == 1
    tick = check(ping("t-after"))  # nor by the sweep while the release is on its way
    assert isinstance(tick, Skip) and len(sent) == 1

    started = Spawner(svc)(released)
    assert started["type"] == EventType.REMEDIATION_STARTED
    assert svc.state.get(ACTIVE_KEY) == "1" and svc.state.index_range(WAITING_INDEX) == []


def test_without_a_forwarder_each_tick_answers_with_one_release(tmp_path: Path) -> None:
    svc = services(tmp_path, max_concurrent=1)
    wait_behind_the_running_one(svc)
    check = checker(svc)
    full = check(ping("t-full"))
    assert isinstance(full, Skip) and "no waiting task to start" in full.reason  # no free slot
    check(agent_done(svc))
    check(ci_done())
    reply = check(ping("t-1"))
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.CONTEXT_GATHERED
    assert data_of(reply)["task_id"] == WAITER
    again = check(ping("t-1"))  # redelivered tick: the same release, the same event
    assert isinstance(again, CloudEvent) and again["id"] == reply["id"]
    other = check(ping("t-2"))  # another tick: the lease holds, nothing sent twice
    assert isinstance(other, Skip)


def test_a_refused_release_waits_for_the_next_one(tmp_path: Path) -> None:
    svc = services(tmp_path, max_concurrent=1)
    wait_behind_the_running_one(svc)
    check = checker(svc)
    check(agent_done(svc))
    check(ci_done())
    reply = check(ping("t-1"))
    assert isinstance(reply, CloudEvent)
    svc.state.set(BREAKER_KEY, "opened meanwhile", 60)
    refused = Spawner(svc, clock=lambda: "2025-01-02T03:20:00Z")(reply)
    data = data_of(refused)
    assert data["code"] == "breaker" and data["waiting_since"] == "2025-01-02T03:05:00Z"
    assert isinstance(check(ping("t-2")), Skip)  # the breaker holds it
    svc.state.delete(BREAKER_KEY)
    second = check(ping("t-3"))  # the lease was given back: released again
    assert isinstance(second, CloudEvent) and second["id"] != reply["id"]
    assert Spawner(svc)(second)["type"] == EventType.REMEDIATION_STARTED


def test_stale_index_entries_and_lost_contexts_release_nothing(tmp_path: Path) -> None:
    svc = services(tmp_path, max_concurrent=1)
    svc.state.index_add(WAITING_INDEX, "acme-widgets-1", 1.0)  # no record: out of line
    assert release.choose(svc, 5) == []
    assert svc.state.index_range(WAITING_INDEX) == []
    wait_behind_the_running_one(svc)
    svc.state.set(ACTIVE_KEY, "0")
    (item,) = release.choose(svc, 5)
    svc.blobs.delete(item.context_key)
    assert release.event_of(svc, item) is None
    release.give_back(svc, item)
    assert svc.state.get(lease_key(WAITER, 1)) is None
    assert svc.state.index_range(WAITING_INDEX) == [WAITER]  # still shown as waiting
