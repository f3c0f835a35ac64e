"""knative/argo: the EventSource and Sensor as Argo Events reads them.

Argo drops fields it does not know without a word, so the manifests are held to a strict
contract (``tests/contracts/argo-events.schema.json``) and, when the upstream Argo Events
schema is at hand, to it with unknown fields refused; the contract itself is checked to be a
faithful subset of upstream.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from healer.vocabulary import EventType

ROOT = Path(__file__).resolve().parents[2]
ARGO = ROOT / "knative" / "argo"
CONTRACT = json.loads((ROOT / "tests" / "contracts" / "argo-events.schema.json").read_text())
UPSTREAM_FILE = "argo-events-schema.json"
UPSTREAM_ROOTS = {
    "Sensor": "io.argoproj.events.v1alpha1.Sensor",
    "EventSource": "io.argoproj.events.v1alpha1.EventSource",
}
BROKER = "http://broker-ingress.knative-eventing.svc.cluster.local/{}/healer"
KUBECTL = shutil.which("kubectl")


def upstream_path() -> Path | None:
    """``HEALER_UPSTREAM_CRDS``, else ``<repo>/../shared/crds``, else ``/work/shared/crds``."""
    candidates = [
        os.environ.get("HEALER_UPSTREAM_CRDS", ""),
        str(ROOT.parent / "shared" / "crds"),
        "/work/shared/crds",
    ]
    for folder in filter(None, candidates):
        path = Path(folder) / UPSTREAM_FILE
        if path.is_file():
            return path
    return None


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    path = upstream_path()
    if path is None:
        pytest.skip(
            f"upstream Argo Events schema ({UPSTREAM_FILE}) not found: set HEALER_UPSTREAM_CRDS "
            "to the folder holding it to check the manifests and the contract against it"
        )
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every object that lists its properties refusing any other."""
    copied = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(copied)
    return copied


def upstream_validator(upstream: dict[str, Any], kind: str) -> Draft202012Validator:
    schema = strict(upstream)
    return Draft202012Validator({**schema, "$ref": f"#/definitions/{UPSTREAM_ROOTS[kind]}"})


def errors(validator: Draft202012Validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


CONTRACT_VALIDATOR = Draft202012Validator(CONTRACT)


def raw_documents() -> list[dict[str, Any]]:
    return [
        yaml.safe_load((ARGO / name).read_text()) for name in ("eventsource.yaml", "sensor.yaml")
    ]


def kustomize(namespace: str | None, tmp_path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of a copy of knative/argo, its namespace changed when given."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize` cannot be checked")
    folder = tmp_path / "argo"
    shutil.copytree(ARGO, folder)
    if namespace is not None:
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        kustomization["namespace"] = namespace
        (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in documents}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return kustomize(None, tmp_path_factory.mktemp("kustomize"))


# --- the contract ---------------------------------------------------------------------------


def test_the_manifests_follow_the_contract(built: list[dict[str, Any]]) -> None:
    for document in raw_documents() + built:
        assert errors(CONTRACT_VALIDATOR, document) == [], document["kind"]


def sensor_with_template_parameters() -> dict[str, Any]:
    sensor = by_kind(raw_documents())["Sensor"]
    (trigger,) = sensor["spec"]["triggers"]
    trigger["template"]["parameters"] = trigger.pop("parameters")
    return sensor


def eventsource_without_webhook_url() -> dict[str, Any]:
    eventsource = by_kind(raw_documents())["EventSource"]
    del eventsource["spec"]["github"]["healer"]["webhook"]["url"]
    return eventsource


def sensor_with_a_misspelt_field() -> dict[str, Any]:
    sensor = by_kind(raw_documents())["Sensor"]
    sensor["spec"]["triggers"][0]["atleastOnce"] = True
    return sensor


MISTAKES = [
    sensor_with_template_parameters,
    eventsource_without_webhook_url,
    sensor_with_a_misspelt_field,
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda f: f.__name__)
def test_the_contract_refuses_what_argo_would_drop_or_reject(mistake: Any) -> None:
    assert errors(CONTRACT_VALIDATOR, mistake())


def test_the_contract_is_strict_everywhere() -> None:
    def walk(node: Any, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                yield where
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}/{i}")

    assert list(walk(CONTRACT, "#")) == []


# --- the upstream schema --------------------------------------------------------------------


def test_the_manifests_validate_against_upstream_refusing_unknown_fields(
    upstream: dict[str, Any], built: list[dict[str, Any]]
) -> None:
    for document in raw_documents() + built:
        validator = upstream_validator(upstream, document["kind"])
        assert errors(validator, document) == [], document["kind"]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda f: f.__name__)
def test_upstream_refuses_the_same_mistakes(upstream: dict[str, Any], mistake: Any) -> None:
    document = mistake()
    assert errors(upstream_validator(upstream, document["kind"]), document)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        target: Any = root
        for part in pointer:
            target = target[part]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def contract_drift(contract: dict[str, Any], upstream: dict[str, Any]) -> list[str]:
    """Where ``contract`` allows what upstream does not know or does not allow."""
    problems: list[str] = []

    def compare(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
        ours, theirs = _resolve(ours, contract), _resolve(theirs, upstream)
        if _types(ours) and _types(theirs) and not _types(ours) <= _types(theirs):
            problems.append(f"{where}: type {sorted(_types(ours))} vs {sorted(_types(theirs))}")
        for literal in ([ours["const"]] if "const" in ours else []) + ours.get("enum", []):
            validator = Draft202012Validator({**upstream, **theirs})
            if not validator.is_valid(literal):
                problems.append(f"{where}: upstream refuses {literal!r}")
        if "properties" in ours:
            known = theirs.get("properties", {})
            for name, schema in ours["properties"].items():
                if name not in known:
                    problems.append(f"{where}.{name}: not an upstream field")
                else:
                    compare(schema, known[name], f"{where}.{name}")
            missing = set(theirs.get("required", [])) - set(ours.get("required", []))
            if missing:
                problems.append(f"{where}: upstream requires {sorted(missing)}")
        if "items" in ours:
            if "items" not in theirs:
                problems.append(f"{where}[]: upstream has no items")
            else:
                compare(ours["items"], theirs["items"], f"{where}[]")
        if isinstance(ours.get("additionalProperties"), dict):
            if not isinstance(theirs.get("additionalProperties"), dict):
                problems.append(f"{where}{{}}: upstream is not a map")
            else:
                compare(
                    ours["additionalProperties"], theirs["additionalProperties"], f"{where}{{}}"
                )

    for kind, definition in UPSTREAM_ROOTS.items():
        compare({"$ref": f"#/$defs/{kind}"}, {"$ref": f"#/definitions/{definition}"}, kind)
    return problems


def test_the_contract_is_a_subset_of_upstream(upstream: dict[str, Any]) -> None:
    assert contract_drift(CONTRACT, upstream) == []


def test_the_drift_check_notices_an_invented_field(upstream: dict[str, Any]) -> None:
    contract = copy.deepcopy(CONTRACT)
    contract["$defs"]["TriggerTemplate"]["properties"]["parameters"] = {"type": "array"}
    contract["$defs"]["WebhookContext"]["required"].remove("url")
    contract["$defs"]["HTTPTrigger"]["properties"]["timeout"] = {"type": "string"}
    drift = contract_drift(contract, upstream)
    assert "Sensor.spec.triggers[].template.parameters: not an upstream field" in drift
    assert any("upstream requires ['url']" in p for p in drift)
    assert any(p.startswith("Sensor.spec.triggers[].template.http.timeout: type") for p in drift)


# --- what the Sensor sends, and where --------------------------------------------------------


def test_the_sensor_sets_the_cloudevent_headers_at_trigger_level() -> None:
    sensor = by_kind(raw_documents())["Sensor"]
    (trigger,) = sensor["spec"]["triggers"]
    http = trigger["template"]["http"]
    assert http["headers"]["Ce-Type"] == EventType.GITHUB_WEBHOOK.value
    assert http["headers"]["Ce-Specversion"] == "1.0"
    assert http["headers"]["Content-Type"] == "application/json"
    assert "parameters" not in trigger["template"]
    keys = {p["dest"]: p["src"] for p in trigger["parameters"]}
    assert keys["http.headers.Ce-Id"]["dataKey"] == "body.X-GitHub-Delivery"
    assert keys["http.headers.Ce-Githubevent"]["dataKey"] == "body.X-GitHub-Event"
    assert keys["http.headers.Ce-Source"] == {
        "dependencyName": "github",
        "dataKey": "body.repository.html_url",
        "value": "https://github.com",
    }
    assert trigger["atLeastOnce"] is True and 202 in trigger["policy"]["status"]["allow"]
    eventsource = by_kind(raw_documents())["EventSource"]
    assert eventsource["metadata"]["name"] == sensor["spec"]["dependencies"][0]["eventSourceName"]
    assert sensor["spec"]["dependencies"][0]["eventName"] in eventsource["spec"]["github"]


# --- the namespace ---------------------------------------------------------------------------


def test_the_resources_name_no_namespace_of_their_own() -> None:
    for document in raw_documents():
        assert "namespace" not in document["metadata"], document["kind"]
    kustomization = yaml.safe_load((ARGO / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in ARGO.glob("*.yaml") if p.name != "kustomization.yaml"
    )


@pytest.mark.parametrize("namespace", ["cto", "ci-healer"])
def test_kustomize_sets_the_namespace_and_the_broker_url_together(
    namespace: str, tmp_path: Path
) -> None:
    documents = kustomize(namespace, tmp_path)
    assert {doc["metadata"]["namespace"] for doc in documents} == {namespace}
    (trigger,) = by_kind(documents)["Sensor"]["spec"]["triggers"]
    assert trigger["template"]["http"]["url"] == BROKER.format(namespace)
    if namespace != "cto":
        text = json.dumps(documents)
        assert '"cto"' not in text and "/cto/" not in text
