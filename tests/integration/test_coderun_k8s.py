"""The kubernetes CodeRun backend: the official client against the local Kubernetes API server,
alone and behind the spawn stage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from contexts import widgets_context
from k8s_api import KubeApi

from functions.spawn.kube import KubernetesLauncher
from functions.spawn.launcher import LaunchForbidden, LaunchRejected, LaunchUnavailable
from functions.spawn.limits import ACTIVE_KEY
from functions.spawn.stage import Spawner
from healer.events import build_event
from healer.models import (
    ContextGathered,
)
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, Stage

pytestmark = pytest.mark.integration

NS = "cto"
RECORDED = Path(__file__).resolve().parents[2] / "examples" / "github"  # spawn asks GitHub
NAME = "healer-acme-widgets-7001-a1"


@pytest.fixture(scope="module")
def kube_api() -> Iterator[KubeApi]:
    with KubeApi() as api:
        yield api


@pytest.fixture
def api(kube_api: KubeApi) -> KubeApi:
    kube_api.reset()
    return kube_api


def settings_for(url: str) -> Settings:
    return Settings(coderun_backend="kubernetes", kube_api_url=url, namespace=NS, kube_timeout=2)


@pytest.fixture
def launcher(api: KubeApi) -> Iterator[KubernetesLauncher]:
    built = KubernetesLauncher.from_settings(settings_for(api.url))
    yield built
    built.close()


def manifest(name: str = NAME) -> dict[str, object]:
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "healer"}},
        "spec": {"taskId": "acme-widgets-7001", "attempt": 1, "prompt": "Fix it."},
    }


def test_create_then_a_second_create_is_already_there(
    api: KubeApi, launcher: KubernetesLauncher
) -> None:
    first = launcher.launch(manifest())
    assert first.created and first.location == f"kubernetes:{NS}/coderuns/{NAME}"
    stored = api.coderuns.get(NS, NAME)
    assert stored["metadata"]["namespace"] == NS and stored["spec"]["prompt"] == "Fix it."
    again = launcher.launch(manifest())
    assert not again.created and again.name == NAME
    assert api.coderun_requests["create"] == 2 and len(api.coderuns.objects) == 1


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


def test_an_invalid_object_is_a_permanent_rejection(
    api: KubeApi, launcher: KubernetesLauncher
) -> None:
    with pytest.raises(LaunchRejected) as caught:
        launcher.launch(manifest(name="Not_A_DNS_Name"))
    assert caught.value.status == 422 and "Invalid" in str(caught.value)


def context() -> ContextGathered:
    return widgets_context(excerpt="test parser::nested ... FAILED")


def test_the_stage_creates_the_coderun_once_and_rolls_back_on_an_outage(
    api: KubeApi, tmp_path: Path
) -> None:
    settings = replace(settings_for(api.url), github_recorded_dir=str(RECORDED))
    services = Services(settings, state=MemoryStateStore(), blobs=FileBlobStore(tmp_path))
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
    assert first.get_data()["launched_to"] == f"kubernetes:{NS}/coderuns/{NAME}"
    stored = api.coderuns.get(NS, NAME)
    assert stored["metadata"]["labels"]["healer.dev/agent"] == "rex"
    assert stored["spec"]["githubApp"] == "5DLabs-Rex" and stored["spec"]["branch"] == (
        "feature/parser"
    )
    assert stored["spec"]["prompt"].startswith("You are Rex")
    assert len(api.coderuns.objects) == 1 and services.state.get(ACTIVE_KEY) == "1"
