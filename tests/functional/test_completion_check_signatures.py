"""completion-check served as Knative runs it, with a webhook secret: CI results on an agent's
branch count only when GitHub signed them; the cluster's own events pass as before."""

from __future__ import annotations

import json
from pathlib import Path

import flask
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from completion_fixtures import BRANCH, REPO, TASK, agent_done, ping, record, services, start
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from functions.completion_check.main import create_function
from healer.services import Services
from healer.vocabulary import EventType
from healer.webhooks.signature import sign
from healer_dev.broker.finish import ci_event, fix_commit

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "completion_check" / "main.py"
SECRET = "It's a Secret to Everybody"
NAME = f"healer-{TASK}-a1"


@pytest.fixture
def svc(tmp_path: Path) -> Services:
    return services(tmp_path, webhook_secret=SECRET)


@pytest.fixture
def client(svc: Services) -> FlaskClient:
    function = create_function(svc)
    app = flask.Flask("completion-check-signed")
    app.add_url_rule("/", "cc", lambda: function(flask.request), methods=["GET", "POST"])
    return app.test_client()


def post(client: FlaskClient, event: CloudEvent, structured: bool = False) -> TestResponse:
    headers, body = to_structured(event) if structured else to_binary(event)
    return client.post("/", headers=dict(headers), data=body)


def ci(secret: str = SECRET, conclusion: str = "success") -> CloudEvent:
    sha = fix_commit(NAME)
    return ci_event(REPO, BRANCH, sha, conclusion, key=f"{NAME}-{conclusion}", secret=secret)


def refused(response: TestResponse, detail: str) -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert detail in response.get_json()["detail"]


def ci_half(svc: Services) -> object:
    return record(svc)["attempts"][0].get("ci")


@pytest.mark.parametrize("structured", [False, True])
def test_a_signed_ci_pass_counts_and_the_attempt_succeeds(
    client: FlaskClient, svc: Services, structured: bool
) -> None:
    start(svc)
    waiting = post(client, ci(), structured=structured)
    assert (
        waiting.status_code == 202 and "waiting for the agent" in waiting.headers["X-Healer-Reason"]
    )
    response = post(client, agent_done(svc))
    assert response.status_code == 200
    reply = from_http(dict(response.headers), response.get_data())
    assert reply["type"] == EventType.REMEDIATION_SUCCEEDED


def test_an_unsigned_ci_pass_is_a_401_and_records_nothing(
    client: FlaskClient, svc: Services
) -> None:
    start(svc)
    refused(post(client, ci(secret="")), "missing")
    assert ci_half(svc) is None
    # The agent's report alone cannot finish the attempt: CI never passed.
    waiting = post(client, agent_done(svc))
    assert waiting.status_code == 202 and "waiting for CI" in waiting.headers["X-Healer-Reason"]


def test_a_ci_pass_signed_with_another_secret_is_a_401(client: FlaskClient, svc: Services) -> None:
    start(svc)
    refused(post(client, ci(secret="guessed")), "does not match")
    assert ci_half(svc) is None


@pytest.mark.parametrize("structured", [False, True])
def test_a_failure_rewritten_as_success_is_a_401(
    client: FlaskClient, svc: Services, structured: bool
) -> None:
    start(svc)
    headers, body = (
        to_structured(ci(conclusion="failure"))
        if structured
        else to_binary(ci(conclusion="failure"))
    )
    raw = body if isinstance(body, bytes) else str(body).encode()
    tampered = raw.replace(b'"conclusion": "failure"', b'"conclusion": "success"')
    assert tampered != raw
    refused(client.post("/", headers=dict(headers), data=tampered), "does not match")
    assert ci_half(svc) is None


def test_a_repeated_body_member_cannot_smuggle_a_forged_result(
    client: FlaskClient, svc: Services
) -> None:
    """Argo's envelope with a genuinely signed failure followed by a second, forged ``body``:
    the JSON reader keeps the last one, so that is the one the signature must cover."""
    start(svc)
    genuine = data_of(ci(conclusion="failure"))["body"]
    forged = json.loads(json.dumps(genuine))
    forged["workflow_run"]["conclusion"] = "success"
    signed = json.dumps(genuine, separators=(",", ":")).encode()
    headers = {"X-Github-Event": ["workflow_run"], "X-Hub-Signature-256": [sign(SECRET, signed)]}
    envelope = (
        b'{"headers": '
        + json.dumps(headers).encode()
        + b', "body": '
        + signed
        + b', "body": '
        + json.dumps(forged).encode()
        + b', "metadata": {}}'
    )
    ce = {
        "ce-specversion": "1.0",
        "ce-type": EventType.GITHUB_WEBHOOK.value,
        "ce-source": f"https://github.com/{REPO}",
        "ce-id": "smuggled-1",
        "content-type": "application/json",
    }
    refused(client.post("/", headers=ce, data=envelope), "does not match")
    assert ci_half(svc) is None


def test_coderun_updates_and_sweep_ticks_pass_with_a_secret_set(
    client: FlaskClient, svc: Services
) -> None:
    start(svc)
    response = post(client, agent_done(svc, phase="Failed"), structured=True)
    assert response.status_code == 200
    assert response.headers["ce-type"] == EventType.REMEDIATION_RETRY
    tick = post(client, ping())
    assert tick.status_code == 202 and "sweep" in tick.headers["X-Healer-Reason"]


def test_the_framework_target_reads_the_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_WEBHOOK_SECRET", SECRET)
    app = create_app(target="completion_check", source=str(MAIN), signature_type="http")
    framework = app.test_client()
    refused(post(framework, ci(secret="")), "missing")
    signed = post(framework, ci())
    assert signed.status_code == 202 and "no Healer task" in signed.headers["X-Healer-Reason"]
    assert framework.post("/", data=b"{}", content_type="application/json").status_code == 400
    assert framework.get("/health/readiness").status_code == 200


def test_without_a_secret_an_unsigned_ci_pass_still_counts(tmp_path: Path) -> None:
    svc = services(tmp_path)
    function = create_function(svc)
    app = flask.Flask("completion-check-open")
    app.add_url_rule("/", "cc", lambda: function(flask.request), methods=["POST"])
    start(svc)
    response = post(app.test_client(), ci(secret=""))
    assert response.status_code == 202
    assert isinstance(ci_half(svc), dict)
