"""The example deliveries through every stage in-process, as ``healer replay`` runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from cloudevents.http import CloudEvent
from event_data import data_of

from healer.services import Services
from healer.settings import Settings
from healer.stores.memory import MemoryStateStore
from healer_dev.broker.hops import Hop, Outcome
from healer_dev.broker.pipeline import Pipeline, in_process, offline_settings
from healer_dev.broker.replay import load_delivery, to_cloudevent
from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = ROOT / "examples" / "deliveries"


@pytest.fixture(autouse=True)
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CodeRun manifests (also those of ``healer replay`` runs) go to a temporary outbox."""
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    return tmp_path / "outbox"


@pytest.fixture
def services(tmp_path: Path, outbox: Path) -> Services:
    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    return Services(replace(settings, coderun_outbox=str(outbox)), state=MemoryStateStore())


@pytest.fixture
def pipeline(services: Services) -> Iterator[Pipeline]:
    built = in_process(services, root=ROOT)
    yield built
    built.close()


def watching_ci(hop: Hop | dict[str, object]) -> bool:
    """completion-check hears every webhook too, and skips what is not a CI result."""
    stage = hop["stage"] if isinstance(hop, dict) else hop.stage
    kind = hop["type"] if isinstance(hop, dict) else hop.type
    return stage == "completion-check" and kind == "dev.healer.github.webhook"


def replay(pipeline: Pipeline, name: str) -> list[Hop]:
    hops = pipeline.broker.publish(to_cloudevent(load_delivery(DELIVERIES / name)))
    assert all(h.outcome == Outcome.SKIPPED for h in hops if watching_ci(h))
    return [h for h in hops if not watching_ci(h)]


def test_offline_settings_use_recorded_github_and_a_scratch_blob_dir(tmp_path: Path) -> None:
    settings = offline_settings(Settings(), ROOT, str(tmp_path))
    assert settings.github_recorded_dir == str(ROOT / "examples" / "github")
    assert settings.blob_dir == str(tmp_path)
    configured = offline_settings(Settings(github_token="t", blob_dir="/data"), ROOT, str(tmp_path))
    assert (configured.github_recorded_dir, configured.blob_dir) == ("", "/data")


def test_failed_job_is_detected_by_ingest(pipeline: Pipeline) -> None:
    hops = replay(pipeline, "workflow_job-failure.json")
    first = hops[0]
    assert (first.stage, first.type, first.id) == (
        "ingest",
        "dev.healer.github.webhook",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    )
    assert (first.status, first.outcome, first.reply_type) == (
        200,
        Outcome.REPLY,
        "dev.healer.failure.detected",
    )
    classify = next(h for h in hops if h.type == "dev.healer.failure.detected")
    assert classify.stage == "classify" and classify.id == first.reply_id


@pytest.mark.parametrize(
    ("name", "agent", "coderun", "branch"),
    [
        ("workflow_job-failure.json", "rex", "healer-acme-widgets-7001-a1", "feature/parser"),
        ("workflow_run-failure.json", "blaze", "healer-acme-webapp-7002-a1", "fix/login-form"),
        (
            "workflow_job-python-failure.json",
            "viper",
            "healer-acme-api-7003-a1",
            "healer/acme-api-7003",
        ),
        (
            "dependabot_alert.json",
            "cipher",
            "healer-acme-widgets-dependabot-3-a1",
            "healer/acme-widgets-dependabot-3",
        ),
        (
            "code_scanning_alert.json",
            "cipher",
            "healer-acme-widgets-code-scanning-8-a1",
            "healer/acme-widgets-code-scanning-8",
        ),
        (
            "secret_scanning_alert.json",
            "cipher",
            "healer-acme-widgets-secret-scanning-2-a1",
            "healer/acme-widgets-secret-scanning-2",
        ),
    ],
)
def test_failures_and_alerts_end_in_a_started_remediation_with_a_coderun(
    pipeline: Pipeline,
    services: Services,
    outbox: Path,
    name: str,
    agent: str,
    coderun: str,
    branch: str,
) -> None:
    hops = replay(pipeline, name)
    assert [h.stage for h in hops] == ["ingest", "classify", "gather", "spawn"]
    last = hops[-1]
    assert (last.type, last.status, last.reply_type) == (
        "dev.healer.context.gathered",
        200,
        "dev.healer.remediation.started",
    )
    assert last.reply is not None
    data = data_of(last.reply)
    assert (data["agent"], data["coderun_name"], data["branch"]) == (agent, coderun, branch)
    manifest = yaml.safe_load((outbox / f"{coderun}.yaml").read_text())
    env = manifest["spec"]["env"]
    assert (env["HEALER_AGENT"], env["HEALER_TARGET_BRANCH"]) == (agent, branch)
    assert manifest["metadata"]["labels"]["healer.dev/agent"] == agent
    prompt = services.blobs.get(data["prompt_key"]).decode()
    assert prompt.startswith(f"You are {agent.capitalize()}")
    assert manifest["spec"]["promptModification"] == prompt


def test_a_check_suite_and_its_run_share_one_remediation(pipeline: Pipeline, outbox: Path) -> None:
    suite = replay(pipeline, "check_suite-failure.json")[-1]
    run = replay(pipeline, "workflow_run-failure.json")[-1]
    assert suite.reply_type == run.reply_type == "dev.healer.remediation.started"
    assert suite.reply_id == run.reply_id
    assert [p.name for p in outbox.iterdir()] == ["healer-acme-webapp-7002-a1.yaml"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("workflow_job-success.json", "success"),
        ("workflow_job-bot.json", "dependabot[bot]"),
        ("workflow_run-fork.json", "fork"),
    ],
)
def test_non_failures_are_skipped_with_a_reason(pipeline: Pipeline, name: str, reason: str) -> None:
    (hop,) = replay(pipeline, name)
    assert (hop.stage, hop.status, hop.outcome) == ("ingest", 202, Outcome.SKIPPED)
    assert reason in hop.reason


def test_a_redelivery_emits_the_same_event_id(pipeline: Pipeline) -> None:
    first = replay(pipeline, "workflow_job-failure.json")
    again = replay(pipeline, "workflow_job-failure.json")
    assert again[0].outcome == Outcome.REPLY
    assert again[0].reply_id == first[0].reply_id  # consumers dedupe on (source, id)


def test_rejected_input_is_dead_lettered_into_the_status_function(
    pipeline: Pipeline, services: Services
) -> None:
    garbage = CloudEvent(
        {"type": "dev.healer.github.webhook", "source": "https://github.com", "id": "bad-1"},
        {"headers": {"X-Github-Event": ["workflow_job"]}, "body": "not json at all"},
    )
    failed, letter = [h for h in pipeline.broker.publish(garbage) if not watching_ci(h)]
    assert (
        failed.stage == "ingest"
        and failed.outcome == Outcome.REJECTED
        and 400 <= (failed.status or 0) < 500
    )
    assert failed.dead_lettered and failed.reason
    assert (letter.stage, letter.outcome, letter.status) == ("status", Outcome.DEAD_LETTER, 202)
    (key,) = services.blobs.list("dead-letters/bad-1--")
    stored = json.loads(services.blobs.get(key))
    assert stored["error"]["code"] == failed.status
    assert stored["error"]["destination"] == "http://ingest.cto.svc.cluster.local/"


def test_cli_replay_json_prints_one_object_per_hop(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [
        str(DELIVERIES / "workflow_job-failure.json"),
        str(DELIVERIES / "workflow_job-bot.json"),
    ]
    assert main(["replay", *paths, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = [r for r in rows if not watching_ci(r)]
    assert all(
        {"stage", "type", "id", "status", "reason", "reply_type", "reply_id", "delivery"} <= set(r)
        for r in rows
    )
    assert rows[0]["stage"] == "ingest" and rows[0]["reply_type"] == "dev.healer.failure.detected"
    assert rows[0]["delivery"].endswith("workflow_job-failure.json")
    bot = [r for r in rows if r["delivery"].endswith("workflow_job-bot.json")]
    assert [(r["stage"], r["status"], r["outcome"]) for r in bot] == [("ingest", 202, "skipped")]


def test_cli_replay_readable_output_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "replay",
                str(DELIVERIES / "workflow_job-failure.json"),
                str(DELIVERIES / "workflow_job-success.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "[ingest] dev.healer.github.webhook 72d3162e… → 200 dev.healer.failure.detected " in out
    assert "[spawn] dev.healer.context.gathered " in out and "remediation.started" in out
    assert "    agent: rex on branch feature/parser, CodeRun healer-acme-widgets-7001-a1 → " in out
    prompt = _quoted_block(out, "    prompt (")
    assert prompt[0].startswith("    │ You are Rex, Healer's specialist for Rust")
    assert len(prompt) == 26 and prompt[-1].startswith("    │ … ")  # 25 lines and a note
    assert "[ingest] dev.healer.github.webhook " in out and "→ 202 skipped: " in out
    assert out.rstrip().splitlines()[-1].startswith("2 deliveries, ")
    # Neither delivery is a CI result, so completion-check is not even asked.
    assert "[completion-check]" not in out
    assert out.rstrip().endswith("1 skipped, 0 failed")


def test_cli_replay_show_prompt_prints_it_whole(
    outbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(DELIVERIES / "workflow_job-failure.json"), "--show-prompt"]) == 0
    out = capsys.readouterr().out
    prompt = [line[6:] for line in _quoted_block(out, "    prompt (")]
    manifest = yaml.safe_load((outbox / "healer-acme-widgets-7001-a1.yaml").read_text())
    assert [p.rstrip() for p in prompt] == [
        p.rstrip() for p in manifest["spec"]["promptModification"].rstrip("\n").splitlines()
    ]


def _quoted_block(out: str, header: str) -> list[str]:
    """The ``    │`` lines under the first line starting with ``header``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("    │"):
            break
        block.append(line)
    return block


def test_cli_replay_shows_the_coderun_as_written(
    outbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CodeRun the platform receives, its prompt shown above it as a size."""
    assert main(["replay", str(DELIVERIES / "workflow_job-failure.json")]) == 0
    out = capsys.readouterr().out
    assert "    CodeRun (agents.platform/v1 CodeRun):" in out
    shown = yaml.safe_load("\n".join(line[6:] for line in _quoted_block(out, "    CodeRun (")))
    manifest = yaml.safe_load((outbox / "healer-acme-widgets-7001-a1.yaml").read_text())
    size = len(manifest["spec"].pop("promptModification").encode())
    assert shown["spec"].pop("promptModification") == f"<the prompt above, {size} bytes>"
    assert shown["metadata"] == manifest["metadata"] and shown["spec"] == manifest["spec"]
    assert shown["spec"]["runType"] == "remediate"


def test_cli_replay_exits_non_zero_when_a_delivery_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {"headers": {"X-GitHub-Event": "workflow_job", "X-GitHub-Delivery": "d-9"}, "body": []}
        )
    )
    assert main(["replay", str(broken)]) == 1
    assert "error:" in capsys.readouterr().out
