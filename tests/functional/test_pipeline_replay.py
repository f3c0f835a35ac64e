"""The example deliveries through every stage in-process, as ``healer replay`` runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from healer.broker.hops import Hop, Outcome
from healer.broker.pipeline import Pipeline, in_process, offline_settings
from healer.broker.replay import load_delivery, to_cloudevent
from healer.cli import main
from healer.services import Services
from healer.settings import Settings
from healer.stores.memory import MemoryStateStore

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = ROOT / "examples" / "deliveries"


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    return Services(settings, state=MemoryStateStore())


@pytest.fixture
def pipeline(services: Services) -> Iterator[Pipeline]:
    built = in_process(services, root=ROOT)
    yield built
    built.close()


def replay(pipeline: Pipeline, name: str) -> list[Hop]:
    return pipeline.broker.publish(to_cloudevent(load_delivery(DELIVERIES / name)))


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
    failed, letter = pipeline.broker.publish(garbage)
    assert (
        failed.stage == "ingest"
        and failed.outcome == Outcome.REJECTED
        and 400 <= (failed.status or 0) < 500
    )
    assert failed.dead_lettered and failed.reason
    assert (letter.stage, letter.outcome, letter.status) == ("status", Outcome.DEAD_LETTER, 202)
    stored = json.loads(services.blobs.get("dead-letters/bad-1.json"))
    assert stored["error"]["code"] == failed.status
    assert stored["error"]["destination"] == "http://ingest.cto.svc.cluster.local/"


def test_cli_replay_json_prints_one_object_per_hop(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [
        str(DELIVERIES / "workflow_job-failure.json"),
        str(DELIVERIES / "workflow_job-bot.json"),
    ]
    assert main(["replay", *paths, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
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
    assert "[ingest] dev.healer.github.webhook " in out and "→ 202 skipped: " in out
    assert out.rstrip().splitlines()[-1].startswith("2 deliveries, ")
    assert out.rstrip().endswith("1 skipped, 0 failed")


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
