"""``healer status`` and ``healer finish`` reach the running ``healer dev`` (through
``.healer/dev.json``) instead of reading their own empty, process-local store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from healer.services import Services
from healer.settings import Settings
from healer.stores.memory import MemoryStateStore
from healer_dev.broker import dev, running
from healer_dev.broker.pipeline import offline_settings
from healer_dev.broker.replay import load_delivery
from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    return tmp_path


@pytest.fixture
def server(here: Path) -> Iterator[dev.DevServer]:
    settings = offline_settings(Settings.load(), ROOT)
    started = dev.start(
        Services(settings, state=MemoryStateStore()), port=0, root=ROOT, backoff_scale=0.0
    )
    yield started
    started.stop()


def post_failure(server: dev.DevServer) -> None:
    delivery = load_delivery(DELIVERY)
    headers = {k: v if isinstance(v, str) else v[0] for k, v in delivery["headers"].items()}
    raw = json.dumps(delivery["body"]).encode()
    response = httpx.post(server.ingress_url + "/", headers=headers, content=raw, timeout=60)
    assert response.status_code == 202


def test_status_without_a_running_instance_says_its_store_is_process_local(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    captured = capsys.readouterr()
    assert "0 tasks" in captured.out
    assert "memory state store, which is empty" in captured.err
    assert "healer dev" in captured.err and "--url" in captured.err


def test_status_and_finish_reach_the_running_dev(
    server: dev.DevServer, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running.write(running.RunningDev(server.ingress_url, server.stage_urls, os.getpid()))
    post_failure(server)

    assert main(["status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["from"] == server.stage_urls["status"]
    (task,) = shown["tasks"]
    assert task["status"] == "running"
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"from {server.stage_urls['status']}") and "1 tasks" in out

    (coderun,) = [p.stem for p in (here / "outbox").iterdir()]
    assert main(["finish", coderun, "--phase", "Succeeded", "--ci", "success", "--json"]) == 0
    captured = capsys.readouterr()
    assert f"posting to the running healer dev at {server.ingress_url}" in captured.out
    assert "memory state store" not in captured.err
    assert main(["status", "--json"]) == 0
    (task,) = json.loads(capsys.readouterr().out)["tasks"]
    assert task["status"] == "succeeded"


def test_status_url_that_does_not_answer_is_a_clear_error(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--url", "http://127.0.0.1:9", "--timeout", "2"]) == 2
    assert "the status function at http://127.0.0.1:9 did not answer" in capsys.readouterr().err


def test_a_stale_dev_file_is_ignored(here: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    running.write(running.RunningDev("http://127.0.0.1:1", {}, gone.pid))
    assert running.read() is None
    running.write(running.RunningDev("http://127.0.0.1:1", {"status": "x"}, os.getpid()))
    assert running.read() == running.RunningDev("http://127.0.0.1:1", {"status": "x"}, os.getpid())
    running.remove()
    assert not running.DEV_FILE.exists()


def test_bad_settings_stop_a_command_at_start(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEALER_STATE_BACKEND", "postgres")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "healer status: invalid settings: state_backend='postgres'" in err
    monkeypatch.setenv("HEALER_STATE_BACKEND", "memory")
    monkeypatch.setenv("HEALER_MAX_ATTEMPTS", "0")
    assert main(["deadletters", "list"]) == 2
    assert "max_attempts=0 must be at least 1" in capsys.readouterr().err
