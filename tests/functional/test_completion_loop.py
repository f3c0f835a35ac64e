"""The whole loop in-process: a failure, the agent's outcome, retries back through gather and
spawn, and the end (``healer replay --agent-outcome``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAILURE = str(ROOT / "examples" / "deliveries" / "workflow_job-failure.json")


@pytest.fixture(autouse=True)
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    return tmp_path / "outbox"


def rows(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_an_agent_that_keeps_failing_retries_then_is_exhausted(
    outbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", FAILURE, "--json", "--agent-outcome", "failed"]) == 0
    hops = rows(capsys)
    started = [h for h in hops if h["reply_type"] == "dev.healer.remediation.started"]
    assert [h["remediation"]["coderun_name"] for h in started] == [
        f"healer-acme-widgets-7001-a{n}" for n in (1, 2, 3)
    ]
    assert [h["remediation"]["agent"] for h in started] == ["rex", "rex", "atlas"]
    checked = [(h["stage"], h["reply_type"]) for h in hops if h["type"].endswith("resource.update")]
    assert checked == [
        ("completion-check", "dev.healer.remediation.retry"),
        ("completion-check", "dev.healer.remediation.retry"),
        ("completion-check", "dev.healer.remediation.exhausted"),
    ]
    retries = [h["stage"] for h in hops if h["type"] == "dev.healer.remediation.retry"]
    assert retries == ["gather", "gather"]
    assert sorted(p.name for p in outbox.iterdir()) == [
        f"healer-acme-widgets-7001-a{n}.yaml" for n in (1, 2, 3)
    ]


def test_an_agent_that_succeeds_ends_in_remediation_succeeded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", FAILURE, "--json", "--agent-outcome", "succeeded"]) == 0
    hops = rows(capsys)
    ends = [h["reply_type"] for h in hops if h["stage"] == "completion-check" and h["reply_type"]]
    assert ends == ["dev.healer.remediation.succeeded"]
    ingest = [h for h in hops if h["stage"] == "ingest" and h["outcome"] == "skipped"]
    assert "not a failure" in str(ingest[0]["reason"])  # CI's success is no new failure


def test_without_an_outcome_replay_stops_at_the_started_remediation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", FAILURE, "--json"]) == 0
    hops = rows(capsys)
    assert hops[-1]["reply_type"] == "dev.healer.remediation.started"
    assert not any(h["type"] == "dev.knative.apiserver.resource.update" for h in hops)


def test_finish_without_a_manifest_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["finish", "healer-nope-a1", "--phase", "Failed", "--outbox", str(tmp_path)])
    assert code == 2 and "no readable CodeRun manifest" in capsys.readouterr().err


def test_finish_posts_to_healer_dev_where_the_task_lives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from healer.services import Services
    from healer.settings import Settings
    from healer.stores.memory import MemoryStateStore
    from healer_dev.broker import dev
    from healer_dev.broker.pipeline import offline_settings

    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    pushes = tmp_path / "pushes"  # both processes' recorded GitHub: .healer/github-pushes
    monkeypatch.setenv("HEALER_GITHUB_PUSHES_DIR", str(pushes))
    settings = replace(
        settings, coderun_outbox=str(tmp_path / "dev-outbox"), github_pushes_dir=str(pushes)
    )
    state = MemoryStateStore()
    server = dev.start(Services(settings, state=state), port=0, root=ROOT, backoff_scale=0.0)
    try:
        url = server.ingress_url + "/cto/healer"
        assert main(["replay", FAILURE, "--broker", url, "--json"]) == 0
        capsys.readouterr()
        name = "healer-acme-widgets-7001-a1"
        finish = ["finish", name, "--outbox", settings.coderun_outbox, "--broker", url]
        assert main([*finish, "--phase", "Succeeded", "--ci", "success", "--json"]) == 0
        hops = rows(capsys)
    finally:
        server.stop()
    assert [h["reply_type"] for h in hops if h["stage"] == "completion-check"][-1] == (
        "dev.healer.remediation.succeeded"
    )
    record = json.loads(state.get("task:acme-widgets-7001") or "")
    assert record["status"] == "succeeded" and state.get("active:count") == "0"
    # what the simulated agent pushed, as completion-check read it from (recorded) GitHub
    (pushed,) = record["attempts"][0]["commits"]
    assert (pushes / "acme" / "widgets.json").is_file() and pushed in (
        pushes / "acme" / "widgets.json"
    ).read_text()


def test_finish_without_a_push_ledger_pushes_nothing_and_the_attempt_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With real GitHub configured the finish tool cannot push; a Succeeded CodeRun whose
    branch gained nothing on GitHub is a failed attempt, however the CodeRun reads."""
    from dataclasses import replace

    from healer.services import Services
    from healer.settings import Settings
    from healer.stores.memory import MemoryStateStore
    from healer_dev.broker import dev
    from healer_dev.broker.pipeline import offline_settings

    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    settings = replace(settings, coderun_outbox=str(tmp_path / "dev-outbox"))
    state = MemoryStateStore()
    server = dev.start(Services(settings, state=state), port=0, root=ROOT, backoff_scale=0.0)
    try:
        url = server.ingress_url + "/cto/healer"
        assert main(["replay", FAILURE, "--broker", url, "--json"]) == 0
        capsys.readouterr()
        from healer_dev.broker.finish import finish_events, read_outbox
        from healer_dev.broker.local import encode

        coderun = read_outbox(settings.coderun_outbox, "healer-acme-widgets-7001-a1")
        import httpx

        for event in finish_events(coderun, "Succeeded", pushes=None):
            headers, body = encode(event)
            assert httpx.post(url, headers=headers, content=body).status_code < 300
    finally:
        server.stop()
    record = json.loads(state.get("task:acme-widgets-7001") or "")
    (attempt, *_) = record["attempts"]
    assert attempt["outcome"] == "failed" and "without pushing a commit" in attempt["error"]


def test_with_a_webhook_secret_the_local_ci_result_is_signed_and_still_counts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """completion-check refuses unsigned CI deliveries once a secret is set; replay signs the
    ones it makes up, so the loop ends as it does without a secret."""
    monkeypatch.setenv("HEALER_WEBHOOK_SECRET", "It's a Secret to Everybody")
    assert main(["replay", FAILURE, "--json", "--agent-outcome", "succeeded"]) == 0
    hops = rows(capsys)
    assert not [h for h in hops if h["status"] == 401]
    ci = [h for h in hops if h["stage"] == "completion-check" and h["type"].endswith("webhook")]
    assert ci and all(h["status"] == 202 for h in ci)
    ends = [h["reply_type"] for h in hops if h["stage"] == "completion-check" and h["reply_type"]]
    assert ends == ["dev.healer.remediation.succeeded"]
