"""The kustomize base agrees with the vocabulary and with the functions in the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from healer.vocabulary import EventType
from healer_dev.broker.delivery import DeadLetterSink
from healer_dev.broker.triggers import Topology, load_documents

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "knative" / "base"

# What each deployed stage replies with (docs/architecture.md).
EMITS = {
    "ingest": {EventType.FAILURE_DETECTED, EventType.ALERT_DETECTED},
    "classify": {EventType.FAILURE_CLASSIFIED},
    "gather": {EventType.CONTEXT_GATHERED},
    "spawn": {EventType.REMEDIATION_STARTED, EventType.REMEDIATION_SKIPPED},
    "completion-check": {
        EventType.REMEDIATION_SUCCEEDED,
        EventType.REMEDIATION_RETRY,
        EventType.REMEDIATION_EXHAUSTED,
    },
    "escalate": {EventType.REMEDIATION_ESCALATED},
    "status": set(),
}
# Consumed by stages outside this base so far (completion-check), or by nobody.
TERMINAL = {
    EventType.REMEDIATION_STARTED,
    EventType.REMEDIATION_SKIPPED,
    EventType.REMEDIATION_SUCCEEDED,
    EventType.REMEDIATION_ESCALATED,
}


@pytest.fixture(scope="module")
def topology() -> Topology:
    return Topology.load(BASE)


@pytest.fixture(scope="module")
def documents() -> list[tuple[Path, dict[str, Any]]]:
    return load_documents(BASE)


def _filtered_types(trigger_doc: dict[str, Any]) -> set[str]:
    spec = trigger_doc["spec"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "type" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec.get("filters") or spec.get("filter"))
    return found


def test_kustomization_lists_every_file_in_the_base() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_every_trigger_filters_on_a_vocabulary_type(
    documents: list[tuple[Path, dict[str, Any]]],
) -> None:
    triggers = [doc for _, doc in documents if doc["kind"] == "Trigger"]
    assert triggers
    for doc in triggers:
        types = _filtered_types(doc)
        assert types, f"trigger {doc['metadata']['name']} has no type filter"
        assert types <= {t.value for t in EventType}, doc["metadata"]["name"]


def test_every_subscriber_is_a_service_with_a_function(topology: Topology) -> None:
    for trigger in topology.triggers:
        assert trigger.broker == "healer"
        service = topology.services[trigger.subscriber.service]
        assert service.source == f"functions/{service.package}/main.py"
        assert (ROOT / service.source).is_file(), service.source


def test_every_service_runs_its_own_function(topology: Topology) -> None:
    assert set(topology.services) == set(EMITS)
    for name, service in topology.services.items():
        assert service.package == name.replace("-", "_")
        assert (ROOT / service.source).is_file()


def test_every_emitted_type_has_a_consumer_or_is_terminal(topology: Topology) -> None:
    for stage, emitted in EMITS.items():
        for event_type in emitted:
            consumers = topology.matching(
                {"type": event_type.value, "source": f"healer/{stage}", "id": "x"}
            )
            assert consumers or event_type in TERMINAL, (
                f"{stage} emits {event_type} that nobody consumes"
            )
            assert all(t.subscriber.service != stage for t in consumers), (
                f"{stage} would consume its own reply"
            )


def test_routes(topology: Topology) -> None:
    def routed(event_type: EventType, **extensions: str) -> list[str]:
        attributes = {"type": event_type.value, **extensions}
        return [t.subscriber.service for t in topology.matching(attributes)]

    # completion-check hears only CI results, picked by the Sensor's githubevent extension.
    assert routed(EventType.GITHUB_WEBHOOK) == ["ingest"]
    assert routed(EventType.GITHUB_WEBHOOK, githubevent="workflow_job") == ["ingest"]
    for ci_event in ("workflow_run", "check_suite"):
        assert routed(EventType.GITHUB_WEBHOOK, githubevent=ci_event) == [
            "completion-check",
            "ingest",
        ]
    assert routed(EventType.FAILURE_DETECTED) == ["classify"]
    assert routed(EventType.ALERT_DETECTED) == ["classify"]
    assert routed(EventType.FAILURE_CLASSIFIED) == ["gather"]
    assert routed(EventType.REMEDIATION_RETRY) == ["gather"]
    assert routed(EventType.CONTEXT_GATHERED) == ["spawn"]
    assert routed(EventType.REMEDIATION_EXHAUSTED) == ["escalate"]


def test_broker_delivery(topology: Topology) -> None:
    delivery = topology.brokers["healer"].delivery
    assert (delivery.retry, delivery.backoff_policy, delivery.backoff_delay) == (
        5,
        "exponential",
        0.5,
    )
    assert delivery.dead_letter == DeadLetterSink(service="status", path="/dead-letter")


def test_services_are_knative_ready(documents: list[tuple[Path, dict[str, Any]]]) -> None:
    services = [doc for _, doc in documents if doc["kind"] == "Service"]
    for doc in services:
        name = doc["metadata"]["name"]
        template = doc["spec"]["template"]
        scale = template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
        assert scale == ("1" if name == "ingest" else "0")
        spec = template["spec"]
        assert spec["containerConcurrency"] > 0 and 0 < spec["timeoutSeconds"] <= 600
        (container,) = spec["containers"]
        # One image for every stage; HEALER_FUNCTION picks the stage, the entrypoint is the image's.
        assert container["image"] == "healer"
        assert "command" not in container and "args" not in container
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["HEALER_FUNCTION"] == name
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveness"
        sources = {next(iter(e.values()))["name"] for e in container["envFrom"]}
        assert sources == {"healer-config", "healer-secrets"}


def test_config_keys_are_settings() -> None:
    from dataclasses import fields

    from healer.settings import Settings

    config = yaml.safe_load((BASE / "config.yaml").read_text())
    names = {f"HEALER_{f.name.upper()}" for f in fields(Settings)}
    assert set(config["data"]) <= names
    assert all(isinstance(v, str) for v in config["data"].values())


def test_escalate_retries_slower_and_still_dead_letters(topology: Topology) -> None:
    (trigger,) = topology.matching({"type": EventType.REMEDIATION_EXHAUSTED.value})
    delivery = topology.delivery_for(trigger)
    assert (delivery.retry, delivery.backoff_policy, delivery.backoff_delay) == (
        6,
        "exponential",
        1.0,
    )
    assert delivery.dead_letter == DeadLetterSink(service="status", path="/dead-letter")


def test_completion_check_hears_coderuns_ci_and_the_sweep(
    topology: Topology, documents: list[tuple[Path, dict[str, Any]]]
) -> None:
    def routed(attributes: dict[str, str]) -> list[str]:
        return [t.subscriber.service for t in topology.matching(attributes)]

    coderun = "/apis/agents.platform/v1/namespaces/cto/coderuns/healer-acme-widgets-7001-a1"
    update = EventType.APISERVER_UPDATE.value
    assert routed({"type": update, "subject": coderun}) == ["completion-check"]
    assert routed({"type": update, "subject": "/api/v1/namespaces/cto/pods/x"}) == []
    sweep = "/apis/v1/namespaces/cto/pingsources/healer-sweep"
    assert routed({"type": EventType.PING.value, "source": sweep}) == ["completion-check"]
    kinds = {doc["kind"]: doc for _, doc in documents}
    (resource,) = kinds["ApiServerSource"]["spec"]["resources"]
    assert (resource["apiVersion"], resource["kind"]) == ("agents.platform/v1", "CodeRun")
    assert kinds["ApiServerSource"]["spec"]["mode"] == "Resource"
    assert kinds["PingSource"]["metadata"]["name"] == sweep.rsplit("/", 1)[1]
    account = kinds["ApiServerSource"]["spec"]["serviceAccountName"]
    roles = [d for _, d in documents if d["kind"] == "Role" and d["metadata"]["name"] == account]
    assert roles[0]["rules"] == [
        {
            "apiGroups": ["agents.platform"],
            "resources": ["coderuns"],
            "verbs": ["get", "list", "watch"],
        }
    ]
