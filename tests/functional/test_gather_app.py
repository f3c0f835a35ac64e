"""The gather function as Knative runs it: functions-framework, CloudEvents in and out."""

from __future__ import annotations

import json
from pathlib import Path

import flask
import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from flask.testing import FlaskClient
from functions_framework import create_app

from functions.classify.stage import Classifier
from functions.gather.main import create_function
from healer.events import build_event
from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.github.recorded import RecordedTransport
from healer.models import AlertDetected, ContextGathered, FailureDetected, RemediationRetry
from healer.services import Services
from healer.settings import Settings
from healer.stores import keys
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import AlertKind, EventType, FailureType, Stage

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "gather" / "main.py"
RECORDED = ROOT / "examples" / "github"

SCENARIOS = {
    "widgets": FailureDetected(
        repository="acme/widgets",
        event="workflow_job",
        run_id=7001,
        job_id=90001,
        job_name="test",
        workflow_name="CI",
        head_sha="3f786850e387550fdab836ed7e6dc881de23001b",
        head_branch="feature/parser",
        default_branch="main",
    ),
    "webapp": FailureDetected(
        repository="acme/webapp",
        event="workflow_run",
        run_id=7002,
        workflow_name="Frontend",
        head_sha="9fceb02d0ae598e95dc970b74767f19372d61af8",
        head_branch="fix/login-form",
        pull_requests=[17],
        default_branch="main",
    ),
    "api": FailureDetected(
        repository="acme/api",
        event="workflow_job",
        run_id=7003,
        run_attempt=2,
        job_id=90004,
        job_name="pytest (3.12)",
        workflow_name="Tests",
        head_sha="e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
        head_branch="main",
        default_branch="main",
    ),
}


def recorded_services(tmp: Path, transport: httpx.BaseTransport | None = None) -> Services:
    github = GitHubClient(
        auth=TokenAuth("t0ken"),
        transport=transport or RecordedTransport(RECORDED),
        sleep=lambda _: None,
    )
    return Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp), github=github)


def classified(payload: FailureDetected | AlertDetected, tmp: Path) -> CloudEvent:
    kind = (
        EventType.ALERT_DETECTED
        if isinstance(payload, AlertDetected)
        else EventType.FAILURE_DETECTED
    )
    detected = build_event(
        kind,
        Stage.INGEST,
        payload,
        key=("d",),
        repository=payload.repository,
        run_id=getattr(payload, "run_id", 0),
    )
    return Classifier(recorded_services(tmp / "classify"))(detected)


def post(client: FlaskClient, event: CloudEvent, structured: bool = False):  # type: ignore[no-untyped-def]
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=dict(headers), data=body)


def reply_context(response) -> ContextGathered:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data()
    event = from_http(dict(response.headers), response.get_data())
    assert event["type"] == EventType.CONTEXT_GATHERED and event["source"] == "healer/gather"
    return ContextGathered.model_validate(event.get_data())


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("HEALER_GITHUB_RECORDED_DIR", str(RECORDED))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    client: FlaskClient = create_app(
        target="gather", source=str(MAIN), signature_type="http"
    ).test_client()
    return client


def app_with(services: Services) -> FlaskClient:
    function = create_function(services)
    app = flask.Flask("gather-test")
    app.add_url_rule("/", "gather", lambda: function(flask.request), methods=["GET", "POST"])
    return app.test_client()


@pytest.mark.parametrize(
    ("name", "pr", "files", "kind"),
    [
        ("widgets", 42, 3, FailureType.RUST_TEST),
        ("webapp", 17, 4, FailureType.FRONTEND_LINT),
        ("api", None, 2, FailureType.PYTHON_TEST),
    ],
)
def test_each_example_gathers_offline_from_recorded_github(
    offline: FlaskClient, tmp_path: Path, name: str, pr: int | None, files: int, kind: FailureType
) -> None:
    ctx = reply_context(post(offline, classified(SCENARIOS[name], tmp_path), structured=True))
    assert (ctx.pull_request.number if ctx.pull_request else None) == pr
    assert ctx.changed_files_total == files and ctx.recent_commits
    assert ctx.classified.primary.failure_type is kind
    assert ctx.missing == []
    assert (tmp_path / "blobs" / ctx.changed_files_key).is_file()


def test_a_dependabot_alert_gets_the_recorded_advisory(
    offline: FlaskClient, tmp_path: Path
) -> None:
    alert = AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.DEPENDABOT,
        alert_number=3,
        ecosystem="rust",
        package="toml-edit-lite",
        ghsa_id="GHSA-4xq8-v2hj-7mqx",
    )
    ctx = reply_context(post(offline, classified(alert, tmp_path)))
    assert ctx.task_id == "acme-widgets-dependabot-3"
    assert ctx.extras["advisory"].status == "ok"
    assert ctx.extras["advisory"].data["summary"].startswith("Uncontrolled recursion")


def test_a_stale_failure_is_an_empty_202_with_the_reason(tmp_path: Path) -> None:
    event = classified(SCENARIOS["widgets"], tmp_path)
    recorded = RecordedTransport(RECORDED)

    def gone(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/branches/feature/parser"):
            return httpx.Response(404, json={"message": "Branch not found"})
        return recorded.handle_request(request)

    services = recorded_services(tmp_path, httpx.MockTransport(gone))
    response = post(app_with(services), event)

    assert response.status_code == 202 and response.get_data() == b""
    assert "feature/parser no longer exists" in response.headers["X-Healer-Reason"]
    assert json.loads(services.state.get("stale:acme-widgets-7001") or "")["reason"]


def test_github_down_on_the_essentials_is_a_503_with_retry_after(tmp_path: Path) -> None:
    event = classified(SCENARIOS["webapp"], tmp_path)
    recorded = RecordedTransport(RECORDED)

    def outage(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/repos/acme/webapp/pulls"):
            return httpx.Response(503, headers={"Retry-After": "90"})
        return recorded.handle_request(request)

    response = post(app_with(recorded_services(tmp_path, httpx.MockTransport(outage))), event)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "90"


def test_a_retry_event_is_gathered_as_the_next_attempt(tmp_path: Path) -> None:
    services = recorded_services(tmp_path)
    client = app_with(services)
    first = reply_context(post(client, classified(SCENARIOS["api"], tmp_path)))
    context_key = keys.context_key("acme/api", 7003, 1, 1)
    services.blobs.put(context_key, first.model_dump_json().encode())
    retry = RemediationRetry(
        task_id=first.task_id, context_key=context_key, attempt=2, reason="CI still failing"
    )
    event = build_event(
        EventType.REMEDIATION_RETRY,
        Stage.COMPLETION_CHECK,
        retry,
        key=("r",),
        repository="acme/api",
        run_id=7003,
    )

    again = reply_context(post(client, event))

    assert again.attempt == 2 and again.task_id == first.task_id
    assert again.classified.primary.failure_type is FailureType.PYTHON_TEST
    assert again.classified.primary.signals[0] == "refreshed from run 7003 attempt 2"


def test_an_event_of_another_type_is_a_400(offline: FlaskClient) -> None:
    event = CloudEvent({"type": "dev.healer.failure.detected", "source": "t", "id": "1"}, {})
    response = post(offline, event)
    assert response.status_code == 400
    assert "dev.healer.failure.classified" in response.json["detail"]
