"""The escalate function as Knative runs it, and as the last hop of the in-process pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
import respx
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from escalate_fixtures import exhausted, failure_context, record_exhausted
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app

from functions.escalate.main import create_function
from healer.events import build_event
from healer.services import Services
from healer.settings import Settings
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, Stage
from healer_dev.broker import report
from healer_dev.broker.hops import Outcome
from healer_dev.broker.pipeline import Pipeline, in_process, offline_settings

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "functions" / "escalate" / "main.py"
RECORDED = ROOT / "examples" / "github"
WEBHOOK = "https://discord.com/api/webhooks/42/functional-test-token"


def exhausted_event(pull: bool = True) -> CloudEvent:
    payload = exhausted(failure_context(pull=pull))
    return build_event(
        EventType.REMEDIATION_EXHAUSTED,
        Stage.COMPLETION_CHECK,
        payload,
        key=(payload.task_id,),
        repository=payload.repository,
        run_id=payload.run_id,
        attempt=3,
    )


def post(client: FlaskClient, event: CloudEvent, structured: bool = False) -> Any:
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=dict(headers), data=body)


def reply(response: Any) -> CloudEvent:
    assert response.status_code == 200, response.get_data()
    return from_http(dict(response.headers), response.get_data())


@pytest.fixture
def framework(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """The function exactly as ``functions-framework --target escalate`` serves it (its state
    is its own, empty: no task is on record)."""
    monkeypatch.setenv("HEALER_GITHUB_RECORDED_DIR", str(RECORDED))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_DISCORD_WEBHOOK_URL", WEBHOOK)
    client: FlaskClient = create_app(
        target="escalate", source=str(MAIN), signature_type="http"
    ).test_client()
    return client


@pytest.fixture
def offline(tmp_path: Path) -> FlaskClient:
    """The same function over services whose state has the example task exhausted, as
    completion-check leaves it."""
    settings = Settings(
        github_recorded_dir=str(RECORDED),
        blob_dir=str(tmp_path / "blobs"),
        discord_webhook_url=WEBHOOK,
    )
    services = Services(settings, state=MemoryStateStore())
    record_exhausted(services.state)
    function = create_function(services)
    app = flask.Flask("escalate-test")
    app.add_url_rule("/", "escalate", lambda: function(flask.request), methods=["GET", "POST"])
    return app.test_client()


@pytest.mark.parametrize("structured", [False, True])
def test_exhausted_in_escalated_out_and_discord_told_once(
    offline: FlaskClient, structured: bool
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(WEBHOOK).mock(return_value=httpx.Response(200, json={"id": "777"}))
        event = reply(post(offline, exhausted_event(), structured=structured))
        again = reply(post(offline, exhausted_event(), structured=not structured))
    assert event["type"] == EventType.REMEDIATION_ESCALATED and event["source"] == "healer/escalate"
    assert again["id"] == event["id"] and data_of(again) == data_of(event)
    data = data_of(event)
    assert data["channels"] == ["discord", "github"] and data["comment_kind"] == "comment"
    assert route.call_count == 1  # the redelivery posted nothing
    sent = json.loads(route.calls[0].request.content)
    assert sent["allowed_mentions"] == {"parse": []}
    assert route.calls[0].request.url.params["wait"] == "true"


def test_discord_down_is_a_503_and_the_retry_posts_only_discord(offline: FlaskClient) -> None:
    with respx.mock() as mock:
        route = mock.post(WEBHOOK).mock(
            side_effect=[httpx.Response(502), httpx.Response(200, json={"id": "1"})]
        )
        first = post(offline, exhausted_event(pull=False))
        assert first.status_code == 503 and first.content_type == "application/problem+json"
        assert "functional-test-token" not in first.get_data(as_text=True)
        data = data_of(reply(post(offline, exhausted_event(pull=False))))
    assert route.call_count == 2 and data["channels"] == ["discord", "github"]
    assert data["comment_kind"] == "issue"


def test_a_discord_rate_limit_answers_429_with_retry_after(offline: FlaskClient) -> None:
    with respx.mock() as mock:
        mock.post(WEBHOOK).mock(return_value=httpx.Response(429, json={"retry_after": 30.2}))
        response = post(offline, exhausted_event())
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"


def test_other_events_and_bad_data_are_400(framework: FlaskClient) -> None:
    wrong = build_event(
        EventType.REMEDIATION_STARTED,
        Stage.SPAWN,
        {},
        key=("x",),
        repository="acme/widgets",
        run_id=1,
    )
    assert post(framework, wrong).status_code == 400
    bad = build_event(
        EventType.REMEDIATION_EXHAUSTED,
        Stage.COMPLETION_CHECK,
        {"task_id": "t"},
        key=("t",),
        repository="acme/widgets",
        run_id=1,
    )
    assert post(framework, bad).status_code == 400
    assert framework.get("/health/readiness").status_code == 200


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[tuple[Pipeline, Services]]:
    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    services = Services(
        replace(settings, coderun_outbox=str(tmp_path / "outbox")), state=MemoryStateStore()
    )
    record_exhausted(services.state)
    built = in_process(services, root=ROOT)
    yield built, services
    built.close()


def test_the_broker_routes_exhausted_to_escalate_and_the_report_shows_it(
    pipeline: tuple[Pipeline, Services],
) -> None:
    built, services = pipeline
    hops = built.broker.publish(exhausted_event())
    escalate = [h for h in hops if h.stage == "escalate"]
    assert len(escalate) == 1
    (hop,) = escalate
    assert (hop.type, hop.status, hop.outcome, hop.reply_type) == (
        EventType.REMEDIATION_EXHAUSTED.value,
        200,
        Outcome.REPLY,
        EventType.REMEDIATION_ESCALATED.value,
    )
    assert not any(h.failed for h in hops)
    rec = report.with_messages(report.record(hop), services.blobs, discord_configured=False)
    assert rec["escalation"]["channels"] == ["github"]
    assert rec["escalation"]["disabled"] == ["discord"]
    text = "\n".join(report.lines(rec))
    assert "escalated to github → a comment on the PR: https://github.com/acme/widgets/" in text
    assert "discord: off (not configured)" in text
    assert "Discord message (would post; no webhook URL is set):" in text
    assert "│ ## Healer could not fix this failure" in text
    record = json.loads(services.state.get("task:acme-widgets-7001") or "{}")
    assert record["status"] == "escalated" and record["comment_url"].startswith("https://")
    # A second publish of the same event is answered with the same event.
    again = [h for h in built.broker.publish(exhausted_event()) if h.stage == "escalate"]
    assert again[0].reply_id == hop.reply_id


def test_healer_replay_runs_a_failing_agent_to_an_escalation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from healer_dev.cli import main

    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    delivery = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"
    assert main(["replay", "--agent-outcome", "failed", str(delivery)]) == 0
    out = capsys.readouterr().out
    assert "[escalate] dev.healer.remediation.exhausted" in out
    assert "→ 200 dev.healer.remediation.escalated" in out
    assert "escalated to github → a comment on the PR: https://github.com/acme/widgets/" in out
    assert "Discord message (would post; no webhook URL is set):" in out
    assert "│ | 3 | atlas | failed |" in out
