"""``healer dev`` over real HTTP on free localhost ports: post deliveries, see the hops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from healer.services import Services
from healer.settings import Settings
from healer.stores.memory import MemoryStateStore
from healer_dev.broker import dev
from healer_dev.broker.local import encode
from healer_dev.broker.pipeline import offline_settings
from healer_dev.broker.replay import load_delivery, to_cloudevent
from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = ROOT / "examples" / "deliveries"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dev.DevServer]:
    settings = offline_settings(Settings(), ROOT, str(tmp_path_factory.mktemp("blobs")))
    settings = replace(settings, coderun_outbox=str(tmp_path_factory.mktemp("outbox")))
    started = dev.start(
        Services(settings, state=MemoryStateStore()), port=0, root=ROOT, backoff_scale=0.0
    )
    yield started
    started.stop()


def test_every_stage_has_its_own_port(server: dev.DevServer) -> None:
    assert {"ingest", "classify", "gather", "spawn", "status"} <= set(server.stage_urls)
    assert len(set(server.stage_urls.values())) == len(server.stage_urls)
    health = httpx.get(server.stage_urls["ingest"] + "/health/readiness")
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    info = httpx.get(server.ingress_url + "/").json()
    assert info["broker"] == "/cto/healer" and info["services"] == server.stage_urls


def watching_ci(hop: dict[str, Any]) -> bool:
    """completion-check hears every webhook too, and skips what is not a CI result."""
    if hop["stage"] != "completion-check" or hop["type"] != "dev.healer.github.webhook":
        return False
    assert hop["outcome"] == "skipped"
    return True


def test_cloudevent_posted_to_the_ingress_runs_the_pipeline(server: dev.DevServer) -> None:
    headers, body = encode(to_cloudevent(load_delivery(DELIVERIES / "workflow_job-failure.json")))
    response = httpx.post(
        server.ingress_url + "/cto/healer", headers=headers, content=body, timeout=60
    )
    assert response.status_code == 202
    hops = [h for h in response.json()["hops"] if not watching_ci(h)]
    assert hops[0]["stage"] == "ingest" and hops[0]["status"] == 200
    assert hops[0]["reply_type"] == "dev.healer.failure.detected"
    assert hops[0]["id"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert [h["stage"] for h in hops] == ["ingest", "classify", "gather", "spawn"]
    assert hops[-1]["reply_type"] == "dev.healer.remediation.started"
    assert hops[-1]["remediation"]["coderun_name"] == "healer-acme-widgets-7001-a1"
    recent = httpx.get(server.ingress_url + "/hops").json()["hops"]
    assert hops[0] in recent


def test_plain_webhook_is_wrapped_like_the_argo_sensor(server: dev.DevServer) -> None:
    delivery = load_delivery(DELIVERIES / "workflow_job-bot.json")
    headers = {k: v if isinstance(v, str) else v[0] for k, v in delivery["headers"].items()}
    raw = json.dumps(delivery["body"], indent=2).encode()
    response = httpx.post(server.ingress_url + "/", headers=headers, content=raw, timeout=60)
    assert response.status_code == 202
    (hop,) = [h for h in response.json()["hops"] if not watching_ci(h)]
    assert (hop["stage"], hop["status"], hop["outcome"]) == ("ingest", 202, "skipped")
    assert "dependabot[bot]" in hop["reason"]


def test_ingress_rejects_what_is_not_an_event(server: dev.DevServer) -> None:
    bad = httpx.post(server.ingress_url + "/cto/healer", json={"hello": "world"})
    assert bad.status_code == 400 and "CloudEvent" in bad.json()["detail"]
    assert httpx.get(server.ingress_url + "/cto/healer").status_code == 405


def test_replay_with_broker_url_posts_to_the_dev_ingress(
    server: dev.DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.ingress_url + "/cto/healer"
    assert (
        main(["replay", str(DELIVERIES / "workflow_job-success.json"), "--broker", url, "--json"])
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = [r for r in rows if not watching_ci(r)]
    assert [(r["stage"], r["status"]) for r in rows] == [("broker", 202), ("ingest", 202)]
    assert rows[1]["outcome"] == "skipped" and "success" in rows[1]["reason"]


def test_replay_to_an_unreachable_broker_fails(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9/cto/healer"
    assert (
        main(
            [
                "replay",
                str(DELIVERIES / "workflow_job-success.json"),
                "--broker",
                url,
                "--timeout",
                "2",
            ]
        )
        == 1
    )
    assert "[broker] dev.healer.github.webhook" in capsys.readouterr().out
