"""What `kubectl apply -k` would send, checked against the upstream schemas.

Every kustomization (the base, the production overlay, the overlay with the OIDC component, and
the overlay moved to another namespace) is rendered with `kubectl kustomize` and each object is
validated: Knative objects with the cloudcoil models generated from the Knative CRDs, core ones
with kubernetes-validate in strict mode. The models ignore fields they do not know, so every
field of the input must also come back out of the model unchanged: a misspelt or misplaced
field is a failure, as it would be silently dropped by the API server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pydantic
import pytest
import yaml
from cloudcoil.models.knative_eventing.eventing import v1 as eventing_v1
from cloudcoil.models.knative_eventing.eventing import v1alpha1 as eventing_v1alpha1
from cloudcoil.models.knative_eventing.sources import v1 as sources_v1
from cloudcoil.models.knative_serving.serving import v1 as serving_v1

ROOT = Path(__file__).resolve().parents[3]
KNATIVE = ROOT / "knative"
BASE = KNATIVE / "base"
PRODUCTION = KNATIVE / "overlays" / "production"
OIDC = KNATIVE / "components" / "oidc-event-policy"

STAGES = ("ingest", "classify", "gather", "spawn", "completion-check", "escalate", "status")
K8S_VERSION = "1.32.0"
KNATIVE_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("serving.knative.dev/v1", "Service"): serving_v1.Service,
    ("eventing.knative.dev/v1", "Broker"): eventing_v1.Broker,
    ("eventing.knative.dev/v1", "Trigger"): eventing_v1.Trigger,
    ("sources.knative.dev/v1", "ApiServerSource"): sources_v1.ApiServerSource,
    ("sources.knative.dev/v1", "PingSource"): sources_v1.PingSource,
    ("eventing.knative.dev/v1alpha1", "EventPolicy"): eventing_v1alpha1.EventPolicy,
}
CORE_KINDS = {"ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"}
SECRET_SETTINGS = (
    "HEALER_REDIS_URL",
    "HEALER_S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


# --- rendering ---------------------------------------------------------------------------------


def find_kubectl(path: str | None = None) -> str:
    """kubectl carries kustomize; without it these checks cannot run, and must say so."""
    found = shutil.which("kubectl", path=path)
    if found is None:
        raise RuntimeError(
            "kubectl not found on PATH: the manifest tests render the kustomizations with "
            "`kubectl kustomize` (kubectl >= 1.27, kustomize v5). Install kubectl "
            "(scripts/setup.sh says how) and run the tests again."
        )
    return found


def render(directory: Path) -> list[dict[str, Any]]:
    try:
        kubectl = find_kubectl()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def overlay(
    tmp: Path, *, namespace: str | None, resources: list[Path], components: list[Path]
) -> Path:
    """A throw-away kustomization on top of the shipped ones, the way a platform team stacks."""
    body: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # kustomize refuses absolute roots: point at the shipped ones relatively.
        "resources": [os.path.relpath(p, tmp) for p in resources],
    }
    if namespace:
        body["namespace"] = namespace
    if components:
        body["components"] = [os.path.relpath(p, tmp) for p in components]
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "kustomization.yaml").write_text(yaml.safe_dump(body))
    return tmp


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render(BASE)


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return render(PRODUCTION)


@pytest.fixture(scope="module")
def production_oidc(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    where = tmp_path_factory.mktemp("oidc")
    return render(overlay(where, namespace=None, resources=[PRODUCTION], components=[OIDC]))


@pytest.fixture(scope="module")
def renders(
    base: list[dict[str, Any]],
    production: list[dict[str, Any]],
    production_oidc: list[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    return {"base": base, "production": production, "production+oidc": production_oidc}


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(service: dict[str, Any]) -> dict[str, Any]:
    (only,) = service["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def env_of(service: dict[str, Any]) -> list[dict[str, Any]]:
    return list(container(service).get("env") or [])


# --- validation --------------------------------------------------------------------------------


def _dropped(raw: Any, kept: Any, where: str) -> Iterator[str]:
    """Paths of ``raw`` that the model did not keep as they were (unknown or coerced)."""
    if isinstance(raw, dict):
        if not isinstance(kept, dict):
            yield where
            return
        for key, value in raw.items():
            if key not in kept:
                yield f"{where}.{key}"
            else:
                yield from _dropped(value, kept[key], f"{where}.{key}")
    elif isinstance(raw, list):
        if not isinstance(kept, list) or len(kept) != len(raw):
            yield where
            return
        for i, (a, b) in enumerate(zip(raw, kept, strict=True)):
            yield from _dropped(a, b, f"{where}[{i}]")
    elif raw != kept or type(raw) is not type(kept):
        yield f"{where} (= {raw!r}, read as {kept!r})"


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems with one rendered object; empty when the upstream schema accepts all of it."""
    key = (doc.get("apiVersion", ""), doc.get("kind", ""))
    model = KNATIVE_MODELS.get(key)
    if model is not None:
        try:
            parsed = model.model_validate(doc)
        except pydantic.ValidationError as exc:
            return [str(exc)]
        kept = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return [f"unknown or mistyped field {p}" for p in _dropped(doc, kept, key[1])]
    if key[1] in CORE_KINDS:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            return [f"{exc.path}: {exc.message}" if hasattr(exc, "path") else str(exc)]
        return []
    return [f"no schema for {key}: add one before shipping this kind"]


def test_every_rendered_object_matches_its_upstream_schema(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    for label, docs in renders.items():
        assert docs
        for doc in docs:
            problems = validate(doc)
            assert not problems, f"{label}: {doc['kind']} {doc['metadata']['name']}: {problems}"


# A deliberately wrong object of each family must be caught.
GOOD_SERVICE = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "ingest"},
    "spec": {
        "template": {
            "spec": {"containerConcurrency": 10, "containers": [{"image": "healer"}]},
        }
    },
}


def _with(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(doc)
    node = out
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return out


def test_a_good_service_passes() -> None:
    assert validate(GOOD_SERVICE) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.template.spec.containerConcurency", 10),  # misspelt
        ("spec.template.spec.containers.0.imagePullPolicyy", "Always"),  # misspelt, nested
        ("spec.visibility", "cluster-local"),  # a label put where no field is
        ("spec.template.spec.containerConcurrency", "10"),  # string for an integer
        ("spec.template.spec.containerConcurrency", "ten"),
    ],
)
def test_a_wrong_knative_service_fails(path: str, value: Any) -> None:
    assert validate(_with(GOOD_SERVICE, path, value))


def test_a_wrong_event_policy_fails() -> None:
    policy = {
        "apiVersion": "eventing.knative.dev/v1alpha1",
        "kind": "EventPolicy",
        "metadata": {"name": "p"},
        "spec": {"from": [{"sub": "system:serviceaccount:ns:sa"}]},
    }
    assert validate(policy) == []
    assert validate(_with(policy, "spec.from.0", {"subject": "system:serviceaccount:ns:sa"}))
    assert validate(_with(policy, "spec.to", [{"reference": {"kind": "Broker"}}]))


def test_a_wrong_core_object_fails() -> None:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    assert validate(policy) == []
    assert validate(_with(policy, "spec.ingres", []))
    assert validate(_with(policy, "spec.podSelector", {"matchLabel": {"a": "b"}}))
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    assert validate(config) == []
    assert validate(_with(config, "data", {"n": 3}))


def test_an_unknown_kind_fails() -> None:
    assert validate({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}})


def test_a_missing_kubectl_is_named() -> None:
    with pytest.raises(RuntimeError, match="kubectl not found on PATH"):
        find_kubectl(path="/nonexistent")


# --- the Services ------------------------------------------------------------------------------


def test_services_are_cluster_local_one_image_one_stage_each(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    for label, docs in renders.items():
        services = of_kind(docs, "Service")
        assert set(services) == set(STAGES), label
        images = {container(s)["image"] for s in services.values()}
        assert len(images) == 1, f"{label}: {images}"
        for name, service in services.items():
            labels = service["metadata"]["labels"]
            assert labels["networking.knative.dev/visibility"] == "cluster-local", name
            c = container(service)
            assert "command" not in c and "args" not in c, name
            env = {e["name"]: e for e in env_of(service)}
            assert env["HEALER_FUNCTION"]["value"] == name
            assert (ROOT / "functions" / name.replace("-", "_") / "main.py").is_file()
            assert env["HEALER_NAMESPACE"]["valueFrom"] == {
                "fieldRef": {"fieldPath": "metadata.namespace"}
            }
            assert c["readinessProbe"]["httpGet"]["path"] == "/health/readiness"


def test_threads_match_container_concurrency(renders: dict[str, list[dict[str, Any]]]) -> None:
    for label, docs in renders.items():
        for name, service in of_kind(docs, "Service").items():
            spec = service["spec"]["template"]["spec"]
            env = {e["name"]: e.get("value") for e in env_of(service)}
            assert "WORKERS" not in env, "one gunicorn worker: THREADS is the whole concurrency"
            assert env["THREADS"] == str(spec["containerConcurrency"]), f"{label}: {name}"
            annotations = service["spec"]["template"]["metadata"]["annotations"]
            target = int(annotations["autoscaling.knative.dev/target"])
            assert 0 < target <= spec["containerConcurrency"], f"{label}: {name}"
            assert 0 < spec["timeoutSeconds"] <= 600


def test_env_references_come_after_what_they_reference(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """Kubernetes expands $(VAR) only from variables defined earlier in the list."""
    for docs in renders.values():
        for service in of_kind(docs, "Service").values():
            seen: set[str] = set()
            for entry in env_of(service):
                for ref in re.findall(r"\$\((\w+)\)", str(entry.get("value", ""))):
                    assert ref in seen, f"{entry['name']} uses $({ref}) before it is defined"
                seen.add(entry["name"])


def test_the_namespace_is_named_only_where_kustomize_rewrites_it(tmp_path: Path) -> None:
    moved = overlay(
        tmp_path / "elsewhere",
        namespace="healer-elsewhere",
        resources=[PRODUCTION],
        components=[OIDC],
    )
    docs = render(moved)
    text = yaml.safe_dump_all(docs)
    assert not re.search(r"\bcto\b", text), [
        line for line in text.splitlines() if re.search(r"\bcto\b", line)
    ]
    assert {d["metadata"]["namespace"] for d in docs} == {"healer-elsewhere"}
    base_moved = render(overlay(tmp_path / "base", namespace="x", resources=[BASE], components=[]))
    assert not re.search(r"\bcto\b", yaml.safe_dump_all(base_moved))


def test_the_sweep_trigger_matches_the_ping_source_in_any_namespace(
    base: list[dict[str, Any]],
) -> None:
    from healer_dev.broker.filters import compile_trigger_filter

    trigger = of_kind(base, "Trigger")["completion-check-sweep"]
    ping = next(iter(of_kind(base, "PingSource")))
    matches = compile_trigger_filter(trigger["spec"]).matches
    for ns in ("cto", "healer-elsewhere"):
        source = f"/apis/v1/namespaces/{ns}/pingsources/{ping}"
        assert matches({"type": "dev.knative.sources.ping", "source": source})
    assert not matches({"type": "dev.knative.sources.ping", "source": "/x/pingsources/other"})


# --- the closed event path ---------------------------------------------------------------------


def test_network_policy_admits_only_the_knative_data_plane(base: list[dict[str, Any]]) -> None:
    (policy,) = of_kind(base, "NetworkPolicy").values()
    spec = policy["spec"]
    (selector,) = spec["podSelector"]["matchExpressions"]
    assert selector["key"] == "serving.knative.dev/service" and selector["operator"] == "In"
    assert set(selector["values"]) == set(STAGES)
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    (peer,) = rule["from"]
    assert set(peer) == {"namespaceSelector"}, "no podSelector: the namespace's own pods stay out"
    (namespaces,) = peer["namespaceSelector"]["matchExpressions"]
    assert namespaces["key"] == "kubernetes.io/metadata.name"
    assert "knative-serving" in namespaces["values"]
    assert "cto" not in namespaces["values"]


def test_event_policy_is_optional_and_names_every_healer_sender(
    base: list[dict[str, Any]],
    production: list[dict[str, Any]],
    production_oidc: list[dict[str, Any]],
) -> None:
    # Eventing rejects EventPolicies while OIDC is off: neither shipped kustomization has one.
    assert not of_kind(base, "EventPolicy") and not of_kind(production, "EventPolicy")
    (policy,) = of_kind(production_oidc, "EventPolicy").values()
    assert policy["spec"]["to"] == [
        {"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "healer"}}
    ]
    senders = {(f["ref"]["kind"], f["ref"]["name"]) for f in policy["spec"]["from"]}
    expected = {("Trigger", name) for name in of_kind(production_oidc, "Trigger")}
    expected |= {("ApiServerSource", n) for n in of_kind(production_oidc, "ApiServerSource")}
    expected |= {("PingSource", n) for n in of_kind(production_oidc, "PingSource")}
    assert senders == expected
    assert all("namespace" not in f["ref"] for f in policy["spec"]["from"])


# --- production --------------------------------------------------------------------------------


def test_production_broker_is_kafka_with_its_config(production: list[dict[str, Any]]) -> None:
    broker = of_kind(production, "Broker")["healer"]
    assert broker["metadata"]["annotations"]["eventing.knative.dev/broker.class"] == "Kafka"
    ref = broker["spec"]["config"]
    assert (ref["apiVersion"], ref["kind"]) == ("v1", "ConfigMap")
    config = of_kind(production, "ConfigMap")[ref["name"]]["data"]
    assert set(config) >= {
        "bootstrap.servers",
        "default.topic.partitions",
        "default.topic.replication.factor",
    }
    assert broker["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] == "status"
    forward = next(
        e["value"]
        for e in env_of(of_kind(production, "Service")["completion-check"])
        if e["name"] == "HEALER_BROKER_URL"
    )
    assert forward.startswith("http://kafka-broker-ingress.knative-eventing.svc.cluster.local/")


def test_production_reads_connections_and_credentials_from_required_secret_keys(
    production: list[dict[str, Any]],
) -> None:
    for name, service in of_kind(production, "Service").items():
        by_name = {e["name"]: e for e in env_of(service)}
        for key in SECRET_SETTINGS:
            ref = by_name[key]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "healer-secrets", "key": key}, f"{name}: {key} must be required"


def test_what_production_must_set_cannot_resolve_until_set(
    production: list[dict[str, Any]],
) -> None:
    """The shipped registry and Kafka servers sit under .invalid (RFC 6761), never resolvable."""
    (image,) = {container(s)["image"] for s in of_kind(production, "Service").values()}
    assert image.split("/")[0].endswith(".invalid")
    servers = of_kind(production, "ConfigMap")["kafka-broker-config"]["data"]["bootstrap.servers"]
    assert all(s.split(":")[0].endswith(".invalid") for s in servers.split(","))
    readme = (ROOT / "README.md").read_text()
    for must in ("registry.invalid", "kafka.invalid", *SECRET_SETTINGS):
        assert must in readme, f"README's Deploying section must say how to set {must}"


def test_production_keeps_warm_what_a_cold_start_would_cost(
    production: list[dict[str, Any]],
) -> None:
    scale = {
        name: s["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
        for name, s in of_kind(production, "Service").items()
    }
    assert {n for n, v in scale.items() if v == "1"} == {"ingest", "status"}
    assert all(v in {"0", "1"} for v in scale.values())
    for name, service in of_kind(production, "Service").items():
        resources = container(service)["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
        assert resources["limits"]["memory"], name


def test_secret_example_lists_every_key_the_manifests_require(
    production: list[dict[str, Any]],
) -> None:
    example = yaml.safe_load((KNATIVE / "secret.example.yaml").read_text())
    assert "namespace" not in example["metadata"]
    assert validate(example) == []
    required = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for s in of_kind(production, "Service").values()
        for e in env_of(s)
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert required <= set(example["stringData"])
