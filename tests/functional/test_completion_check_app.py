"""completion-check as Knative runs it: functions-framework, CloudEvents in and out."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from completion_fixtures import agent_done, ci_done, ping, services, start
from flask import Flask
from flask.testing import FlaskClient
from functions_framework import create_app

from functions.completion_check.main import create_function
from healer.services import Services
from healer.vocabulary import EventType

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "completion_check" / "main.py"


@pytest.fixture
def svc(tmp_path: Path) -> Services:
    return services(tmp_path)


@pytest.fixture
def client(svc: Services) -> FlaskClient:
    """The function built on shared services, so tests can start attempts with spawn first."""
    function = create_function(svc)
    app = flask.Flask("completion-check-test")
    app.add_url_rule("/", "cc", lambda: function(flask.request), methods=["GET", "POST"])
    return app.test_client()


@pytest.fixture
def framework(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """The function exactly as ``functions-framework --target completion_check`` serves it."""
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    app: Flask = create_app(target="completion_check", source=str(MAIN), signature_type="http")
    return app.test_client()


def post(client: FlaskClient, event: CloudEvent, structured: bool = False) -> object:
    headers, body = to_structured(event) if structured else to_binary(event)
    return client.post("/", headers=dict(headers), data=body)


def test_ci_then_the_coderun_reply_succeeded(client: FlaskClient, svc: Services) -> None:
    start(svc)
    waiting = post(client, ci_done())
    assert waiting.status_code == 202 and waiting.get_data() == b""  # type: ignore[attr-defined]
    assert "waiting for the agent" in waiting.headers["X-Healer-Reason"]  # type: ignore[attr-defined]
    response = post(client, agent_done(svc), structured=True)
    assert response.status_code == 200  # type: ignore[attr-defined]
    reply = from_http(dict(response.headers), response.get_data())  # type: ignore[attr-defined]
    assert reply["type"] == EventType.REMEDIATION_SUCCEEDED


def test_a_failed_coderun_replies_retry_and_redelivery_the_same(
    client: FlaskClient, svc: Services
) -> None:
    start(svc)
    event = agent_done(svc, phase="Failed")
    first = post(client, event)
    again = post(client, event)
    ids = [from_http(dict(r.headers), r.get_data())["id"] for r in (first, again)]  # type: ignore[attr-defined]
    assert ids[0] == ids[1]
    assert first.headers["ce-type"] == EventType.REMEDIATION_RETRY  # type: ignore[attr-defined]


def test_unrelated_webhooks_ping_and_health(framework: FlaskClient) -> None:
    client = framework
    webhook = post(client, ci_done())
    assert webhook.status_code == 202 and "no Healer task" in webhook.headers["X-Healer-Reason"]  # type: ignore[attr-defined]
    tick = post(client, ping())
    assert tick.status_code == 202 and "sweep" in tick.headers["X-Healer-Reason"]  # type: ignore[attr-defined]
    assert client.get("/health/readiness").status_code == 200
    assert client.post("/", data=b"{}", content_type="application/json").status_code == 400


def test_a_store_outage_is_a_503(client: FlaskClient, svc: Services) -> None:
    from healer.errors import StoreUnavailable
    from healer.stores.memory import MemoryStateStore

    start(svc)
    event = agent_done(svc, phase="Failed")

    class Down(MemoryStateStore):
        def get(self, key: str) -> str | None:
            raise StoreUnavailable("redis down")

    svc._state = Down()
    assert post(client, event).status_code == 503  # type: ignore[attr-defined]
