"""RedisStateStore's error mapping and commands against a fake client. No sockets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis.exceptions as rex

from healer.stores.exceptions import StoreUnavailable
from healer.stores.redis import RedisStateStore


class Failing:
    """Every command raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def command(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return command


OPERATIONS: list[Callable[[RedisStateStore], object]] = [
    lambda s: s.claim("k", "v", 60),
    lambda s: s.get("k"),
    lambda s: s.set("k", "v", 5),
    lambda s: s.compare_and_set("k", "a", "b"),
    lambda s: s.delete("k"),
    lambda s: s.incr("k", 2, 60),
    lambda s: s.push("k", "v", 3),
    lambda s: s.items("k"),
    lambda s: s.keys("k"),
    lambda s: s.index_add("k", "m", 1.0),
    lambda s: s.index_remove("k", "m"),
    lambda s: s.index_range("k"),
    lambda s: s.ping(),
]


@pytest.mark.parametrize(
    "error",
    [
        rex.ConnectionError("Connection refused"),
        rex.TimeoutError("Timeout reading from socket"),
        rex.BusyLoadingError("Redis is loading the dataset in memory"),
        rex.ReadOnlyError("You can't write against a read only replica."),
    ],
)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_unreachable_redis_is_store_unavailable(
    error: BaseException, operation: Callable[[RedisStateStore], object]
) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(RedisStateStore(Failing(error)))
    assert caught.value.__cause__ is error


def test_command_errors_are_not_outages() -> None:
    store = RedisStateStore(Failing(rex.ResponseError("WRONGTYPE")))
    with pytest.raises(rex.ResponseError):
        store.get("k")


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def set(self, *args: Any, **kwargs: Any) -> bool:
        self.calls.append(("set", args, kwargs))
        return True

    def scan_iter(self, match: str, count: int) -> list[str]:
        self.calls.append(("scan_iter", match))
        return ["ns:task*x", "ns:task*y"]


def test_claim_is_set_nx_ex_and_namespaced() -> None:
    client = Recording()
    store = RedisStateStore(client, namespace="ns:")  # type: ignore[arg-type]
    assert store.claim("dedup:delivery:d", "ingest", 300) is True
    assert client.calls == [("set", ("ns:dedup:delivery:d", "ingest"), {"ex": 300, "nx": True})]


def test_keys_escape_glob_characters_and_strip_the_namespace() -> None:
    client = Recording()
    store = RedisStateStore(client, namespace="ns:")  # type: ignore[arg-type]
    assert store.keys("task*") == ["task*x", "task*y"]
    assert client.calls == [("scan_iter", "ns:task\\**")]
