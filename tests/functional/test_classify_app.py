"""The classify function as Knative runs it: functions-framework, CloudEvents in and out."""

from __future__ import annotations

import json
from pathlib import Path

import flask
import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app

from functions.classify.main import create_function
from healer.events import build_event
from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.models import AlertDetected, FailureClassified, FailureDetected
from healer.services import Services
from healer.settings import Settings
from healer.stores import keys
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import AlertKind, EventType, FailureType, Stage

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "classify" / "main.py"
RECORDED = ROOT / "examples" / "github"

FAILURE = FailureDetected(
    repository="acme/widgets",
    event="workflow_job",
    run_id=7001,
    run_attempt=1,
    job_id=90001,
    job_name="test",
    workflow_name="CI",
    head_sha="3f786850e387550fdab836ed7e6dc881de23001b",
    head_branch="feature/parser",
    pull_requests=[42],
)


def detected(
    payload: FailureDetected | AlertDetected, kind: EventType = EventType.FAILURE_DETECTED
) -> CloudEvent:
    run = getattr(payload, "run_id", "alert")
    return build_event(
        kind, Stage.INGEST, payload, key=("x",), repository=payload.repository, run_id=run
    )


def post(client: FlaskClient, event: CloudEvent, structured: bool = False):  # type: ignore[no-untyped-def]
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=dict(headers), data=body)


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """The deployed entry point, configured only by environment, answering from recordings."""
    monkeypatch.setenv("HEALER_GITHUB_RECORDED_DIR", str(RECORDED))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    app = create_app(target="classify", source=str(MAIN), signature_type="http")
    client: FlaskClient = app.test_client()
    return client


def app_with(services: Services) -> FlaskClient:
    function = create_function(services)
    app = flask.Flask("classify-test")
    app.add_url_rule("/", "classify", lambda: function(flask.request), methods=["GET", "POST"])
    app.add_url_rule(
        "/<path:rest>",
        "classify-any",
        lambda rest: function(flask.request),
        methods=["GET", "POST"],
    )
    return app.test_client()


def test_the_deployed_target_classifies_the_example_from_recorded_github(
    offline: FlaskClient, tmp_path: Path
) -> None:
    response = post(offline, detected(FAILURE), structured=True)

    assert response.status_code == 200
    reply = from_http(dict(response.headers), response.get_data())
    assert reply["type"] == EventType.FAILURE_CLASSIFIED
    assert reply["source"] == "healer/classify"
    payload = FailureClassified.model_validate(data_of(reply))
    assert payload.primary.failure_type is FailureType.RUST_TEST
    assert payload.primary.agent == "rex"
    stored = tmp_path / "blobs" / keys.job_log_key("acme/widgets", 7001, 1, 90001)
    assert (
        stored.read_bytes()
        == (RECORDED / "repos/acme/widgets/actions/jobs/90001/logs.txt").read_bytes()
    )
    assert len(response.get_data()) < 64 * 1024


def test_health_answers_without_a_cloudevent(offline: FlaskClient) -> None:
    response = offline.get("/health/readiness")
    assert response.status_code == 200 and response.get_json()["function"] == "classify"


def test_an_event_of_another_type_is_a_400_naming_the_accepted_types(offline: FlaskClient) -> None:
    event = CloudEvent({"type": "dev.healer.remediation.retry", "source": "t", "id": "1"}, {})
    response = post(offline, event)
    assert response.status_code == 400
    detail = response.json["detail"]
    assert "dev.healer.failure.detected" in detail and "dev.healer.alert.detected" in detail


def test_an_alert_is_classified_without_github(offline: FlaskClient) -> None:
    alert = AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.CODE_SCANNING,
        alert_number=8,
        rule_id="rust/cleartext-logging",
        tool="CodeQL",
        location_path="src/auth/session.rs",
    )
    response = post(offline, detected(alert, EventType.ALERT_DETECTED))
    assert response.status_code == 200
    payload = FailureClassified.model_validate(json.loads(response.get_data()))
    assert payload.primary.failure_type is FailureType.SECURITY_CODE_SCAN
    assert response.headers["ce-subject"] == "acme/widgets#code-scanning-8"


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [
        (httpx.Response(502, json={"message": "Server Error"}), "30"),
        (httpx.Response(503, headers={"Retry-After": "120"}), "120"),
        (
            httpx.Response(
                403,
                json={"message": "You have exceeded a secondary rate limit"},
                headers={"retry-after": "60"},
            ),
            "60",
        ),
    ],
)
def test_github_trouble_is_a_retryable_answer_with_retry_after(
    tmp_path: Path, answer: httpx.Response, retry_after: str
) -> None:
    github = GitHubClient(
        auth=TokenAuth("t0ken"),
        transport=httpx.MockTransport(lambda request: answer),
        sleep=lambda _: None,
    )
    client = app_with(
        Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path), github=github)
    )

    response = post(client, detected(FAILURE))

    assert response.status_code in (503, 429)
    assert response.headers["Retry-After"] == retry_after
    assert response.mimetype == "application/problem+json"


def test_a_github_timeout_is_retryable(tmp_path: Path) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    github = GitHubClient(
        auth=TokenAuth("t0ken"), transport=httpx.MockTransport(slow), sleep=lambda _: None
    )
    client = app_with(
        Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path), github=github)
    )
    response = post(client, detected(FAILURE))
    assert response.status_code == 503 and "Retry-After" in response.headers
