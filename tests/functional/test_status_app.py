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
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer_dev.broker.stages import wsgi_app


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
    (key,) = services.blobs.list("dead-letters/")
    assert key.startswith("dead-letters/ev-1--") and key.endswith(".json")
    stored = json.loads(services.blobs.get(key))
    assert stored["type"] == "dev.healer.failure.detected"
    assert stored["data"] == {"repository": "acme/widgets", "run_id": 7001}
    assert stored["attributes"]["knativeerrorcode"] == "503"
    assert stored["error"] == {
        "destination": "http://classify.cto.svc.cluster.local/",
        "code": 503,
        "data": '{"detail":"github is down"}',
        "data_base64": base64.b64encode(b'{"detail":"github is down"}').decode(),
        "reason": "HTTP 503 from http://classify.cto.svc.cluster.local/: github is down",
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
    (key,) = services.blobs.list("dead-letters/plain--")
    assert json.loads(services.blobs.get(key))["error"]["code"] == ""


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
    from healer_dev.cli import main

    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "cli-blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    deadletters.store(FileBlobStore(tmp_path / "cli-blobs"), dead_event())
    assert main(["status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["tasks"] == [] and [d["id"] for d in shown["dead_letters"]] == ["ev-1"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "0 tasks" in out and "1 dead letters" in out
    assert "HTTP 503 from http://classify.cto.svc.cluster.local/: github is down" in out


def spawned(task_id: str, updated: str, failure_type: str, status: str = "running") -> str:
    """A record as spawn, completion-check and escalate write it."""
    return json.dumps(
        {
            "task_id": task_id,
            "repository": "acme/widgets",
            "run_id": 7001,
            "failure_type": failure_type,
            "status": status,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": updated,
            "attempts": [
                {"attempt": 1, "agent": "rex", "coderun_name": f"healer-{task_id}-a1"},
                {"attempt": 2, "agent": "atlas", "coderun_name": f"healer-{task_id}-a2"},
            ],
            "comment_url": "https://github.com/acme/widgets/issues/42#issuecomment-1"
            if status == "escalated"
            else "",
        }
    )


def test_tasks_are_newest_first_and_the_cut_keeps_the_newest(services: Services) -> None:
    from functions.status import tasks

    services.state.set("task:a-old", spawned("a-old", "2026-01-01T00:00:00Z", "rust_test"))
    services.state.set("task:z-new", spawned("z-new", "2026-03-01T00:00:00Z", "rust_test"))
    services.state.set("task:m-mid", spawned("m-mid", "2026-02-01T00:00:00Z", "python_test"))
    assert [t.task_id for t in tasks.list_tasks(services.state)] == ["z-new", "m-mid", "a-old"]
    assert [t.task_id for t in tasks.list_tasks(services.state, limit=1)] == ["z-new"]
    row = tasks.summary(tasks.get_task(services.state, "z-new"))
    assert row["failure_type"] == "rust_test" and row["agent"] == "atlas"
    assert row["coderuns"] == ["healer-z-new-a1", "healer-z-new-a2"]
    assert row["updated_at"] == "2026-03-01T00:00:00Z"


def test_the_whole_record_and_counts_by_failure_type(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    services.state.set("task:a", spawned("a", "2026-01-01T00:00:00Z", "rust_test", "escalated"))
    services.state.set("task:b", spawned("b", "2026-01-02T00:00:00Z", "rust_test"))
    services.state.set("task:c", spawned("c", "2026-01-03T00:00:00Z", "python_lint"))
    body = client.get("/api/status").json
    assert body is not None
    assert body["by_failure_type"] == {"python_lint": 1, "rust_test": 2}
    assert [t["task_id"] for t in body["tasks"]] == ["c", "b", "a"]
    whole = client.get("/api/status/a").json
    assert whole == json.loads(spawned("a", "2026-01-01T00:00:00Z", "rust_test", "escalated"))
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE healer_tasks_by_failure_type gauge\n" in text
    assert 'healer_tasks_by_failure_type{failure_type="rust_test"} 2\n' in text
    assert 'healer_tasks_by_failure_type{failure_type="python_lint"} 1\n' in text
    assert 'healer_tasks{status="escalated"} 1\n' in text


def test_dashboard_lists_the_new_columns_newest_first(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    services.state.set("task:a", spawned("a", "2026-01-01T00:00:00Z", "rust_test", "escalated"))
    services.state.set("task:b", spawned("b", "2026-01-02T00:00:00Z", "<i>x</i>"))
    page = client.get("/").get_data(as_text=True)
    for header in ("failure type", "agent", "attempts", "CodeRuns", "updated", "escalated to"):
        assert f"<th>{header}</th>" in page
    assert page.index("<td>b</td>") < page.index("<td>a</td>")
    assert "<td>healer-a-a1, healer-a-a2</td>" in page and "&lt;i&gt;x&lt;/i&gt;" in page
    link = "https://github.com/acme/widgets/issues/42#issuecomment-1"
    assert f'<a href="{link}" rel="noreferrer">' in page


def test_cli_status_shows_tasks_with_their_coderuns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from healer_dev import cli

    state = MemoryStateStore()
    state.set("task:a", spawned("a", "2026-01-01T00:00:00Z", "rust_test", "escalated"))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "cli-blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setattr("healer.stores.factory.state_store", lambda settings: state)
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "1 tasks, 1 escalated" in out
    assert "acme/widgets#7001 rust_test agent=atlas attempts=2" in out
    assert "CodeRun healer-a-a2" in out and "escalated: https://github.com/acme/" in out
    assert cli.main(["status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["by_failure_type"] == {"rust_test": 1} and shown["tasks"][0]["task_id"] == "a"


def test_a_dead_lettered_secret_scanning_delivery_is_kept_without_the_secret(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    # The same rule as ingest's archive: a secret-scanning alert's secret value is never kept.
    secret = "ghp_leaked0secret0value0000000000000000"
    alert = {"number": 3, "secret_type": "github_personal_access_token", "secret": secret}
    envelope = {
        "headers": {"X-GitHub-Event": ["secret_scanning_alert"]},
        "body": {"action": "created", "alert": alert},
    }
    event = CloudEvent(
        {"type": "dev.healer.github.webhook", "source": "argo", "id": "sec-1"}, envelope
    )
    headers, body = to_binary(event)

    assert client.post("/dead-letter", headers=dict(headers), data=body).status_code == 202

    (key,) = services.blobs.list("dead-letters/sec-1--")
    raw = services.blobs.get(key)
    assert secret.encode() not in raw
    stored = json.loads(raw)
    assert stored["data"]["body"]["alert"]["secret_type"] == "github_personal_access_token"


def waiting_task(task_id: str, since: str, code: str = "concurrency") -> str:
    return json.dumps(
        {
            "task_id": task_id,
            "repository": "acme/widgets",
            "run_id": 7001,
            "status": "waiting",
            "updated_at": since,
            "waiting": {
                "attempt": 1,
                "code": code,
                "reason": "2 remediations are running; the limit is 2 <b>",
                "context_key": "repos/acme/widgets/runs/7001/attempt-1/context-1.json",
                "action": "fix",
                "repository": "acme/widgets",
                "branch": "feature/parser",
                "since": since,
            },
        }
    )


def test_waiting_tasks_are_shown_with_their_reason_everywhere(
    client: flask.testing.FlaskClient, services: Services
) -> None:
    assert 'healer_tasks{status="waiting"} 0\n' in client.get("/metrics").get_data(as_text=True)
    services.state.set("task:late", waiting_task("late", "2025-01-02T03:05:00Z", "breaker"))
    services.state.set("task:early", waiting_task("early", "2025-01-02T03:00:00Z"))
    services.state.set("task:a", task("a", "running"))

    body = client.get("/api/status").get_json()
    assert [(w["task_id"], w["code"], w["since"]) for w in body["waiting"]] == [
        ("early", "concurrency", "2025-01-02T03:00:00Z"),
        ("late", "breaker", "2025-01-02T03:05:00Z"),
    ]
    assert "the limit is 2" in body["waiting"][0]["reason"] and body["counts"]["waiting"] == 2
    one = client.get("/api/status/early").get_json()
    assert one["status"] == "waiting" and one["waiting"]["code"] == "concurrency"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'healer_tasks{status="waiting"} 2\n' in metrics
    page = client.get("/").get_data(as_text=True)
    assert "<th>waiting for</th>" in page
    assert "concurrency since 2025-01-02T03:00:00Z: 2 remediations are running" in page
    assert "the limit is 2 &lt;b&gt;" in page  # escaped like every value
