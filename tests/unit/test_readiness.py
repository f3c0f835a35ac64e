"""The readiness verdict: settings and the state store, probed cheaply and reused briefly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from healer.errors import InvalidInput
from healer.readiness import Readiness
from healer.settings import Settings
from healer.stores.exceptions import StoreUnavailable
from healer.stores.memory import MemoryStateStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FlakyStore(MemoryStateStore):
    """A store whose ``ping`` fails while ``down`` is set, counting the pings."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        if self.down:
            raise StoreUnavailable("redis is unreachable: ConnectionError: refused")


def redis_readiness(store: FlakyStore, clock: Clock) -> Readiness:
    readiness = Readiness(lambda: Settings(state_backend="redis"), ttl=1.5, clock=clock)
    readiness._store = store  # the store the probe would otherwise build from settings
    return readiness


def test_memory_backend_is_always_ready_and_builds_no_store() -> None:
    readiness = Readiness(lambda: Settings(state_backend="memory"), ttl=0)
    assert readiness.reason() is None
    assert readiness.reason() is None
    assert readiness._store is None


def test_an_unreachable_store_is_not_ready_and_the_answer_is_reused_within_the_ttl() -> None:
    clock, store = Clock(), FlakyStore()
    readiness = redis_readiness(store, clock)
    assert readiness.reason() is None
    store.down = True
    clock.now += 1.0
    assert readiness.reason() is None  # cached: no second ping yet
    assert store.pings == 1
    clock.now += 1.0
    reason = readiness.reason()
    assert reason is not None
    assert reason.startswith("state store (redis): redis is unreachable")
    assert store.pings == 2
    store.down = False
    clock.now += 1.6
    assert readiness.reason() is None
    assert store.pings == 3


def test_settings_that_cannot_be_loaded_are_the_reason_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[int] = []

    def load() -> Settings:
        attempts.append(1)
        raise InvalidInput("config file c.json is not valid JSON")

    readiness = Readiness(load, ttl=0)
    with caplog.at_level(logging.WARNING, logger="healer.readiness"):
        reason = readiness.reason()
        assert readiness.reason() == reason
    assert reason == "settings cannot be loaded: config file c.json is not valid JSON"
    assert len(attempts) == 2  # retried on the next probe, not cached for ever
    # Logged once when readiness changed, not on every probe.
    assert [r.getMessage() for r in caplog.records] == [f"not ready: {reason}"]


def test_settings_are_loaded_once_when_they_load() -> None:
    attempts: list[int] = []

    def load() -> Settings:
        attempts.append(1)
        return Settings()

    readiness = Readiness(load, ttl=0)
    readiness.reason()
    readiness.reason()
    assert attempts == [1]


def test_an_unknown_backend_is_not_ready() -> None:
    readiness = Readiness(lambda: Settings(state_backend="etcd"), ttl=0)
    assert readiness.reason() == (
        "state store (etcd): state_backend 'etcd' is not one of: memory, redis, configmap"
    )


def test_invalid_settings_fail_readiness_with_the_reason_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_MAX_ATTEMPTS", "0")
    readiness = Readiness(ttl=0)
    with caplog.at_level(logging.WARNING, logger="healer.readiness"):
        reason = readiness.reason()
    assert reason is not None and "max_attempts=0 must be at least 1" in reason
    assert any("max_attempts=0" in r.getMessage() for r in caplog.records)
