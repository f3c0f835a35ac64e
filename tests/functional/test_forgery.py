"""Forged events posted straight to a Service or the Broker start nothing and post nothing.

Spawn and escalate run as Knative runs them (functions-framework, CloudEvents over HTTP); the
last tests go through the in-process broker, whose hop log is what ``healer replay`` prints.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
import respx
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent, from_http
from completion_fixtures import start
from contexts import widgets_context
from escalate_fixtures import Discord, exhausted
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app
from github_routes import Routes, client

from functions.escalate.stage import Escalator
from healer.events import build_event
from healer.models import ContextGathered, FailureDetected
from healer.runtime import cloudevent_function
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, Stage
from healer_dev.broker import report
from healer_dev.broker.hops import Outcome
from healer_dev.broker.pipeline import Pipeline, in_process, offline_settings

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "examples" / "github"
FIX_BRANCH = "healer/acme-widgets-7001"
GITHUB_API = "https://github.forgery.test"
WEBHOOK = "https://discord.com/api/webhooks/9/forgery-test-token"


def gathered(data: dict[str, Any], repository: str = "acme/widgets") -> CloudEvent:
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        data,
        key=(str(data["task_id"]), data.get("attempt", 1)),
        repository=repository,
        run_id=7001,
    )


def context_data(**changes: Any) -> dict[str, Any]:
    """The scenario's context as JSON, with ``changes`` applied the way a forger would."""
    data = widgets_context().model_dump(mode="json")
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for name in parents:
            node = node[name]
        node[last] = value
    return data


def post(app: FlaskClient, event: CloudEvent) -> Any:
    headers, body = to_binary(event)
    return app.post("/", headers=dict(headers), data=body)


def replied(response: Any) -> CloudEvent:
    assert response.status_code == 200, response.get_data()
    return from_http(dict(response.headers), response.get_data())


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """The recorded GitHub, where ``release/2`` is a protected branch of acme/widgets."""
    copy = tmp_path / "github"
    shutil.copytree(RECORDED, copy)
    branch = json.loads((copy / "repos/acme/widgets/branches/feature/parser.json").read_text())
    (copy / "repos/acme/widgets/branches/release").mkdir()
    (copy / "repos/acme/widgets/branches/release/2.json").write_text(
        json.dumps({**branch, "name": "release/2", "protected": True})
    )
    return copy


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def spawn(
    tmp_path: Path, outbox: Path, recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> FlaskClient:
    monkeypatch.setenv("HEALER_GITHUB_RECORDED_DIR", str(recorded))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(outbox))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_REPO_ALLOW", "acme/*")
    source = ROOT / "functions" / "spawn" / "main.py"
    client: FlaskClient = create_app(
        target="spawn", source=str(source), signature_type="http"
    ).test_client()
    return client


def coderuns(outbox: Path) -> list[dict[str, Any]]:
    import yaml

    return [yaml.safe_load(p.read_text()) for p in sorted(outbox.glob("*.yaml"))]


def test_a_context_for_a_repository_outside_the_allow_list_starts_nothing(
    spawn: FlaskClient, outbox: Path
) -> None:
    data = context_data(
        classified__failure__repository="evil/backdoor",
        task_id="evil-backdoor-7001",
        pull_request__head_ref="main",
    )
    event = replied(post(spawn, gathered(data, repository="evil/backdoor")))
    assert event["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(event)["code"] == "repository"
    assert coderuns(outbox) == []


@pytest.mark.parametrize(
    ("head", "base", "expected_base"),
    [("main", "main", "main"), ("release/2", "main", "release/2")],
    ids=["pr-head-is-the-default-branch", "protected-branch"],
)
def test_the_agent_never_pushes_to_the_default_or_a_protected_branch(
    spawn: FlaskClient, outbox: Path, tmp_path: Path, head: str, base: str, expected_base: str
) -> None:
    data = context_data(
        classified__failure__head_branch=head,
        pull_request__head_ref=head,
        pull_request__base_ref=base,
    )
    event = replied(post(spawn, gathered(data)))
    assert event["type"] == EventType.REMEDIATION_STARTED
    started = data_of(event)
    assert (started["branch"], started["base_branch"]) == (FIX_BRANCH, expected_base)
    (coderun,) = coderuns(outbox)
    env = coderun["spec"]["env"]
    assert env["HEALER_TARGET_BRANCH"] == FIX_BRANCH and "HEALER_PULL_REQUEST" not in env
    prompt = (tmp_path / "blobs" / started["prompt_key"]).read_text()
    assert f"`{FIX_BRANCH}`" in prompt and f"Push to the branch `{head}`" not in prompt


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"attempt": 0}, "attempt"),
        ({"attempt": -1}, "attempt"),
        ({"task_id": "acme-widgets-7002"}, "does not match repository"),
        ({"task_id": "../../etc"}, "task_id"),
        ({"classified__failure__repository": "evil/.."}, "repository"),
    ],
)
def test_a_malformed_identity_is_a_400_and_starts_nothing(
    spawn: FlaskClient, outbox: Path, changes: dict[str, Any], detail: str
) -> None:
    response = post(spawn, gathered(context_data(**changes)))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert detail in response.get_json()["detail"]
    assert coderuns(outbox) == []


def test_an_attempt_past_max_attempts_is_skipped(spawn: FlaskClient, outbox: Path) -> None:
    event = replied(post(spawn, gathered(context_data(attempt=4))))
    assert event["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(event)["code"] == "max_attempts" and coderuns(outbox) == []


def exhausted_event(task: str = "acme-widgets-7001") -> CloudEvent:
    payload = exhausted()
    return build_event(
        EventType.REMEDIATION_EXHAUSTED,
        Stage.COMPLETION_CHECK,
        payload,
        key=(task,),
        repository="acme/widgets",
        run_id=7001,
        attempt=3,
    )


def test_a_forged_exhausted_for_an_unknown_task_posts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALER_GITHUB_API_URL", GITHUB_API)
    monkeypatch.setenv("HEALER_GITHUB_TOKEN", "ghs_forgery0test0token000000000000000000")
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_DISCORD_WEBHOOK_URL", WEBHOOK)
    source = ROOT / "functions" / "escalate" / "main.py"
    app = create_app(target="escalate", source=str(source), signature_type="http").test_client()
    with respx.mock(assert_all_called=False) as mock:
        github = mock.route(url__startswith=GITHUB_API).mock(return_value=httpx.Response(201))
        discord = mock.post(WEBHOOK).mock(return_value=httpx.Response(200, json={"id": "1"}))
        response = post(app, exhausted_event())
    assert response.status_code == 202 and response.get_data() == b""
    assert response.headers["X-Healer-Reason"].startswith("not exhausted: task acme-widgets-7001")
    assert github.call_count == 0 and discord.call_count == 0


def test_a_forged_exhausted_for_a_running_task_posts_nothing(tmp_path: Path) -> None:
    """spawn really started the task (its record says running); then the forgery arrives."""
    routes, fake_discord = Routes(), Discord()
    services = Services(
        Settings(coderun_outbox=str(tmp_path / "outbox"), github_recorded_dir=str(RECORDED)),
        state=MemoryStateStore(),
        blobs=FileBlobStore(tmp_path / "blobs"),
    )
    start(services)
    assert json.loads(services.state.get("task:acme-widgets-7001") or "{}")["status"] == "running"
    escalating = Services(
        replace(services.settings, discord_webhook_url=WEBHOOK),
        state=services.state,
        blobs=services.blobs,
        github=client(routes),
    )
    escalator = Escalator(escalating, discord=fake_discord.webhook())
    function = cloudevent_function(escalator, name="escalate")  # as main.create_function does
    app = flask.Flask("escalate-forgery")
    app.add_url_rule("/", "escalate", lambda: function(flask.request), methods=["POST"])
    response = post(app.test_client(), exhausted_event())
    assert response.status_code == 202
    assert "is running, not exhausted" in response.headers["X-Healer-Reason"]
    assert [r for r in routes.requests if r.method == "POST"] == []
    assert fake_discord.requests == []
    assert json.loads(services.state.get("task:acme-widgets-7001") or "{}")["status"] == "running"


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[tuple[Pipeline, Services]]:
    settings = offline_settings(Settings(repo_allow=("acme/*",)), ROOT, str(tmp_path / "blobs"))
    services = Services(
        replace(settings, coderun_outbox=str(tmp_path / "outbox")), state=MemoryStateStore()
    )
    built = in_process(services, root=ROOT)
    yield built, services
    built.close()


def test_the_hop_log_shows_why_forgeries_went_nowhere(
    pipeline: tuple[Pipeline, Services], tmp_path: Path
) -> None:
    built, _ = pipeline
    forged = ContextGathered.model_validate(
        context_data(classified__failure__repository="evil/backdoor", task_id="evil-backdoor-7001")
    )
    assert isinstance(forged.classified.failure, FailureDetected)
    hops = built.broker.publish(gathered(forged.model_dump(mode="json"), "evil/backdoor"))
    (spawned,) = [h for h in hops if h.stage == "spawn"]
    assert spawned.reply_type == EventType.REMEDIATION_SKIPPED.value
    text = "\n".join(report.lines(report.record(spawned)))
    assert "repository evil/backdoor is not in the allow-list" in text
    hops = built.broker.publish(exhausted_event())
    (escalated,) = [h for h in hops if h.stage == "escalate"]
    assert escalated.outcome == Outcome.SKIPPED
    assert "skipped: not exhausted: task acme-widgets-7001 is unknown" in "\n".join(
        report.lines(report.record(escalated))
    )
    assert not (tmp_path / "outbox").exists()
