"""Dedup claims, the branch window, the concurrency slots and the breaker, on the memory store."""

from __future__ import annotations

import json

import pytest

from functions.spawn.dedup import InProgress, claim_dedup, finish_dedup
from functions.spawn.record import record_attempt, with_attempt
from healer.errors import StoreUnavailable
from healer.state.limits import ACTIVE_KEY, BREAKER_KEY, Claims, Limits
from healer.state.records import Attempt, TaskRecord
from healer.stores.memory import MemoryStateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(state: MemoryStateStore, max_concurrent: int = 2, window: int = 600) -> Limits:
    return Limits(state, max_concurrent=max_concurrent, window_seconds=window)


def test_dedup_first_claim_owns_then_a_redelivery_gets_the_stored_outcome() -> None:
    state = MemoryStateStore()
    claims = Claims()
    assert claim_dedup(state, "dedup:spawn:t:1", claims) is None
    assert claims.dedup == "dedup:spawn:t:1"
    with pytest.raises(InProgress) as busy:  # a concurrent duplicate: retried by the broker
        claim_dedup(state, "dedup:spawn:t:1", Claims())
    assert busy.value.status == 503 and busy.value.retry_after
    assert finish_dedup(state, claims, {"task_id": "t"})
    assert claim_dedup(state, "dedup:spawn:t:1", Claims()) == {"task_id": "t"}


def test_finishing_a_claim_someone_else_took_over_does_not_overwrite_it() -> None:
    state = MemoryStateStore()
    claims = Claims()
    claim_dedup(state, "k", claims)
    state.set("k", json.dumps({"state": "pending", "token": "other"}))
    assert not finish_dedup(state, claims, {"x": 1})
    assert json.loads(state.get("k") or "")["token"] == "other"


def test_slots_up_to_the_limit_then_refused_with_the_count_restored() -> None:
    state = MemoryStateStore()
    lim = limits(state, max_concurrent=2)
    held = [Claims(), Claims()]
    assert all(lim.take_slot(c) is None for c in held)
    refused = lim.take_slot(Claims())
    assert refused is not None and refused.code == "concurrency" and "limit is 2" in refused.reason
    assert state.get(ACTIVE_KEY) == "2"
    lim.release(held[0])
    assert state.get(ACTIVE_KEY) == "1"
    lim.release(held[0])  # releasing twice gives back nothing more
    assert state.get(ACTIVE_KEY) == "1"


def test_window_blocks_another_task_on_the_branch_but_not_the_same_tasks_retry() -> None:
    clock = Clock()
    state = MemoryStateStore(clock=clock)
    lim = limits(state, window=600)
    first = Claims()
    assert lim.take_window("acme/w", "main", "task-a", first) is None
    assert first.window == "window:acme/w:main"
    retry = Claims()
    assert lim.take_window("acme/w", "main", "task-a", retry) is None
    assert retry.window == ""  # the retry does not own (or later release) the window
    other = lim.take_window("acme/w", "main", "task-b", Claims())
    assert other is not None and other.code == "window"
    assert "task-a" in other.reason and "10 minutes" in other.reason
    assert lim.take_window("acme/w", "dev", "task-b", Claims()) is None  # another branch
    clock.now += 601
    assert lim.take_window("acme/w", "main", "task-b", Claims()) is None


def test_a_zero_window_is_off() -> None:
    state = MemoryStateStore()
    assert limits(state, window=0).take_window("r", "b", "t", Claims()) is None
    assert state.keys("window:") == []


def test_breaker_open_refuses_with_its_reason() -> None:
    state = MemoryStateStore()
    assert limits(state).breaker() is None
    state.set(BREAKER_KEY, "5 failed attempts in 10 minutes", 300)
    refused = limits(state).breaker()
    assert refused is not None and refused.code == "breaker"
    assert "5 failed attempts" in refused.reason


def test_release_gives_back_window_slot_and_dedup() -> None:
    state = MemoryStateStore()
    lim = limits(state)
    claims = Claims()
    claim_dedup(state, "dedup:spawn:t:1", claims)
    lim.take_window("r", "b", "t", claims)
    lim.take_slot(claims)
    lim.release(claims)
    assert state.get("dedup:spawn:t:1") is None and state.get("window:r:b") is None
    assert state.get(ACTIVE_KEY) == "0"


def test_task_record_keeps_one_entry_per_attempt_and_the_first_start_time() -> None:
    fields = {"attempt": 1, "agent": "rex", "coderun_name": "c1", "started_at": "T1", "outcome": ""}
    entry = Attempt.model_validate(fields)
    built = with_attempt(None, TaskRecord(task_id="t", run_id=1), entry, "T1")
    record = built.stored()
    assert record["status"] == "running" and record["created_at"] == "T1"
    again = with_attempt(
        built, TaskRecord(task_id="t"), Attempt.model_validate({**fields, "started_at": "T2"}), "T2"
    )
    assert [a["started_at"] for a in again.stored()["attempts"]] == ["T1"]
    third = Attempt.model_validate({**fields, "attempt": 2, "started_at": "T3"})
    second = with_attempt(again, TaskRecord(), third, "T3").stored()
    assert [a["attempt"] for a in second["attempts"]] == [1, 2]
    assert second["created_at"] == "T1" and second["updated_at"] == "T3"


class RacyStore(MemoryStateStore):
    """Another writer changes the record between our read and our write, ``races`` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        if self.races > 0:
            self.races -= 1
            current = json.loads(self.get(key) or '{"attempts": []}')
            current.setdefault("attempts", []).append({"attempt": 7 + self.races, "agent": "x"})
            self.set(key, json.dumps(current))
        return super().compare_and_set(key, expected, value, ttl_seconds)


def test_a_lost_race_rereads_and_keeps_the_other_writers_change() -> None:
    state = RacyStore(races=2)
    entry = Attempt(attempt=1, agent="rex", coderun_name="c1", started_at="T", outcome="")
    written = record_attempt(state, "t", TaskRecord(task_id="t"), entry, "T")
    stored = json.loads(state.get("task:t") or "")
    assert stored == written.stored()
    assert [a["attempt"] for a in stored["attempts"]] == [1, 7, 8]


def test_a_record_that_never_settles_is_a_retryable_outage() -> None:
    state = RacyStore(races=1000)
    with pytest.raises(StoreUnavailable):
        record_attempt(state, "t", TaskRecord(), Attempt(attempt=1), "T")


def test_a_branch_with_a_running_task_refuses_other_tasks_until_it_settles() -> None:
    state = MemoryStateStore()
    lim = limits(state)
    state.set("branch:acme/w:fix", "task-a")
    state.set_json("task:task-a", {"task_id": "task-a", "status": "running"})
    busy = lim.branch_busy("acme/w", "fix", "task-b")
    assert busy is not None and busy.code == "busy"
    assert "task-a" in busy.reason
    assert lim.branch_busy("acme/w", "fix", "task-a") is None  # its own retry
    assert lim.branch_busy("acme/w", "other", "task-b") is None
    state.set_json("task:task-a", {"task_id": "task-a", "status": "succeeded"})
    assert lim.branch_busy("acme/w", "fix", "task-b") is None
