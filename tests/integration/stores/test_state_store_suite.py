"""One state-store suite, run over the in-process store, Redis (a real redis-server) and
ConfigMaps (``healer.kube`` against a local Kubernetes API server)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest
from k8s_api import KubeApi

if TYPE_CHECKING:
    from tests.integration.conftest import DisposableRedis

from healer.settings import Settings
from healer.stores.configmap import ConfigMapStateStore
from healer.stores.exceptions import StoreUnavailable
from healer.stores.factory import state_store
from healer.stores.memory import MemoryStateStore
from healer.stores.redis import RedisStateStore
from healer.stores.state import StateStore

pytestmark = pytest.mark.integration

T = TypeVar("T")


@pytest.fixture(scope="module")
def kube_api() -> Iterator[KubeApi]:
    with KubeApi() as api:
        yield api


@pytest.fixture(params=["memory", "redis", "configmap"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStateStore()
        return
    if request.param == "configmap":
        api: KubeApi = request.getfixturevalue("kube_api")
        api.reset()
        settings = Settings(state_backend="configmap", kube_api_url=api.url, namespace="cto")
        configmap_store = state_store(settings)
        assert isinstance(configmap_store, ConfigMapStateStore)
        yield configmap_store
        configmap_store.api.close()
        return
    url = request.getfixturevalue("redis_url")
    redis_store = RedisStateStore.from_url(url)
    redis_store.client.execute("FLUSHDB")
    yield redis_store
    redis_store.close()


def race(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(n)`` in ``workers`` threads released at the same instant."""
    barrier = threading.Barrier(workers)
    results: list[T] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        result = work(n)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == workers
    return results


def test_claim_once_then_refused(store: StateStore) -> None:
    key = "dedup:delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert store.claim(key, "ingest", 60) is True
    assert store.claim(key, "ingest-again", 60) is False
    assert store.get(key) == "ingest"


def test_claim_expires(store: StateStore) -> None:
    assert store.claim("dedup:job:acme/widgets:90001:1", "a", 1)
    time.sleep(1.1)
    assert store.get("dedup:job:acme/widgets:90001:1") is None
    assert store.claim("dedup:job:acme/widgets:90001:1", "b", 60) is True


def test_concurrent_claim_has_exactly_one_winner(store: StateStore) -> None:
    key = "dedup:run:acme/webapp:7002:1"
    results = race(8, lambda n: (n, store.claim(key, f"worker-{n}", 60)))
    winners = [n for n, claimed in results if claimed]
    assert len(winners) == 1
    assert store.get(key) == f"worker-{winners[0]}"


def test_set_get_delete_and_ttl(store: StateStore) -> None:
    store.set("task:acme-widgets-7001", "v1")
    store.set("stale:acme-widgets-7001", "gone", ttl_seconds=1)
    assert store.get("task:acme-widgets-7001") == "v1"
    time.sleep(1.1)
    assert store.get("stale:acme-widgets-7001") is None
    store.delete("task:acme-widgets-7001")
    store.delete("task:acme-widgets-7001")
    assert store.get("task:acme-widgets-7001") is None


def test_json_round_trip(store: StateStore) -> None:
    record = {"task_id": "acme-widgets-7001", "status": "running", "attempts": [{"attempt": 1}]}
    store.set_json("task:acme-widgets-7001", record)
    assert store.get_json("task:acme-widgets-7001") == record
    assert store.get_json("task:none") is None


def test_compare_and_set(store: StateStore) -> None:
    assert store.compare_and_set("task:t", None, "v1") is True  # absent → created
    assert store.compare_and_set("task:t", None, "v2") is False  # no longer absent
    assert store.compare_and_set("task:t", "wrong", "v2") is False
    assert store.compare_and_set("task:t", "v1", "v2") is True
    assert store.get("task:t") == "v2"
    assert store.compare_and_set("task:t", "v2", "", ttl_seconds=60) is True
    assert store.get("task:t") == ""
    assert store.compare_and_set("task:t", "", "v3") is True  # empty is a value, not absence


def test_compare_and_set_with_ttl(store: StateStore) -> None:
    assert store.compare_and_set("lease:spawn", None, "holder", ttl_seconds=1)
    time.sleep(1.1)
    assert store.compare_and_set("lease:spawn", None, "next") is True


def test_compare_and_set_race_loses_no_update(store: StateStore) -> None:
    """Eight writers each add themselves to a JSON list with a CAS retry loop."""
    store.set("task:race", json.dumps([]))

    def add(n: int) -> int:
        tries = 0
        while True:
            tries += 1
            current = store.get("task:race")
            assert current is not None
            updated = json.dumps([*json.loads(current), n])
            if store.compare_and_set("task:race", current, updated):
                return tries

    tries = race(8, add)
    assert sorted(json.loads(store.get("task:race") or "[]")) == list(range(8))
    assert sum(tries) >= 8


def test_concurrent_create_if_absent_has_one_winner(store: StateStore) -> None:
    results = race(8, lambda n: store.compare_and_set("task:new", None, f"w{n}"))
    assert results.count(True) == 1


def test_incr(store: StateStore) -> None:
    assert store.incr("limits:running") == 1
    assert store.incr("limits:running", 4) == 5
    assert store.incr("limits:running", -2) == 3
    assert store.get("limits:running") == "3"


def test_incr_expiry_is_set_by_the_first_write_only(store: StateStore) -> None:
    assert store.incr("breaker:acme/widgets", ttl_seconds=1) == 1
    time.sleep(0.6)
    assert store.incr("breaker:acme/widgets", ttl_seconds=60) == 2  # does not extend the window
    time.sleep(0.6)
    assert store.get("breaker:acme/widgets") is None
    assert store.incr("breaker:acme/widgets", ttl_seconds=60) == 1


def test_concurrent_incr_counts_every_increment(store: StateStore) -> None:
    def bump(n: int) -> None:
        for _ in range(25):
            store.incr("limits:global")

    race(8, bump)
    assert store.get("limits:global") == "200"


def test_push_and_items_newest_first_and_trimmed(store: StateStore) -> None:
    for n in range(7):
        store.push("history:fp-1", f"entry-{n}", max_len=5)
    assert store.items("history:fp-1") == [f"entry-{n}" for n in (6, 5, 4, 3, 2)]
    assert store.items("history:fp-1", limit=2) == ["entry-6", "entry-5"]
    assert store.items("history:none") == []


def test_concurrent_pushes_keep_the_bound(store: StateStore) -> None:
    race(8, lambda n: [store.push("history:fp-2", f"{n}-{i}", max_len=10) for i in range(10)])
    assert len(store.items("history:fp-2", limit=1000)) == 10


def test_keys_by_prefix(store: StateStore) -> None:
    store.set("task:acme-widgets-7001", "{}")
    store.set("task:acme-webapp-7002", "{}")
    store.claim("dedup:delivery:d-1", "x", 60)
    store.push("history:fp-1", "e", max_len=3)
    store.set("task*glob", "{}")  # glob characters in keys must not widen the match

    assert store.keys("task:") == ["task:acme-webapp-7002", "task:acme-widgets-7001"]
    assert store.keys("history:") == ["history:fp-1"]
    assert store.keys("task*") == ["task*glob"]
    assert store.keys("nothing:") == []
    assert "dedup:delivery:d-1" in store.keys("")


def test_index_is_ordered_by_score_and_keeps_the_first_score(store: StateStore) -> None:
    assert store.index_add("waiting:tasks", "task-c", 30.0)
    assert store.index_add("waiting:tasks", "task-a", 10.0)
    assert store.index_add("waiting:tasks", "task-b", 20.0)
    assert store.index_add("waiting:tasks", "task-0b", 20.0)  # a tie: by member
    assert not store.index_add("waiting:tasks", "task-c", 1.0)  # already there: unchanged
    assert store.index_range("waiting:tasks") == ["task-a", "task-0b", "task-b", "task-c"]
    assert store.index_range("waiting:tasks", limit=2) == ["task-a", "task-0b"]
    assert store.index_range("waiting:tasks", limit=0) == []
    assert store.index_range("waiting:none") == []


def test_index_remove(store: StateStore) -> None:
    store.index_add("waiting:tasks", "task-a", 1.0)
    store.index_add("waiting:tasks", "task-b", 2.0)
    assert store.index_remove("waiting:tasks", "task-a")
    assert not store.index_remove("waiting:tasks", "task-a")
    assert not store.index_remove("waiting:none", "task-a")
    assert store.index_range("waiting:tasks") == ["task-b"]
    assert store.index_remove("waiting:tasks", "task-b")
    assert store.index_range("waiting:tasks") == []
    assert store.index_add("waiting:tasks", "task-a", 5.0)  # back in, with its new score
    assert store.index_range("waiting:tasks") == ["task-a"]


def test_index_is_a_key_like_any_other(store: StateStore) -> None:
    store.index_add("waiting:tasks", "task-a", 1.0)
    assert store.keys("waiting:") == ["waiting:tasks"]
    store.delete("waiting:tasks")
    assert store.index_range("waiting:tasks") == []
    assert store.keys("waiting:") == []


def test_concurrent_index_adds_keep_every_member_once(store: StateStore) -> None:
    added = race(8, lambda n: [store.index_add("waiting:race", f"t-{i}", n) for i in range(4)])
    assert sum(flag for flags in added for flag in flags) == 4  # one winner per member
    assert sorted(store.index_range("waiting:race")) == ["t-0", "t-1", "t-2", "t-3"]
    removed = race(8, lambda n: store.index_remove("waiting:race", "t-0"))
    assert removed.count(True) == 1


def test_ping(store: StateStore) -> None:
    store.ping()


# -- Redis only: outages ------------------------------------------------------------------


def _all_operations(store: StateStore) -> list[Callable[[], object]]:
    return [
        lambda: store.claim("k", "v", 60),
        lambda: store.get("k"),
        lambda: store.set("k", "v"),
        lambda: store.compare_and_set("k", None, "v"),
        lambda: store.delete("k"),
        lambda: store.incr("k"),
        lambda: store.push("l", "v", 3),
        lambda: store.items("l"),
        lambda: store.keys("k"),
        store.ping,
    ]


def test_redis_refusing_connections_is_store_unavailable(closed_port: int) -> None:
    store = RedisStateStore.from_url(f"redis://127.0.0.1:{closed_port}/0", timeout=0.5)
    for operation in _all_operations(store):
        with pytest.raises(StoreUnavailable):
            operation()


def test_redis_not_answering_is_store_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = RedisStateStore.from_url(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.get("k")
        assert time.monotonic() - started < 2


def test_redis_going_away_mid_use_is_store_unavailable(
    disposable_redis: DisposableRedis,
) -> None:
    store = RedisStateStore.from_url(disposable_redis.url, timeout=0.5)
    assert store.claim("dedup:delivery:d-9", "x", 60)
    disposable_redis.stop()
    with pytest.raises(StoreUnavailable):
        store.claim("dedup:delivery:d-10", "x", 60)
