"""What only the ConfigMap state store has: its stored shape, key escaping, optimistic
concurrency against a real HTTP API (``healer.kube`` talking to a local
Kubernetes API server), RBAC and outage errors, the size budget and cross-process claims."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from k8s_api import KubeApi

from healer.errors import InvalidInput
from healer.settings import Settings
from healer.stores.configmap import (
    MAX_DATA_BYTES,
    ConfigMapStateStore,
    StoreFull,
    decode_key,
    encode_key,
)
from healer.stores.configmap_api import ConfigMapApi, StoreForbidden
from healer.stores.exceptions import StoreError, StoreUnavailable
from healer.stores.factory import state_store

pytestmark = pytest.mark.integration

NS = "cto"
_VALID_FIELD = re.compile(r"[-._a-zA-Z0-9]+")


@pytest.fixture(scope="module")
def kube_api() -> Iterator[KubeApi]:
    with KubeApi() as api:
        yield api


@pytest.fixture
def api(kube_api: KubeApi) -> KubeApi:
    kube_api.reset()
    return kube_api


def settings_for(url: str, **extra: Any) -> Settings:
    return Settings(state_backend="configmap", kube_api_url=url, namespace=NS, **extra)


@pytest.fixture
def make_store(api: KubeApi) -> Iterator[Callable[..., ConfigMapStateStore]]:
    built: list[ConfigMapStateStore] = []

    def make(url: str = "", **extra: Any) -> ConfigMapStateStore:
        store = ConfigMapStateStore.from_settings(settings_for(url or api.url, **extra))
        built.append(store)
        return store

    yield make
    for store in built:
        store.api.close()


@pytest.fixture
def store(make_store: Callable[..., ConfigMapStateStore]) -> ConfigMapStateStore:
    return make_store()


# -- Key escaping ---------------------------------------------------------------------------


def test_contract_keys_become_readable_configmap_fields() -> None:
    assert encode_key("dedup:job:acme/widgets:90001:1") == (
        "dedup_3Ajob_3Aacme_2Fwidgets_3A90001_3A1"
    )
    assert encode_key("task:acme-widgets-7001") == "task_3Aacme-widgets-7001"
    assert encode_key("a_b") == "a_5Fb"  # the escape character escapes itself
    assert encode_key(".hidden") == "_2Ehidden"  # fields may not start with a dot
    assert decode_key("dedup_3Ajob_3Aacme_2Fwidgets_3A90001_3A1") == (
        "dedup:job:acme/widgets:90001:1"
    )


@given(st.text(max_size=300))
def test_any_key_encodes_to_a_valid_field_and_back(key: str) -> None:
    field = encode_key(key)
    assert _VALID_FIELD.fullmatch(field)
    assert len(field) <= 253
    assert field not in {".", ".."} and not field.startswith("..")
    if field.startswith("__"):  # hashed: the entry itself carries the key
        assert decode_key(field) is None
    else:
        assert decode_key(field) == key


# -- Stored shape ---------------------------------------------------------------------------


def test_entries_are_json_with_value_and_expiry(api: KubeApi, store: ConfigMapStateStore) -> None:
    before = time.time()
    store.set("task:acme-widgets-7001", '{"status": "running"}')
    store.claim("dedup:delivery:72d3162e", "ingest", 60)
    store.push("history:fp-1", "e1", max_len=3)
    store.push("history:fp-1", "e2", max_len=3)

    cm = api.configmap(NS, "healer-state")
    assert cm["metadata"]["labels"]["app.kubernetes.io/name"] == "healer"
    data = {k: json.loads(v) for k, v in cm["data"].items()}
    assert data["task_3Aacme-widgets-7001"] == {"v": '{"status": "running"}', "exp": None}
    claim = data["dedup_3Adelivery_3A72d3162e"]
    assert claim["v"] == "ingest"
    assert before + 59 <= claim["exp"] <= time.time() + 61
    assert data["history_3Afp-1"] == {"v": ["e2", "e1"], "exp": None}


def test_every_write_bumps_the_resource_version(api: KubeApi, store: ConfigMapStateStore) -> None:
    store.set("k", "1")
    first = int(api.configmap(NS, "healer-state")["metadata"]["resourceVersion"])
    store.set("k", "2")
    assert int(api.configmap(NS, "healer-state")["metadata"]["resourceVersion"]) > first
    assert api.requests["create"] == 1 and api.requests["update"] == 1


def test_reads_and_no_op_writes_never_create_the_configmap(
    api: KubeApi, store: ConfigMapStateStore
) -> None:
    assert store.get("task:none") is None
    assert store.items("history:none") == []
    assert store.keys("") == []
    store.delete("task:none")
    store.ping()
    assert api.requests["create"] == 0 and api.requests["update"] == 0
    with pytest.raises(KeyError):
        api.configmap(NS, "healer-state")


def test_expired_entries_are_pruned_by_the_next_write(
    api: KubeApi, make_store: Callable[..., ConfigMapStateStore]
) -> None:
    now = [1_000.0]
    store = make_store()
    store._clock = lambda: now[0]
    store.claim("dedup:delivery:old", "x", 10)
    store.set("task:keep", "v")
    now[0] += 11
    assert store.get("dedup:delivery:old") is None
    assert "dedup_3Adelivery_3Aold" in api.configmap(NS, "healer-state")["data"]  # still stored
    store.set("task:other", "w")
    assert sorted(api.configmap(NS, "healer-state")["data"]) == ["task_3Akeep", "task_3Aother"]


def test_long_keys_are_hashed_but_still_listed(store: ConfigMapStateStore) -> None:
    key = "dedup:job:" + "a" * 300 + "/repo:1:1"
    assert store.claim(key, "x", 60)
    assert store.claim(key, "y", 60) is False
    assert store.get(key) == "x"
    assert store.keys("dedup:job:") == [key]


def test_hand_written_plain_values_are_readable(api: KubeApi, store: ConfigMapStateStore) -> None:
    api.registry.create(NS, {"metadata": {"name": "healer-state"}, "data": {"operator-note": "hi"}})
    assert store.get("operator-note") == "hi"
    assert store.keys("operator") == ["operator-note"]
    store.set("task:t", "v")  # a write keeps entries it did not write
    assert store.get("operator-note") == "hi"


def test_sharded_keys_spread_over_configmaps_and_stay_atomic(
    api: KubeApi, make_store: Callable[..., ConfigMapStateStore]
) -> None:
    store = make_store(configmap_shards=4)
    keys = [f"task:acme-widgets-{n}" for n in range(20)]
    for key in keys:
        assert store.claim(key, "x", 60)
        assert store.claim(key, "y", 60) is False
    listed = api.registry.list(NS, {"app.kubernetes.io/component": "state"})["items"]
    assert {cm["metadata"]["name"] for cm in listed} == {f"healer-state-{i}" for i in range(4)}
    assert store.keys("task:") == sorted(keys)


# -- Optimistic concurrency -----------------------------------------------------------------


def test_a_conflicting_write_is_re_read_and_retried(
    api: KubeApi, store: ConfigMapStateStore
) -> None:
    store.set("limits:running", "1")
    api.conflicts_to_inject = 3
    assert store.incr("limits:running") == 2
    assert api.requests["update"] == 4  # three 409s, then the write that landed


def test_endless_conflicts_give_up_as_unavailable(
    api: KubeApi, make_store: Callable[..., ConfigMapStateStore]
) -> None:
    store = make_store()
    store.set("k", "v")
    store.max_attempts = 5
    api.conflicts_to_inject = 10
    with pytest.raises(StoreUnavailable, match="too many concurrent writers"):
        store.claim("dedup:delivery:d-1", "x", 60)
    assert api.requests["update"] == 5


class _StaleFirstRead(ConfigMapApi):
    """Claims the ConfigMap is missing once, as if another process created it meanwhile."""

    stale = True

    def read(self, name: str) -> dict[str, Any] | None:
        if self.stale:
            self.stale = False
            return None
        return super().read(name)


def test_create_losing_to_another_creator_re_reads(api: KubeApi) -> None:
    api.registry.create(NS, {"metadata": {"name": "healer-state"}, "data": {"task_3Ax": "{}"}})
    base = ConfigMapApi.from_settings(settings_for(api.url))
    stale = _StaleFirstRead(base.kube, NS)
    store = ConfigMapStateStore(stale)
    try:
        assert store.claim("dedup:run:acme/webapp:7002:1", "me", 60)
    finally:
        base.close()
    assert api.requests["create"] == 1  # 409 AlreadyExists …
    assert api.requests["update"] == 1  # … then a conditional update of the real one
    assert sorted(api.configmap(NS, "healer-state")["data"]) == [
        "dedup_3Arun_3Aacme_2Fwebapp_3A7002_3A1",
        "task_3Ax",
    ]


_CLAIMANT = textwrap.dedent(
    """
    import json, sys, threading, time
    from healer.settings import Settings
    from healer.stores.factory import state_store

    url, start_at, tag = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    store = state_store(Settings(state_backend="configmap", kube_api_url=url, namespace="cto"))
    store.ping()  # connect before the start line
    results = []
    def claim(n):
        who = f"{tag}-{n}"
        results.append([who, store.claim("dedup:run:acme/webapp:7002:1", who, 60)])
    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    time.sleep(max(0.0, start_at - time.time()))
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps(results))
    """
)


def test_two_processes_racing_a_claim_have_one_winner(
    api: KubeApi, store: ConfigMapStateStore
) -> None:
    store.set("task:seed", "{}")  # the ConfigMap exists: the race is between conditional PUTs
    start_at = f"{time.time() + 2.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMANT, api.url, start_at, tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        results.extend(json.loads(out))
    winners = [who for who, won in results if won]
    assert len(results) == 8
    assert api.requests["get"] >= 2 + 8  # two pings, then every claim read the ConfigMap
    assert api.requests["create"] == 1  # only the seed: the claims all went through updates
    assert len(winners) == 1
    assert store.get("dedup:run:acme/webapp:7002:1") == winners[0]


# -- Errors ---------------------------------------------------------------------------------


def _operations(store: ConfigMapStateStore) -> list[Callable[[], object]]:
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


@pytest.mark.parametrize("outage", ["unavailable", "drop"])
def test_api_outage_is_store_unavailable(
    api: KubeApi, store: ConfigMapStateStore, outage: str
) -> None:
    store.set("k", "before")
    api.outage = outage
    for operation in _operations(store):
        with pytest.raises(StoreUnavailable):
            operation()
    api.outage = None
    assert store.get("k") == "before"


def test_refused_connections_are_store_unavailable(
    closed_port: int, make_store: Callable[..., ConfigMapStateStore]
) -> None:
    store = make_store(f"http://127.0.0.1:{closed_port}")
    for operation in _operations(store):
        with pytest.raises(StoreUnavailable, match="unreachable"):
            operation()


def test_a_silent_api_server_times_out_as_unavailable(
    make_store: Callable[..., ConfigMapStateStore],
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        store = make_store(f"http://127.0.0.1:{silent.getsockname()[1]}", kube_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.get("k")
        assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("verb", "operation"),
    [
        ("get", lambda s: s.get("k")),
        ("create", lambda s: s.set("fresh", "v")),
        ("update", lambda s: s.set("k", "v2")),
    ],
)
def test_missing_rbac_verb_is_a_clear_permanent_error(
    api: KubeApi, store: ConfigMapStateStore, verb: str, operation: Callable[[Any], object]
) -> None:
    if verb != "create":
        store.set("k", "v")
    api.forbidden_verbs = {verb}
    with pytest.raises(StoreForbidden, match=f"RBAC verb '{verb}' on configmaps") as raised:
        operation(store)
    assert not isinstance(raised.value, StoreUnavailable)
    assert "cannot " + verb in str(raised.value)  # the API server's own words are kept


def test_writes_past_the_size_budget_are_refused(api: KubeApi, store: ConfigMapStateStore) -> None:
    store.set("blob:a", "x" * (MAX_DATA_BYTES // 2))
    version = api.configmap(NS, "healer-state")["metadata"]["resourceVersion"]
    with pytest.raises(StoreFull, match="configmap_shards"):
        store.set("blob:b", "y" * (MAX_DATA_BYTES // 2 + 1024))
    assert api.configmap(NS, "healer-state")["metadata"]["resourceVersion"] == version
    store.set("blob:a", "small")  # shrinking writes still go through
    store.set("blob:b", "y" * (MAX_DATA_BYTES // 2))


def test_non_integer_counter_is_an_error_not_a_reset(store: ConfigMapStateStore) -> None:
    store.set("limits:running", "many")
    with pytest.raises(StoreError, match="not an integer"):
        store.incr("limits:running")
    assert store.get("limits:running") == "many"


# -- Wiring ---------------------------------------------------------------------------------


def test_factory_names_every_backend() -> None:
    with pytest.raises(InvalidInput, match="memory, redis, configmap"):
        state_store(Settings(state_backend="etcd"))


def test_settings_read_the_configmap_fields_from_the_environment() -> None:
    settings = Settings.load(
        {
            "HEALER_STATE_BACKEND": "configmap",
            "HEALER_CONFIGMAP_NAME": "healer-dev",
            "HEALER_CONFIGMAP_SHARDS": "3",
            "HEALER_KUBE_API_URL": "http://127.0.0.1:1",
        },
        config_path="/nonexistent.json",
    )
    store = state_store(settings)
    assert isinstance(store, ConfigMapStateStore)
    assert store.names == ["healer-dev-0", "healer-dev-1", "healer-dev-2"]


def test_module_import_leaves_the_kubernetes_client_unloaded() -> None:
    code = (
        "import json, sys; import healer.stores.configmap, healer.stores.factory; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'kubernetes', 'urllib3'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# -- The test API server behaves like the real one ------------------------------------------


def test_local_api_server_speaks_the_kubernetes_rest_shapes(api: KubeApi) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    configuration = client.Configuration()
    configuration.host = api.url
    with client.ApiClient(configuration) as api_client:
        core = client.CoreV1Api(api_client)
        made = core.create_namespaced_config_map(
            NS,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="demo", labels={"app": "x"}), data={"a": "1"}
            ),
        )
        assert made.metadata is not None
        stale = made.metadata.resource_version
        patched = core.patch_namespaced_config_map("demo", NS, {"data": {"b": "2", "a": None}})
        assert patched.data == {"b": "2"}
        assert patched.metadata is not None
        assert int(patched.metadata.resource_version or 0) > int(stale or 0)
        assert [
            i.metadata.name if i.metadata else None
            for i in core.list_namespaced_config_map(NS, label_selector="app=x").items
        ] == ["demo"]
        assert core.list_namespaced_config_map(NS, label_selector="app=y").items == []

        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="demo", resource_version=stale), data={}
        )
        with pytest.raises(ApiException) as conflict:
            core.replace_namespaced_config_map("demo", NS, body)
        status = json.loads(conflict.value.body or "")
        assert (conflict.value.status, status["kind"], status["status"], status["reason"]) == (
            409,
            "Status",
            "Failure",
            "Conflict",
        )
        with pytest.raises(ApiException) as exists:
            core.create_namespaced_config_map(
                NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="demo"))
            )
        assert json.loads(exists.value.body or "")["reason"] == "AlreadyExists"

        core.delete_namespaced_config_map("demo", NS)
        with pytest.raises(ApiException) as missing:
            core.read_namespaced_config_map("demo", NS)
        assert missing.value.status == 404
        assert json.loads(missing.value.body or "")["message"] == 'configmaps "demo" not found'
