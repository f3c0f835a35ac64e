"""The kubernetes CodeRun backend: ``healer.kube`` against the local Kubernetes API server
(which holds CodeRuns to the CRD's schema; the official client sends what Healer never
would), alone, behind the spawn stage, and as the place completion-check reads CodeRuns back
from before it believes an update."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from cloudevents.http import CloudEvent
from completion_fixtures import EXAMPLES, TASK, checker, ci_done, push
from completion_fixtures import context as completion_context
from contexts import coderun_manifest, widgets_context
from event_data import data_of
from k8s_api import KubeApi
from kubernetes import client

from functions.completion_check.coderuns import (
    CodeRunsForbidden,
    CodeRunsUnavailable,
    KubernetesCodeRuns,
)
from functions.spawn.kube import KubernetesLauncher
from functions.spawn.launcher import LaunchForbidden, LaunchRejected, LaunchUnavailable
from functions.spawn.stage import Spawner
from healer.coderun import validate_coderun
from healer.events import build_event
from healer.models import ContextGathered
from healer.runtime import Skip
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, FAILURES_KEY
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, Stage
from healer_dev.broker.finish import coderun_update, fix_commit

pytestmark = pytest.mark.integration

NS = "cto"
NAME = "healer-acme-widgets-7001-a1"
GROUP, VERSION, PLURAL = "agents.platform", "v1", "coderuns"


@pytest.fixture(scope="module")
def kube_api() -> Iterator[KubeApi]:
    with KubeApi() as api:
        yield api


@pytest.fixture
def api(kube_api: KubeApi) -> KubeApi:
    kube_api.reset()
    return kube_api


def settings_for(url: str, **more: Any) -> Settings:
    return Settings(
        coderun_backend="kubernetes", kube_api_url=url, namespace=NS, kube_timeout=2, **more
    )


@pytest.fixture
def launcher(api: KubeApi) -> Iterator[KubernetesLauncher]:
    built = KubernetesLauncher.from_settings(settings_for(api.url))
    yield built
    built.close()


@pytest.fixture
def raw(api: KubeApi) -> Iterator[client.CustomObjectsApi]:
    """The plain client, for objects Healer would never send."""
    configuration = client.Configuration()
    configuration.host = api.url
    configuration.retries = urllib3.Retry(total=0)
    api_client = client.ApiClient(configuration)
    yield client.CustomObjectsApi(api_client)
    api_client.close()


def manifest(name: str = NAME) -> dict[str, Any]:
    """What spawn builds, under another name when asked."""
    return coderun_manifest(name, NS)


def legacy_manifest() -> dict[str, Any]:
    """The CodeRun Healer wrote before it had a contract: fields the CRD does not have, a
    string taskId, and none of the required service/docs/working-directory fields."""
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": NAME, "labels": {"app.kubernetes.io/managed-by": "healer"}},
        "spec": {
            "taskId": "acme-widgets-7001",
            "attempt": 1,
            "repositoryUrl": "https://github.com/acme/widgets",
            "branch": "feature/parser",
            "agent": "rex",
            "githubApp": "5DLabs-Rex",
            "cli": "claude",
            "model": "m-1",
            "failureType": "rust_test",
            "prompt": "Fix it.",
            "promptRef": {"blobKey": "repos/acme/widgets/runs/7001/attempt-1/prompt-1.md"},
        },
    }


def test_create_then_a_second_create_is_already_there(
    api: KubeApi, launcher: KubernetesLauncher
) -> None:
    first = launcher.launch(manifest())
    assert first.created and first.location == f"kubernetes:{NS}/coderuns/{NAME}"
    stored = api.coderuns.get(NS, NAME)
    sent = manifest()["spec"]
    # nothing pruned: the API server keeps every field, and fills the CRD's defaults
    assert {k: v for k, v in stored["spec"].items() if k in sent} == sent
    assert stored["spec"]["continueSession"] is False and stored["spec"]["docsBranch"] == "main"
    assert stored["metadata"]["namespace"] == NS and api.coderuns.warnings == []
    again = launcher.launch(manifest())
    assert not again.created and again.name == NAME
    assert api.coderun_requests["create"] == 2 and len(api.coderuns.objects) == 1


def test_the_legacy_coderun_is_refused_under_strict_field_validation(
    api: KubeApi, launcher: KubernetesLauncher
) -> None:
    with pytest.raises(LaunchRejected) as caught:
        launcher.launch(legacy_manifest())
    message = str(caught.value)
    assert caught.value.status == 422 and "(400)" in message and "strict decoding error" in message
    for field in ("spec.attempt", "spec.branch", "spec.prompt", "spec.promptRef"):
        assert f'unknown field "{field}"' in message
    assert api.coderuns.objects == {}


def test_the_legacy_coderun_is_invalid_even_once_its_unknown_fields_are_dropped(
    api: KubeApi, raw: client.CustomObjectsApi
) -> None:
    with pytest.raises(client.ApiException) as caught:
        raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, legacy_manifest())
    assert caught.value.status == 422
    body = json.loads(caught.value.body or "")
    assert body["reason"] == "Invalid" and body["details"]["kind"] == "CodeRun"
    causes = {(c["field"], c["reason"]) for c in body["details"]["causes"]}
    assert causes == {
        ("spec.taskId", "FieldValueTypeInvalid"),
        ("spec.service", "FieldValueRequired"),
        ("spec.docsRepositoryUrl", "FieldValueRequired"),
        ("spec.workingDirectory", "FieldValueRequired"),
    }
    assert "spec.taskId in body must be of type integer" in body["message"]


def test_unknown_fields_are_pruned_with_a_warning_without_strict_validation(
    api: KubeApi, raw: client.CustomObjectsApi
) -> None:
    body = manifest()
    body["spec"]["prompt"] = "dropped"
    body["spec"]["cliConfig"]["unknown"] = 1
    raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, body)
    stored = api.coderuns.get(NS, NAME)
    assert "prompt" not in stored["spec"] and "unknown" not in stored["spec"]["cliConfig"]
    assert sorted(api.coderuns.warnings) == [
        'unknown field "spec.cliConfig.unknown"',
        'unknown field "spec.prompt"',
    ]


def test_a_value_outside_an_enum_and_a_wrong_type_are_invalid(
    api: KubeApi, raw: client.CustomObjectsApi
) -> None:
    body = manifest()
    body["spec"]["runType"] = "fix"
    body["spec"]["env"]["HEALER_ATTEMPT"] = 1
    with pytest.raises(client.ApiException) as caught:
        raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, body)
    causes = {c["field"]: c for c in json.loads(caught.value.body or "")["details"]["causes"]}
    assert causes["spec.runType"]["reason"] == "FieldValueNotSupported"
    assert '"remediate"' in causes["spec.runType"]["message"]
    assert causes["spec.env.HEALER_ATTEMPT"]["reason"] == "FieldValueTypeInvalid"


def test_status_is_written_only_through_its_subresource(
    api: KubeApi, raw: client.CustomObjectsApi
) -> None:
    body = {**manifest(), "status": {"phase": "Succeeded"}}
    raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, body)
    assert "status" not in api.coderuns.get(NS, NAME)
    patch = {"status": {"phase": "Succeeded", "commits": ["abc"], "workCompleted": True}}
    raw.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, NAME, patch)
    assert api.coderuns.get(NS, NAME)["status"] == {"phase": "Succeeded", "workCompleted": True}
    with pytest.raises(client.ApiException) as caught:
        bad = {"status": {"workCompleted": "yes"}}
        raw.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, NAME, bad)
    assert caught.value.status == 422


def test_an_outage_is_retryable(api: KubeApi, launcher: KubernetesLauncher) -> None:
    api.outage = "unavailable"
    with pytest.raises(LaunchUnavailable, match="503") as caught:
        launcher.launch(manifest())
    assert caught.value.status == 503


def test_a_dropped_connection_is_retryable(api: KubeApi, launcher: KubernetesLauncher) -> None:
    api.outage = "drop"
    with pytest.raises(LaunchUnavailable, match="unreachable"):
        launcher.launch(manifest())


def test_an_unreachable_api_is_retryable(closed_port: int) -> None:
    launcher = KubernetesLauncher.from_settings(settings_for(f"http://127.0.0.1:{closed_port}"))
    try:
        with pytest.raises(LaunchUnavailable):
            launcher.launch(manifest())
    finally:
        launcher.close()


def test_missing_rbac_says_what_to_grant(api: KubeApi, launcher: KubernetesLauncher) -> None:
    api.forbidden_coderun_verbs = {"create"}
    with pytest.raises(LaunchForbidden) as caught:
        launcher.launch(manifest())
    assert caught.value.status == 403
    assert "verb 'create' on coderuns" in str(caught.value) and "agents.platform" in str(
        caught.value
    )


def test_an_invalid_name_is_a_permanent_rejection(
    api: KubeApi, launcher: KubernetesLauncher
) -> None:
    with pytest.raises(LaunchRejected) as caught:
        launcher.launch(manifest(name="Not_A_DNS_Name"))
    assert caught.value.status == 422 and "Invalid" in str(caught.value)


def context() -> ContextGathered:
    return widgets_context(excerpt="test parser::nested ... FAILED")


def k8s_services(url: str, tmp_path: Path, **more: Any) -> Services:
    settings = settings_for(
        url,
        github_recorded_dir=str(EXAMPLES),
        github_pushes_dir=str(tmp_path / "pushes"),
        **more,
    )
    return Services(settings, state=MemoryStateStore(), blobs=FileBlobStore(tmp_path / "blobs"))


def test_the_stage_creates_the_coderun_once_and_rolls_back_on_an_outage(
    api: KubeApi, tmp_path: Path
) -> None:
    services = k8s_services(api.url, tmp_path)
    spawner = Spawner(services)
    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context(),
        key=("acme-widgets-7001", 1),
        repository="acme/widgets",
        run_id=7001,
    )
    api.outage = "unavailable"
    with pytest.raises(LaunchUnavailable):
        spawner(event)
    assert services.state.get(ACTIVE_KEY) == "0" and services.state.keys("dedup:") == []
    api.outage = None
    first, again = spawner(event), spawner(event)
    assert first["id"] == again["id"]
    assert data_of(first)["launched_to"] == f"kubernetes:{NS}/coderuns/{NAME}"
    stored = api.coderuns.get(NS, NAME)
    validate_coderun(stored)  # what the API server keeps is still the contract's object
    assert stored["metadata"]["labels"]["healer.dev/agent"] == "rex"
    assert stored["metadata"]["labels"]["app.kubernetes.io/name"] == "healer"
    spec = stored["spec"]
    assert (spec["githubApp"], spec["runType"], spec["service"]) == (
        "5DLabs-Rex",
        "remediate",
        "healer",
    )
    assert spec["env"]["HEALER_TARGET_BRANCH"] == "feature/parser"
    assert spec["promptModification"].startswith("You are Rex")
    assert api.coderuns.warnings == []  # nothing was dropped
    assert len(api.coderuns.objects) == 1 and services.state.get(ACTIVE_KEY) == "1"


# completion-check, Kubernetes backend: an update counts only for the CodeRun as stored.


def started(api: KubeApi, tmp_path: Path, **more: Any) -> Services:
    """spawn (through the Kubernetes API) started attempt 1 of the widgets task."""
    services = k8s_services(api.url, tmp_path, **more)
    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        completion_context(),
        key=(TASK, 1),
        repository="acme/widgets",
        run_id=7001,
    )
    assert Spawner(services)(event)["type"] == EventType.REMEDIATION_STARTED
    return services


def set_phase(raw: client.CustomObjectsApi, name: str, phase: str, **status: Any) -> None:
    body = {"status": {"phase": phase, **status}}
    raw.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, name, body)


def update(api: KubeApi, name: str, phase: str) -> CloudEvent:
    """The ApiServerSource event claiming ``name`` reached ``phase``."""
    stored = api.coderuns.objects.get((NS, name)) or {**manifest(name)}
    return coderun_update(stored, phase, message="claimed")


def test_a_coderun_the_api_server_says_succeeded_is_decided_with_commits_from_github(
    api: KubeApi, raw: client.CustomObjectsApi, tmp_path: Path
) -> None:
    services = started(api, tmp_path)
    push(services, fix_commit(NAME))  # the agent pushed its fix
    set_phase(raw, NAME, "Succeeded", message="fixed the parser", workCompleted=True)
    check = checker(services)
    check.coderuns = KubernetesCodeRuns.from_settings(services.settings)
    waiting = check(update(api, NAME, "Succeeded"))
    assert isinstance(waiting, Skip) and "waiting for CI" in waiting.reason
    agent = services.state.get_json(f"task:{TASK}")["attempts"][0]["agent_result"]
    assert agent["commits"] == [fix_commit(NAME)] and agent["message"] == "fixed the parser"
    reply = check(ci_done())
    assert isinstance(reply, CloudEvent) and reply["type"] == EventType.REMEDIATION_SUCCEEDED
    assert services.state.get(ACTIVE_KEY) == "0"


def _unchanged(services: Services) -> None:
    assert services.state.get(ACTIVE_KEY) == "1"
    assert services.state.get(FAILURES_KEY) is None and services.state.get(BREAKER_KEY) is None
    entry = services.state.get_json(f"task:{TASK}")["attempts"][0]
    assert entry.get("agent_result") is None and not entry.get("outcome")


def test_forged_failure_updates_move_neither_the_breaker_nor_the_slots(
    api: KubeApi, raw: client.CustomObjectsApi, tmp_path: Path
) -> None:
    services = started(api, tmp_path, breaker_threshold=2)
    foreign = manifest("someone-elses-run")
    foreign["metadata"]["labels"] = {"app.kubernetes.io/name": "other"}
    raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, foreign)
    twin = manifest("healer-acme-widgets-7001-twin")  # Healer's labels, not the attempt's name
    raw.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, twin)
    set_phase(raw, "someone-elses-run", "Failed")
    set_phase(raw, "healer-acme-widgets-7001-twin", "Failed")
    check = checker(services)
    check.coderuns = KubernetesCodeRuns.from_settings(services.settings)
    outside = update(api, NAME, "Failed")
    data_of(outside)["metadata"]["namespace"] = "elsewhere"
    forged = [
        update(api, "healer-acme-widgets-7001-ghost", "Failed"),  # does not exist
        update(api, "someone-elses-run", "Failed"),  # not Healer's
        update(api, "healer-acme-widgets-7001-twin", "Failed"),  # not the attempt's CodeRun
        update(api, NAME, "Failed"),  # the API server says it is still running
        outside,  # another namespace
    ]
    reasons = []
    for event in forged:
        reply = check(event)
        assert isinstance(reply, Skip), reply
        reasons.append(reply.reason)
    assert "does not exist" in reasons[0] and "is not Healer's" in reasons[1]
    assert f"runs CodeRun {NAME}" in reasons[2] and "without a phase, not Failed" in reasons[3]
    assert "outside namespace cto" in reasons[4]
    _unchanged(services)


def test_reading_coderuns_back_during_an_outage_is_retryable(api: KubeApi, tmp_path: Path) -> None:
    services = started(api, tmp_path)
    check = checker(services)
    check.coderuns = KubernetesCodeRuns.from_settings(services.settings)
    api.outage = "unavailable"
    with pytest.raises(CodeRunsUnavailable) as caught:
        check(update(api, NAME, "Failed"))
    assert caught.value.status == 503
    api.outage = None
    api.forbidden_coderun_verbs = {"get"}
    with pytest.raises(CodeRunsForbidden, match="verb 'get' on coderuns"):
        check(update(api, NAME, "Failed"))
    _unchanged(services)
