"""ingest served by real functions-framework, driven the way GitHub, Argo and the broker call it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from functions.ingest.main import create_function
from healer.errors import StoreUnavailable
from healer.models import AlertDetected, FailureDetected
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.webhooks.signature import sign

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "functions" / "ingest" / "main.py"
DELIVERIES = ROOT / "examples" / "deliveries"
SECRET = "It's a Secret to Everybody"
VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
DELIVERY_ID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
Client = Callable[..., FlaskClient]


def load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DELIVERIES / f"{name}.json").read_text(encoding="utf-8"))
    return result


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, blob_dir: Path) -> Iterator[Client]:
    """A functions-framework app configured through ``HEALER_*`` variables, as deployed."""

    def build(**env: str) -> FlaskClient:
        monkeypatch.setenv("HEALER_CONFIG", str(blob_dir / "absent-config.json"))
        monkeypatch.setenv("HEALER_BLOB_DIR", str(blob_dir))
        for name, value in env.items():
            monkeypatch.setenv(f"HEALER_{name.upper()}", value)
        app = create_app(target="ingest", source=str(SOURCE), signature_type="http")
        client: FlaskClient = app.test_client()
        return client

    yield build


@pytest.fixture
def client(make_client: Client) -> FlaskClient:
    return make_client()


def injected_client(services: Services, emit: Any = None) -> FlaskClient:
    """``create_function`` mounted in a bare Flask app, for injected stores and emitters."""
    function = create_function(services, emit=emit)
    app = flask.Flask("ingest-injected")

    def view(path: str = "") -> flask.Response:
        return function(flask.request)

    app.add_url_rule("/", "root", view, methods=["GET", "POST"])
    app.add_url_rule("/<path:path>", "path", view, methods=["GET", "POST"])
    return app.test_client()


# --- request builders, one per input form ---


def envelope(file: dict[str, Any]) -> dict[str, Any]:
    headers = {name.replace("GitHub", "Github"): [value] for name, value in file["headers"].items()}
    return {"headers": headers, "body": file["body"], "metadata": {}}


def webhook_event(data: Any, **extensions: str) -> CloudEvent:
    attributes = {"type": "dev.healer.github.webhook", "source": "https://github.com/acme"}
    return CloudEvent({**attributes, "id": DELIVERY_ID, **extensions}, data)


def form_json(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return file["headers"], json.dumps(file["body"]).encode()


def form_urlencoded(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    headers = {**file["headers"], "Content-Type": "application/x-www-form-urlencoded"}
    return headers, urlencode({"payload": json.dumps(file["body"])}).encode()


def form_argo_envelope(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/json"}, json.dumps(envelope(file)).encode()


def form_argo_whole_event(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    data = base64.b64encode(json.dumps(envelope(file)).encode()).decode()
    context = {"id": "0f1e", "source": "github", "type": "github", "specversion": "1.0"}
    return {"Content-Type": "application/json"}, json.dumps(
        {"context": context, "data": data}
    ).encode()


def form_ce_binary_envelope(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    headers, body = to_binary(webhook_event(envelope(file)))
    return dict(headers), body


def form_ce_structured_envelope(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    headers, body = to_structured(webhook_event(envelope(file)))
    return dict(headers), body


def form_ce_binary_bare(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    event = webhook_event(
        file["body"],
        githubevent=file["headers"]["X-GitHub-Event"],
        githubdelivery=file["headers"]["X-GitHub-Delivery"],
    )
    headers, body = to_binary(event)
    return dict(headers), body


def form_ce_structured_bare_by_shape(file: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    event = webhook_event(file["body"], githubdelivery=file["headers"]["X-GitHub-Delivery"])
    headers, body = to_structured(event)
    return dict(headers), body


FORMS = [
    form_json,
    form_urlencoded,
    form_argo_envelope,
    form_argo_whole_event,
    form_ce_binary_envelope,
    form_ce_structured_envelope,
    form_ce_binary_bare,
    form_ce_structured_bare_by_shape,
]


def post(client: FlaskClient, form: Any, file: dict[str, Any], path: str = "/") -> TestResponse:
    headers, body = form(file)
    return client.post(path, headers=headers, data=body)


def reply_of(response: TestResponse) -> CloudEvent:
    assert response.status_code == 200, response.get_data(as_text=True)
    return from_http(dict(response.headers), response.get_data())


# --- every input form ---


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
def test_every_form_yields_the_same_failure_detected(client: FlaskClient, form: Any) -> None:
    event = reply_of(post(client, form, load("workflow_job-failure")))
    assert event["type"] == "dev.healer.failure.detected"
    assert event["source"] == "healer/ingest"
    assert event["subject"] == "acme/widgets#7001"
    reference = reply_of(post(client, form_json, load("workflow_job-failure")))
    assert event["id"] == reference["id"]
    model = FailureDetected.model_validate(event.get_data())
    assert (model.run_id, model.job_id, model.delivery_id) == (7001, 90001, DELIVERY_ID)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("workflow_job-python-failure", ("acme/api#7003", "2")),
        ("workflow_run-failure", ("acme/webapp#7002", "1")),
        ("check_suite-failure", ("acme/webapp#suite-5001", "1")),
    ],
)
def test_failure_examples(client: FlaskClient, name: str, expected: tuple[str, str]) -> None:
    event = reply_of(post(client, form_json, load(name)))
    assert (event["subject"], event.get_attributes()["healerattempt"]) == expected
    FailureDetected.model_validate(event.get_data())


@pytest.mark.parametrize(
    ("name", "failure_type"),
    [
        ("dependabot_alert", "dependabot_alert"),
        ("code_scanning_alert", "code_scanning_alert"),
        ("secret_scanning_alert", "secret_scanning_alert"),
    ],
)
def test_alert_examples(client: FlaskClient, name: str, failure_type: str) -> None:
    event = reply_of(post(client, form_ce_binary_envelope, load(name)))
    assert event["type"] == "dev.healer.alert.detected"
    assert AlertDetected.model_validate(event.get_data()).kind == failure_type


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("workflow_job-success", "workflow_job concluded success: not a failure"),
        ("workflow_job-in_progress", "workflow_job in_progress: not completed"),
        ("workflow_job-bot", "sender dependabot[bot] is a bot"),
        ("workflow_run-fork", "head repository mallory/webapp is a fork"),
    ],
)
def test_skips_answer_an_empty_202_with_the_reason(
    client: FlaskClient, name: str, reason: str
) -> None:
    response = post(client, form_ce_binary_envelope, load(name))
    assert response.status_code == 202
    assert response.get_data() == b""
    assert reason in response.headers["X-Healer-Reason"]


def test_filters_configured_by_environment(make_client: Client) -> None:
    client = make_client(repo_allow="acme/api", branch_exclude="main")
    skipped = post(client, form_json, load("workflow_job-failure"))
    assert skipped.headers["X-Healer-Reason"] == "repository acme/widgets is not in the allow-list"
    excluded = post(client, form_json, load("workflow_job-python-failure"))
    assert excluded.headers["X-Healer-Reason"] == "branch main matches an exclude pattern"
    forks = make_client(allow_fork_prs="true", repo_allow="", branch_exclude="")
    assert reply_of(post(forks, form_json, load("workflow_run-fork")))


def test_unknown_event_is_a_skip_not_an_error(client: FlaskClient) -> None:
    response = client.post("/", headers={"X-GitHub-Event": "push"}, json={"ref": "refs/heads/x"})
    assert response.status_code == 202
    assert "event push is not one Healer handles" in response.headers["X-Healer-Reason"]


# --- signatures ---


def test_documented_vector_passes_the_signature_then_fails_as_json(make_client: Client) -> None:
    client = make_client(webhook_secret=SECRET)
    headers = {"X-GitHub-Event": "ping", "Content-Type": "application/json"}
    good = client.post(
        "/", headers={**headers, "X-Hub-Signature-256": VECTOR}, data="Hello, World!"
    )
    assert good.status_code == 400  # signed correctly, but not JSON
    assert "not valid JSON" in good.get_json()["detail"]
    bad = client.post("/", headers={**headers, "X-Hub-Signature-256": VECTOR}, data="Hello, World")
    assert bad.status_code == 401


def test_real_delivery_signature(make_client: Client) -> None:
    client = make_client(webhook_secret=SECRET)
    headers, body = form_json(load("workflow_run-failure"))
    signed = client.post(
        "/", headers={**headers, "X-Hub-Signature-256": sign(SECRET, body)}, data=body
    )
    assert reply_of(signed)["type"] == "dev.healer.failure.detected"
    for signature in ("", sign("wrong", body), sign(SECRET, body + b" ")):
        rejected = client.post(
            "/", headers={**headers, "X-Hub-Signature-256": signature}, data=body
        )
        assert rejected.status_code == 401
        assert rejected.mimetype == "application/problem+json"
        assert rejected.get_json()["status"] == 401


def test_replayed_cloudevent_signed_over_the_compact_body(make_client: Client) -> None:
    client = make_client(webhook_secret=SECRET)
    file = load("workflow_job-failure")
    data = envelope(file)
    compact = json.dumps(file["body"], separators=(",", ":")).encode()
    data["headers"]["X-Hub-Signature-256"] = [sign(SECRET, compact)]
    headers, body = to_binary(webhook_event(data))
    assert reply_of(client.post("/", headers=dict(headers), data=body))
    data["headers"]["X-Hub-Signature-256"] = [sign("wrong", compact)]
    headers, body = to_binary(webhook_event(data))
    assert client.post("/", headers=dict(headers), data=body).status_code == 401


# --- idempotency, archive, secrets ---


def test_redelivery_same_id_archived_once(client: FlaskClient, blob_dir: Path) -> None:
    first = reply_of(post(client, form_json, load("workflow_job-failure")))
    archive = blob_dir / "deliveries" / f"{DELIVERY_ID}.json"
    stamp = archive.stat().st_mtime_ns
    second = reply_of(post(client, form_ce_binary_envelope, load("workflow_job-failure")))
    assert first["id"] == second["id"]
    assert archive.stat().st_mtime_ns == stamp
    assert [p.name for p in (blob_dir / "deliveries").iterdir()] == [archive.name]
    archived = json.loads(archive.read_text())
    assert archived["body"] == load("workflow_job-failure")["body"]


def test_secret_never_leaves_ingest(
    client: FlaskClient, blob_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = load("secret_scanning_alert")
    secret = file["body"]["alert"]["secret"]
    caplog.set_level("DEBUG")
    for form in (form_json, form_ce_structured_envelope):
        response = post(client, form, file)
        assert response.status_code == 200
        assert secret.encode() not in response.get_data()
        assert secret not in str(response.headers)
    for archived in (blob_dir / "deliveries").iterdir():
        assert secret not in archived.read_text()
    assert all(secret not in record.getMessage() for record in caplog.records)


# --- errors ---


def test_malformed_json_is_a_400_saying_what_is_wrong(client: FlaskClient) -> None:
    response = client.post(
        "/", headers={"X-GitHub-Event": "workflow_job"}, data=b'{"action": "completed",'
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("request body is not valid JSON")


def test_invalid_cloudevent_is_a_400(client: FlaskClient) -> None:
    response = client.post("/", headers={"ce-specversion": "1.0", "ce-type": "x"}, data=b"{}")
    assert response.status_code == 400


@pytest.mark.parametrize("body", [b"null", b"[1]", b'"x"', b"7", b"{"])
def test_structured_cloudevent_that_is_not_an_object_is_a_400(
    client: FlaskClient, body: bytes
) -> None:
    headers = {"Content-Type": "application/cloudevents+json"}
    response = client.post("/", headers=headers, data=body)
    assert response.status_code == 400
    assert "not a valid CloudEvent" in response.get_json()["detail"]


def test_oversize_body_is_a_413(make_client: Client) -> None:
    client = make_client(max_body_bytes="2048")
    response = post(client, form_json, load("workflow_job-failure"))
    assert response.status_code == 413


def test_state_store_outage_is_a_503(tmp_path: Path) -> None:
    class DownState(MemoryStateStore):
        def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
            raise StoreUnavailable("state store unreachable", retry_after=5)

    services = Services(Settings(), state=DownState(), blobs=FileBlobStore(tmp_path))
    response = post(injected_client(services), form_json, load("workflow_job-failure"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["title"] == "store unavailable"


def test_health_and_wrong_method(client: FlaskClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "healthy"
    assert client.get("/health/readiness").status_code == 200
    assert client.get("/").status_code == 400


# --- the seed's API paths ---

SEED_KEYS = {"status", "coderun_name", "agent", "failure_type", "reason"}


def test_seed_paths_answer_the_seed_shape_and_emit(tmp_path: Path) -> None:
    sent: list[CloudEvent] = []
    services = Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path))
    client = injected_client(services, emit=sent.append)
    ci = post(client, form_json, load("workflow_job-failure"), "/api/remediate/ci-failure")
    assert ci.status_code == 202
    assert set(ci.get_json()) == SEED_KEYS and ci.get_json()["status"] == "accepted"
    alert = post(client, form_json, load("secret_scanning_alert"), "/api/remediate/security-alert")
    assert alert.get_json()["failure_type"] == "security_secret"
    skip = post(client, form_json, load("workflow_job-bot"), "/api/remediate/ci-failure")
    assert skip.status_code == 202
    assert skip.get_json()["status"] == "skipped"
    bad = client.post("/api/remediate/ci-failure", data=b"{", headers={"X-GitHub-Event": "x"})
    assert bad.status_code == 400 and bad.get_json()["status"] == "error"
    assert [e["type"] for e in sent] == [
        "dev.healer.failure.detected",
        "dev.healer.alert.detected",
    ]


def test_seed_path_without_broker_replies_with_the_event(client: FlaskClient) -> None:
    response = post(client, form_json, load("workflow_job-failure"), "/api/remediate/ci-failure")
    assert reply_of(response)["type"] == "dev.healer.failure.detected"
