"""The one claim policy: take with a TTL, complete with a result, give back on failure."""

from __future__ import annotations

import pytest

from healer.state.claims import Claim, Contended, once
from healer.stores.memory import MemoryStateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ExpiringHolder(MemoryStateStore):
    """Another owner holds the key whenever it is claimed, and expires before it is read."""

    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        super().claim(key, "someone else", ttl_seconds)
        return super().claim(key, value, ttl_seconds)

    def get(self, key: str) -> str | None:
        self.delete(key)
        return super().get(key)


def test_take_holds_the_key_until_it_expires() -> None:
    clock = Clock()
    state = MemoryStateStore(clock)
    claim = Claim(state, "k", 60)
    assert claim.take("a")
    assert not claim.take("b")
    assert state.get("k") == "a"
    clock.now += 61
    assert claim.take("b")
    assert state.get("k") == "b"


def test_take_or_holder_names_the_holder() -> None:
    state = MemoryStateStore()
    assert Claim(state, "k", 60).take_or_holder("mine") is None
    assert Claim(state, "k", 60).take_or_holder("theirs") == "mine"


def test_a_holder_that_keeps_expiring_is_contended_and_retryable() -> None:
    with pytest.raises(Contended) as caught:
        Claim(ExpiringHolder(), "k", 60).take_or_holder("mine")
    assert caught.value.status == 503
    assert "k kept changing hands" in str(caught.value)


def test_complete_replaces_only_the_value_this_owner_took() -> None:
    clock = Clock()
    state = MemoryStateStore(clock)
    claim = Claim(state, "k", 60)
    assert claim.take("pending-1")
    assert not claim.complete("pending-2", "done", None)
    assert claim.complete("pending-1", "done", None)
    clock.now += 3600
    assert state.get("k") == "done"  # completed for good, no longer the claim's TTL


def test_give_back_frees_the_key_at_once() -> None:
    state = MemoryStateStore()
    claim = Claim(state, "k", 60)
    assert claim.take()
    claim.give_back()
    assert claim.take("next")


def test_once_runs_the_effect_once_and_gives_the_claim_back_when_it_fails() -> None:
    state = MemoryStateStore()
    runs: list[int] = []

    def failing() -> int:
        runs.append(1)
        raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        once(state, "k", failing, ttl_seconds=60)
    assert state.get("k") is None
    assert once(state, "k", lambda: 7, ttl_seconds=60) == (True, 7)
    assert once(state, "k", lambda: 8, ttl_seconds=60) == (False, None)
    assert runs == [1]
