"""The runtime adapter answered through real functions-framework, as the Knative broker sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from flask.testing import FlaskClient
from functions_framework import create_app

SOURCE = Path(__file__).parent / "apps" / "echo_main.py"


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    app = create_app(target="echo", source=str(SOURCE), signature_type="http")
    client: FlaskClient = app.test_client()
    return client


def event(kind: str, data: object = None) -> CloudEvent:
    return CloudEvent(
        {"type": kind, "source": "tests", "id": "e-1"}, data if data is not None else {"x": 1}
    )


def post_binary(client: FlaskClient, ce: CloudEvent):  # type: ignore[no-untyped-def]
    headers, body = to_binary(ce)
    return client.post("/", headers=dict(headers), data=body)


def test_binary_event_gets_binary_cloudevent_reply(client: FlaskClient) -> None:
    response = post_binary(client, event("test.echo", {"hello": "world"}))
    assert response.status_code == 200
    reply = from_http(dict(response.headers), response.get_data())
    assert reply["type"] == "test.reply"
    assert reply["id"] == "reply-e-1"
    assert reply.get_data() == {"echo": {"hello": "world"}}


def test_structured_event_is_accepted(client: FlaskClient) -> None:
    headers, body = to_structured(event("test.echo", {"n": 2}))
    response = client.post("/", headers=dict(headers), data=body)
    assert response.status_code == 200
    assert response.headers["ce-type"] == "test.reply"


@pytest.mark.parametrize("kind", ["test.skip", "test.none"])
def test_nothing_to_emit_is_an_empty_202(client: FlaskClient, kind: str) -> None:
    response = post_binary(client, event(kind))
    assert response.status_code == 202
    assert response.get_data() == b""


def test_skip_reason_travels_in_a_header(client: FlaskClient) -> None:
    response = post_binary(client, event("test.skip"))
    assert response.headers["X-Healer-Reason"] == "nothing to do for test.skip"


def test_invalid_input_is_400_problem_saying_what_was_wrong(client: FlaskClient) -> None:
    response = post_binary(client, event("test.invalid"))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "field 'x' must be an integer" in response.get_json()["detail"]


def test_retryable_is_503_with_retry_after(client: FlaskClient) -> None:
    response = post_binary(client, event("test.retry"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"


def test_bug_is_500_without_leaking_the_message(client: FlaskClient) -> None:
    response = post_binary(client, event("test.bug"))
    assert response.status_code == 500
    assert "boom" not in response.get_data(as_text=True)


def test_oversized_body_is_413(client: FlaskClient) -> None:
    response = post_binary(client, event("test.echo", {"blob": "x" * 5000}))
    assert response.status_code == 413
    assert "limit of 2048 bytes" in response.get_json()["detail"]


def test_non_cloudevent_post_is_400(client: FlaskClient) -> None:
    response = client.post("/", json={"hello": "world"})
    assert response.status_code == 400
    assert "expected a CloudEvent" in response.get_json()["detail"]


def test_cloudevent_without_id_is_400(client: FlaskClient) -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "test.echo",
        "ce-source": "tests",
        "content-type": "application/json",
    }
    response = client.post("/", headers=headers, data=b"{}")
    assert response.status_code == 400
    assert "not a valid CloudEvent" in response.get_json()["detail"]


def test_batch_mode_is_rejected_clearly(client: FlaskClient) -> None:
    response = client.post(
        "/", headers={"content-type": "application/cloudevents-batch+json"}, data=b"[]"
    )
    assert response.status_code == 400
    assert "batched" in response.get_json()["detail"]


def test_wrong_specversion_is_400(client: FlaskClient) -> None:
    headers = {"ce-specversion": "0.3", "ce-type": "t", "ce-source": "s", "ce-id": "1"}
    response = client.post("/", headers=headers, data=b"{}")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/health", "/health/liveness", "/health/readiness"])
def test_health_endpoints(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = json.loads(response.get_data())
    assert body["status"] == "healthy"
    assert body["version"]


def test_get_on_the_event_path_is_400_not_a_crash(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 400
