"""The spawn function as Knative runs it: functions-framework, CloudEvents in and out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
import yaml
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from contexts import widgets_context
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app

from functions.spawn.main import create_function
from healer.errors import StoreUnavailable
from healer.events import build_event
from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.models import (
    ContextGathered,
)
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import Action, EventType, FailureType, Stage

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "spawn" / "main.py"
RECORDED = ROOT / "examples" / "github"


def context(action: Action = Action.FIX, failure_type: FailureType = FailureType.RUST_TEST) -> Any:
    return widgets_context(action, failure_type)


def gathered(ctx: ContextGathered) -> CloudEvent:
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        ctx,
        key=(ctx.task_id, ctx.attempt),
        repository="acme/widgets",
        run_id=7001,
    )


def post(client: FlaskClient, event: CloudEvent, structured: bool = False) -> Any:
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=dict(headers), data=body)


def reply(response: Any) -> CloudEvent:
    assert response.status_code == 200, response.get_data()
    return from_http(dict(response.headers), response.get_data())


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def offline(tmp_path: Path, outbox: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("HEALER_GITHUB_RECORDED_DIR", str(RECORDED))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(outbox))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    client: FlaskClient = create_app(
        target="spawn", source=str(MAIN), signature_type="http"
    ).test_client()
    return client


def app_with(services: Services) -> FlaskClient:
    function = create_function(services)
    app = flask.Flask("spawn-test")
    app.add_url_rule("/", "spawn", lambda: function(flask.request), methods=["GET", "POST"])
    return app.test_client()


@pytest.mark.parametrize("structured", [False, True])
def test_a_fix_replies_remediation_started_and_writes_the_coderun(
    offline: FlaskClient, outbox: Path, tmp_path: Path, structured: bool
) -> None:
    event = reply(post(offline, gathered(context()), structured=structured))
    assert event["type"] == EventType.REMEDIATION_STARTED and event["source"] == "healer/spawn"
    assert (event["healerrepo"], event["healerrun"], event["healerattempt"]) == (
        "acme/widgets",
        "7001",
        "1",
    )
    data = data_of(event)
    assert data["coderun_name"] == "healer-acme-widgets-7001-a1" and data["agent"] == "rex"
    manifest = yaml.safe_load((outbox / "healer-acme-widgets-7001-a1.yaml").read_text())
    assert manifest["spec"]["githubApp"] == "5DLabs-Rex"
    assert (tmp_path / "blobs" / data["prompt_key"]).read_text().startswith("You are Rex")


def test_a_redelivery_gets_the_same_event_and_no_second_coderun(
    offline: FlaskClient, outbox: Path
) -> None:
    first = reply(post(offline, gathered(context())))
    (outbox / "healer-acme-widgets-7001-a1.yaml").unlink()  # a second create would rewrite it
    again = reply(post(offline, gathered(context()), structured=True))
    assert again["id"] == first["id"] and data_of(again) == data_of(first)
    assert list(outbox.glob("*.yaml")) == []


def test_ignore_replies_remediation_skipped(offline: FlaskClient, outbox: Path) -> None:
    event = reply(post(offline, gathered(context(Action.IGNORE, FailureType.GENERAL))))
    assert event["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(event)["code"] == "ignore" and not outbox.exists()


def test_a_bad_payload_is_a_400_problem(offline: FlaskClient) -> None:
    bad = CloudEvent(
        {"type": EventType.CONTEXT_GATHERED.value, "source": "healer/gather", "id": "b-1"},
        {"task_id": "acme-widgets-7001", "classified": {"verdicts": []}},
    )
    response = post(offline, bad)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "ContextGathered" in response.get_json()["detail"]


def test_health_answers_without_touching_stores(offline: FlaskClient) -> None:
    response = offline.get("/health/readiness")
    assert response.status_code == 200 and response.get_json()["function"] == "spawn"


class DownStore(MemoryStateStore):
    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        raise StoreUnavailable("redis at 10.0.0.9:6379: connection refused", retry_after=5)


def test_a_state_store_outage_is_a_503_with_retry_after(tmp_path: Path) -> None:
    services = Services(
        Settings(coderun_outbox=str(tmp_path / "outbox")),
        state=DownStore(),
        blobs=FileBlobStore(tmp_path / "blobs"),
    )
    response = post(app_with(services), gathered(context()))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert not (tmp_path / "outbox").exists()


def test_a_github_outage_on_a_rerun_is_a_503_and_the_claim_is_given_back(
    tmp_path: Path,
) -> None:
    calls: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(502, json={"message": "Server Error"})

    github = GitHubClient(
        auth=TokenAuth("t0ken"), transport=httpx.MockTransport(down), sleep=lambda _: None
    )
    state = MemoryStateStore()
    services = Services(Settings(), state=state, blobs=FileBlobStore(tmp_path), github=github)
    network = context(Action.RERUN, FailureType.INFRA_NETWORK)
    response = post(app_with(services), gathered(network))
    assert response.status_code == 503, response.get_data()
    assert calls and calls[0] == "/repos/acme/widgets/actions/runs/7001/rerun-failed-jobs"
    assert state.keys("dedup:") == [] and state.get("task:acme-widgets-7001") is None
    assert json.loads(response.get_data())["status"] == 503
