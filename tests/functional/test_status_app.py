"""The status function in-process: health, task API, metrics, dashboard and dead-letter sink."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import flask
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from functions.status.main import create_function
from healer.broker.stages import wsgi_app
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path / "blobs"))


@pytest.fixture
def client(services: Services) -> flask.testing.FlaskClient:
    return wsgi_app("status", create_function(services)).test_client()


def task(task_id: str, status: str, agent: str = "rex", **extra: object) -> str:
    attempts = [
        {"attempt": 1, "agent": agent, "outcome": "failed"},
        {"attempt": 2, "agent": agent, "outcome": "running"},
    ]
    return json.dumps(
        {
            "task_id": task_id,
            "repository": "acme/widgets",
            "run_id": 7001,
            "status": status,
            "attempts": attempts,
            **extra,
        }
    )


@pytest.mark.parametrize("path", ["/health", "/health/liveness", "/health/readiness"])
def test_health(client: flask.testing.FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json is not None and response.json["status"] == "healthy"


def test_status_lists_tasks_with_counts(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    services.state.set("task:acme-widgets-7001", task("acme-widgets-7001", "running"))
    services.state.set("task:acme-api-7003", task("acme-api-7003", "succeeded"))
    services.state.set("task:acme-web-7002", task("acme-web-7002", "running"))
    services.state.set("task:broken", "not json")
    services.state.set("dedup:delivery:x", "1")
    body = client.get("/api/status").json
    assert body is not None
    assert body["total"] == 3 and body["counts"] == {"running": 2, "succeeded": 1}
    assert sorted(t["task_id"] for t in body["tasks"]) == [
        "acme-api-7003",
        "acme-web-7002",
        "acme-widgets-7001",
    ]
    assert body["dead_letters"] == 0


def test_one_task_and_a_missing_one(client: flask.testing.FlaskClient, services: Services) -> None:
    services.state.set("task:acme-widgets-7001", task("acme-widgets-7001", "running"))
    assert client.get("/api/status/acme-widgets-7001").json["run_id"] == 7001  # type: ignore[index]
    missing = client.get("/api/status/nope")
    assert missing.status_code == 404 and "nope" in missing.json["detail"]  # type: ignore[index]


def test_metrics_are_prometheus_text(client: flask.testing.FlaskClient, services: Services) -> None:
    services.state.set("task:a", task("a", "running"))
    services.state.set("task:b", task("b", 'we"ird'))
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith(
        "text/plain; version=0.0.4"
    )
    text = response.get_data(as_text=True)
    assert 'healer_tasks{status="running"} 1\n' in text
    assert 'healer_tasks{status="we\\"ird"} 1\n' in text
    assert "# TYPE healer_dead_letters gauge\nhealer_dead_letters 0\n" in text


def test_dashboard_escapes_everything(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    services.state.set("task:x", task("<script>alert(1)</script>", "running", agent="<b>rex</b>"))
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;rex&lt;/b&gt;" in page


def dead_event() -> CloudEvent:
    return CloudEvent(
        {
            "type": "dev.healer.failure.detected",
            "source": "healer/ingest",
            "id": "ev-1",
            "knativeerrordest": "http://classify.cto.svc.cluster.local/",
            "knativeerrorcode": "503",
            "knativeerrordata": base64.b64encode(b'{"detail":"github is down"}').decode(),
        },
        {"repository": "acme/widgets", "run_id": 7001},
    )


def test_dead_letter_is_stored_and_answered_with_an_empty_202(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    headers, body = to_binary(dead_event())
    response = client.post("/dead-letter", headers=dict(headers), data=body)
    assert response.status_code == 202 and response.get_data() == b""
    stored = json.loads(services.blobs.get("dead-letters/ev-1.json"))
    assert stored["type"] == "dev.healer.failure.detected"
    assert stored["data"] == {"repository": "acme/widgets", "run_id": 7001}
    assert stored["attributes"]["knativeerrorcode"] == "503"
    assert stored["error"] == {
        "destination": "http://classify.cto.svc.cluster.local/",
        "code": 503,
        "data": '{"detail":"github is down"}',
        "data_base64": base64.b64encode(b'{"detail":"github is down"}').decode(),
    }
    listing = client.get("/api/dead-letters").json["dead_letters"]  # type: ignore[index]
    assert [(d["id"], d["code"]) for d in listing] == [("ev-1", 503)]
    assert "data" not in listing[0]
    assert "healer_dead_letters 1\n" in client.get("/metrics").get_data(as_text=True)


def test_dead_letter_without_error_extensions_is_still_kept(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    event = CloudEvent({"type": "t", "source": "s", "id": "plain"}, {"a": 1})
    headers, body = to_binary(event)
    assert client.post("/dead-letter", headers=dict(headers), data=body).status_code == 202
    assert json.loads(services.blobs.get("dead-letters/plain.json"))["error"]["code"] == ""


def test_dead_letter_needs_a_cloudevent(client: flask.testing.FlaskClient) -> None:
    response = client.post("/dead-letter", json={"not": "an event"})
    assert response.status_code == 400 and "CloudEvent" in response.json["detail"]  # type: ignore[index]
    assert client.get("/dead-letter").status_code == 400


def test_writes_elsewhere_are_rejected(client: flask.testing.FlaskClient) -> None:
    assert client.post("/api/status", json={}).status_code == 400
    assert client.get("/nowhere").status_code == 404


def test_cli_status_lists_dead_letters_from_the_blob_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.status import deadletters
    from healer.cli import main

    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "cli-blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    deadletters.store(FileBlobStore(tmp_path / "cli-blobs"), dead_event())
    assert main(["status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["tasks"] == [] and [d["id"] for d in shown["dead_letters"]] == ["ev-1"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "0 tasks" in out and "1 dead letters" in out and "code=503" in out
