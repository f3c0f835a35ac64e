"""RedisStateStore's commands and error handling against a recording client; Redis URLs. No
sockets (tests/integration/stores runs the same store against a real redis-server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from healer.stores.exceptions import StoreError, StoreUnavailable
from healer.stores.redis import _COMPARE_AND_SET, _COMPARE_AND_SET_SHA, RedisStateStore
from healer.stores.resp import Arg, Endpoint, RedisReplyError


class Recording:
    """Answers each command from ``replies`` (a value, or an exception to raise) in order."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[Arg, ...]] = []
        self.transactions: list[tuple[tuple[Arg, ...], ...]] = []

    def _next(self) -> Any:
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def execute(self, *command: Arg) -> Any:
        self.calls.append(command)
        return self._next()

    def transaction(self, *commands: tuple[Arg, ...]) -> list[Any]:
        self.transactions.append(commands)
        return list(self._next())

    def close(self) -> None:
        pass


def test_claim_is_set_ex_nx_and_namespaced() -> None:
    client = Recording("OK", None)
    store = RedisStateStore(client, namespace="ns:")
    assert store.claim("dedup:delivery:d", "ingest", 300) is True
    assert store.claim("dedup:delivery:d", "again", 0) is False
    assert client.calls == [
        ("SET", "ns:dedup:delivery:d", "ingest", "EX", 300, "NX"),
        ("SET", "ns:dedup:delivery:d", "again", "EX", 1, "NX"),
    ]


def test_keys_follow_the_scan_cursor_escape_globs_and_strip_the_namespace() -> None:
    client = Recording(["17", ["ns:task*x"]], ["4", []], ["0", ["ns:task*y", "ns:task*x"]])
    store = RedisStateStore(client, namespace="ns:")
    assert store.keys("task*") == ["task*x", "task*y"]
    assert [call[1] for call in client.calls] == ["0", "17", "4"]
    assert {call[3] for call in client.calls} == {"ns:task\\**"}


def test_push_is_one_transaction_with_its_bound() -> None:
    client = Recording([3, "OK"], [1, 1])
    store = RedisStateStore(client)
    store.push("history:fp", "e", 5)
    store.push("history:fp", "e", 0)
    assert client.transactions == [
        (("LPUSH", "history:fp", "e"), ("LTRIM", "history:fp", 0, 4)),
        (("LPUSH", "history:fp", "e"), ("DEL", "history:fp")),
    ]


def test_scripts_run_by_digest_and_fall_back_to_the_body_only_on_noscript() -> None:
    client = Recording(RedisReplyError("NOSCRIPT No matching script."), 1, 0)
    store = RedisStateStore(client)
    assert store.compare_and_set("task:t", None, "v") is True
    assert store.compare_and_set("task:t", None, "v") is False
    assert client.calls == [
        ("EVALSHA", _COMPARE_AND_SET_SHA, 1, "task:t", "1", "", "v", ""),
        ("EVAL", _COMPARE_AND_SET, 1, "task:t", "1", "", "v", ""),
        ("EVALSHA", _COMPARE_AND_SET_SHA, 1, "task:t", "1", "", "v", ""),
    ]


def test_a_script_error_other_than_noscript_is_not_retried() -> None:
    client = Recording(RedisReplyError("WRONGTYPE Operation against a key"))
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        RedisStateStore(client).incr("k")
    assert len(client.calls) == 1


def test_an_outage_is_passed_on_and_nothing_is_resent() -> None:
    outage = StoreUnavailable("redis is unreachable: Timeout")
    operations: list[Callable[[RedisStateStore], object]] = [
        lambda s: s.claim("k", "v", 60),
        lambda s: s.set("k", "v"),
        lambda s: s.compare_and_set("k", None, "v"),
        lambda s: s.incr("k"),
        lambda s: s.index_add("k", "m", 1.0),
    ]
    for operation in operations:
        client = Recording(outage)
        with pytest.raises(StoreUnavailable):
            operation(RedisStateStore(client))
        assert len(client.calls) == 1


def test_index_scores_are_sent_as_exact_floats() -> None:
    client = Recording(1)
    assert RedisStateStore(client).index_add("waiting", "t", 1712345678.123456)
    assert client.calls == [("ZADD", "waiting", "NX", "1712345678.123456", "t")]


def test_reply_errors_are_store_errors_with_their_code() -> None:
    error = RedisReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert isinstance(error, StoreError)
    assert not isinstance(error, StoreUnavailable)
    assert error.code == "WRONGTYPE"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache:6380/2", Endpoint(host="cache", port=6380, db=2)),
        ("redis://localhost", Endpoint()),
        ("redis://:s%40cret@h:1/0", Endpoint(host="h", port=1, password="s@cret")),
        ("redis://healer:pw@h/3", Endpoint(host="h", username="healer", password="pw", db=3)),
        ("rediss://h:6390", Endpoint(host="h", port=6390, tls=True)),
        ("redis://[::1]:7000/0", Endpoint(host="::1", port=7000)),
        ("unix:///run/redis.sock?db=4", Endpoint(path="/run/redis.sock", db=4)),
        ("unix://:pw@/run/redis.sock", Endpoint(path="/run/redis.sock", password="pw")),
    ],
)
def test_urls(url: str, expected: Endpoint) -> None:
    assert Endpoint.from_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://h:6379/0", "redis://:hunter2@h/zero", "unix://", "redis://h:notaport/0"]
)
def test_bad_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        Endpoint.from_url(url)
    assert "hunter2" not in str(caught.value)
    assert "notaport" not in str(caught.value)


def test_an_endpoint_never_shows_its_password() -> None:
    endpoint = Endpoint.from_url("redis://healer:hunter2@cache:6379/1")
    assert "hunter2" not in repr(endpoint)
    assert "hunter2" not in str(endpoint)
