"""GitHub → Argo EventSource → shipped Sensor → Broker → ingest / completion-check, byte for byte.

Argo's EventSource checks GitHub's signature and re-encodes the body (``argo_events``), so with
the shipped settings (``HEALER_ENVELOPE_TRUST=argo`` and the webhook secret set) the stages
take Argo's envelopes as they come, while every direct POST still needs a valid signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import yaml
from argo_events import argo_delivery, github_request
from cloudevents.http import from_http
from completion_fixtures import BRANCH, REPO, TASK, agent_done, record, services, start
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from functions.completion_check.main import create_function as completion_function
from healer.vocabulary import EventType
from healer.webhooks.signature import sign
from healer_dev.broker.finish import ci_delivery, fix_commit
from healer_dev.broker.replay import to_cloudevent

ROOT = Path(__file__).resolve().parents[2]
INGEST = ROOT / "functions" / "ingest" / "main.py"
COMPLETION = ROOT / "functions" / "completion_check" / "main.py"
DELIVERIES = ROOT / "examples" / "deliveries"
SENSOR = yaml.safe_load((ROOT / "knative" / "argo" / "sensor.yaml").read_text())
SECRET = "It's a Secret to Everybody"
Client = Callable[..., FlaskClient]

FAILURES = {"workflow_job-failure", "workflow_job-python-failure", "workflow_run-failure"}
FAILURES |= {"check_suite-failure"}
ALERTS = {"dependabot_alert", "code_scanning_alert", "secret_scanning_alert"}
EXAMPLES = sorted(p.stem for p in DELIVERIES.glob("*.json"))
TRICKY = "<script>alert('x')</script> & ‘intégration’ — 测试 😀\u2028\u2029 \\ \"q\""


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DELIVERIES / f"{name}.json").read_text("utf-8"))
    return loaded


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Client]:
    """A functions-framework app configured through ``HEALER_*`` variables, as deployed."""
    count = iter(range(1000))

    def build(target: str = "ingest", **env: str) -> FlaskClient:
        monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent-config.json"))
        monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / f"blobs-{next(count)}"))
        for name in ("WEBHOOK_SECRET", "ENVELOPE_TRUST"):
            monkeypatch.delenv(f"HEALER_{name}", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(f"HEALER_{name.upper()}", value)
        source = INGEST if target == "ingest" else COMPLETION
        client: FlaskClient = create_app(
            target=target, source=str(source), signature_type="http"
        ).test_client()
        return client

    yield build


@pytest.fixture
def argo(make_client: Client) -> FlaskClient:
    """ingest with the shipped settings."""
    return make_client(webhook_secret=SECRET, envelope_trust="argo")


def through_argo(client: FlaskClient, file: dict[str, Any], **kw: Any) -> TestResponse:
    headers, body = argo_delivery(SENSOR, file, SECRET, **kw)
    return client.post("/", headers=headers, data=body)


def direct(client: FlaskClient, file: dict[str, Any], *, body: bytes | None = None) -> TestResponse:
    """GitHub's own POST, straight to the function: the reference outcome."""
    request = github_request(file, SECRET, body=body, ingress=False)
    headers = {k: v for k, v in request.headers if k != "Host"}
    return client.post("/", headers=headers, data=request.body)


def same_outcome(via_argo: TestResponse, reference: TestResponse) -> str:
    """Both answered alike; returns the event type (or "skip")."""
    assert reference.status_code in (200, 202), reference.get_data(as_text=True)
    assert via_argo.status_code == reference.status_code, via_argo.get_data(as_text=True)
    if reference.status_code == 202:
        assert via_argo.headers["X-Healer-Reason"] == reference.headers["X-Healer-Reason"]
        return "skip"
    ours = from_http(dict(via_argo.headers), via_argo.get_data())
    theirs = from_http(dict(reference.headers), reference.get_data())
    assert {**ours.get_attributes(), "time": ""} == {**theirs.get_attributes(), "time": ""}
    assert ours.get_data() == theirs.get_data()
    return str(ours["type"])


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_through_argo_ends_as_the_direct_delivery_does(
    argo: FlaskClient, make_client: Client, name: str
) -> None:
    file = load(name)
    kind = same_outcome(through_argo(argo, file), direct(make_client(), file))
    expected = (
        EventType.FAILURE_DETECTED
        if name in FAILURES
        else EventType.ALERT_DETECTED
        if name in ALERTS
        else "skip"
    )
    assert kind == expected


def tricky_job(file: dict[str, Any]) -> dict[str, Any]:
    file["body"]["workflow_job"]["name"] = TRICKY
    file["body"]["workflow_job"]["workflow_name"] = "CI & <release> ✓"
    return file


def tricky_run(file: dict[str, Any]) -> dict[str, Any]:
    run = file["body"]["workflow_run"]
    run["name"] = TRICKY
    run["display_title"] = "Fix <parser> & “quotes” — naïve café"
    return file


def tricky_alert(file: dict[str, Any]) -> dict[str, Any]:
    alert = file["body"]["alert"]
    alert.setdefault("security_advisory", {})["summary"] = TRICKY
    return file


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("workflow_job-failure", tricky_job),
        ("workflow_run-failure", tricky_run),
        ("dependabot_alert", tricky_alert),
    ],
)
@pytest.mark.parametrize("pretty", [False, True], ids=["compact", "indented"])
def test_html_characters_and_non_ascii_survive_argo(
    argo: FlaskClient, make_client: Client, name: str, change: Any, pretty: bool
) -> None:
    file = change(load(name))
    body = json.dumps(file["body"], indent=2 if pretty else None, ensure_ascii=False).encode()
    kind = same_outcome(through_argo(argo, file, body=body), direct(make_client(), file, body=body))
    assert kind in {EventType.FAILURE_DETECTED, EventType.ALERT_DETECTED}


def test_the_text_is_the_payloads_own(argo: FlaskClient) -> None:
    event = from_http(*_pair(through_argo(argo, tricky_job(load("workflow_job-failure")))))
    data = event.get_data()
    assert isinstance(data, dict)
    assert (data["job_name"], data["workflow_name"]) == (TRICKY, "CI & <release> ✓")


def _pair(response: TestResponse) -> tuple[dict[str, str], bytes]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.headers), response.get_data()


# --- why the setting exists, and what it does not open -------------------------------------


def test_in_verify_mode_an_argo_envelope_is_a_401(make_client: Client) -> None:
    response = through_argo(make_client(webhook_secret=SECRET), load("workflow_job-failure"))
    assert response.status_code == 401
    assert "does not match" in response.get_json()["detail"]


def test_a_wrongly_signed_direct_post_is_a_401_in_argo_mode(argo: FlaskClient) -> None:
    file = load("workflow_job-failure")
    body = json.dumps(file["body"]).encode()
    headers = {**file["headers"], "X-Hub-Signature-256": sign("guessed", body)}
    assert argo.post("/", headers=headers, data=body).status_code == 401
    unsigned = argo.post("/", headers=file["headers"], data=body)
    assert unsigned.status_code == 401
    seed = argo.post("/api/remediate/ci-failure", headers=headers, data=body)
    assert seed.status_code == 401 and seed.get_json()["status"] == "error"


def test_an_argo_envelope_posted_directly_is_not_trusted(argo: FlaskClient) -> None:
    """Only CloudEvents (what the Broker delivers) carry Argo's word; a plain POST of the same
    envelope must be signed."""
    headers, body = argo_delivery(SENSOR, load("workflow_job-failure"), SECRET)
    plain = {"Content-Type": "application/json"}
    assert argo.post("/", headers=plain, data=body).status_code == 401
    assert argo.post("/api/remediate/ci-failure", headers=headers, data=body).status_code == 401


def tamper_delivery_id(envelope: dict[str, Any]) -> None:
    envelope["body"]["X-GitHub-Delivery"] = "another-delivery"


def tamper_header_case(envelope: dict[str, Any]) -> None:
    envelope["headers"] = {k.lower(): v for k, v in envelope["headers"].items()}


def tamper_header_values(envelope: dict[str, Any]) -> None:
    envelope["headers"] = {k: v[0] for k, v in envelope["headers"].items()}


def tamper_no_injected_keys(envelope: dict[str, Any]) -> None:
    del envelope["body"]["X-GitHub-Event"]


def tamper_no_signature(envelope: dict[str, Any]) -> None:
    del envelope["headers"]["X-Hub-Signature-256"]
    del envelope["headers"]["X-Hub-Signature"]


def tamper_body_string(envelope: dict[str, Any]) -> None:
    envelope["body"] = json.dumps(envelope["body"])


def tamper_empty_metadata(envelope: dict[str, Any]) -> None:
    envelope["metadata"] = {}


@pytest.mark.parametrize(
    "tamper",
    [
        tamper_delivery_id,
        tamper_header_case,
        tamper_header_values,
        tamper_no_injected_keys,
        tamper_no_signature,
        tamper_body_string,
        tamper_empty_metadata,
    ],
    ids=lambda f: f.__name__,
)
def test_an_envelope_not_in_argos_form_is_refused(argo: FlaskClient, tamper: Any) -> None:
    headers, body = argo_delivery(SENSOR, load("workflow_job-failure"), SECRET)
    envelope = json.loads(body)
    tamper(envelope)
    response = argo.post("/", headers=headers, data=json.dumps(envelope).encode())
    assert response.status_code == 401, response.get_data(as_text=True)
    assert "not an Argo Events envelope" in response.get_json()["detail"]


def test_the_cloudevent_id_must_be_the_delivery_id(argo: FlaskClient) -> None:
    headers, body = argo_delivery(SENSOR, load("workflow_job-failure"), SECRET)
    response = argo.post("/", headers={**headers, "ce-id": "chosen-by-the-sender"}, data=body)
    assert response.status_code == 401
    assert "CloudEvent id" in response.get_json()["detail"]


def test_a_signed_envelope_in_another_form_is_still_verified_in_argo_mode(
    argo: FlaskClient,
) -> None:
    """``healer replay --broker`` signs the compact body it sends: that is checked, not trusted."""
    from cloudevents.conversion import to_binary

    event = to_cloudevent(load("workflow_job-failure"), secret=SECRET)
    headers, body = to_binary(event)
    assert argo.post("/", headers=dict(headers), data=body).status_code == 200
    forged = to_cloudevent(load("workflow_job-failure"), secret="guessed")
    headers, body = to_binary(forged)
    response = argo.post("/", headers=dict(headers), data=body)
    assert response.status_code == 401 and "does not match" in response.get_json()["detail"]


def test_an_unknown_trust_mode_stops_the_function(make_client: Client) -> None:
    client = make_client(webhook_secret=SECRET, envelope_trust="sometimes")
    response = client.post("/", headers=load("workflow_job-failure")["headers"], data=b"{}")
    assert response.status_code == 500


# --- completion-check -----------------------------------------------------------------------


def cc_client(tmp_path: Path, trust: str) -> tuple[FlaskClient, Any]:
    svc = services(tmp_path, webhook_secret=SECRET, envelope_trust=trust)
    function = completion_function(svc)
    app = flask.Flask(f"completion-check-{trust}")
    app.add_url_rule("/", "cc", lambda: function(flask.request), methods=["POST"])
    return app.test_client(), svc


def ci_file(conclusion: str = "success") -> dict[str, Any]:
    name = f"healer-{TASK}-a1"
    return ci_delivery(REPO, BRANCH, fix_commit(name), conclusion, key=f"{name}-{conclusion}")


def test_completion_check_takes_argos_ci_result_and_the_attempt_succeeds(tmp_path: Path) -> None:
    client, svc = cc_client(tmp_path, "argo")
    start(svc)
    waiting = through_argo(client, ci_file())
    assert waiting.status_code == 202, waiting.get_data(as_text=True)
    assert "waiting for the agent" in waiting.headers["X-Healer-Reason"]
    from cloudevents.conversion import to_binary

    headers, body = to_binary(agent_done(svc))
    done = client.post("/", headers=dict(headers), data=body)
    assert done.status_code == 200
    assert from_http(dict(done.headers), done.get_data())["type"] == EventType.REMEDIATION_SUCCEEDED


def test_completion_check_in_verify_mode_refuses_argos_ci_result(tmp_path: Path) -> None:
    client, svc = cc_client(tmp_path, "verify")
    start(svc)
    response = through_argo(client, ci_file())
    assert response.status_code == 401
    assert record(svc)["attempts"][0].get("ci") is None


def test_completion_check_refuses_a_forged_envelope_in_argo_mode(tmp_path: Path) -> None:
    client, svc = cc_client(tmp_path, "argo")
    start(svc)
    headers, body = argo_delivery(SENSOR, ci_file("failure"), SECRET)
    envelope = json.loads(body)
    envelope["headers"] = {k.lower(): v for k, v in envelope["headers"].items()}
    envelope["body"]["workflow_run"]["conclusion"] = "success"
    response = client.post("/", headers=headers, data=json.dumps(envelope).encode())
    assert response.status_code == 401
    assert record(svc)["attempts"][0].get("ci") is None


def test_the_completion_check_target_reads_the_trust_mode(make_client: Client) -> None:
    client = make_client("completion_check", webhook_secret=SECRET, envelope_trust="argo")
    response = through_argo(client, ci_file())
    assert response.status_code == 202 and "no Healer task" in response.headers["X-Healer-Reason"]
    verifying = make_client("completion_check", webhook_secret=SECRET)
    assert through_argo(verifying, ci_file()).status_code == 401
