"""The one image, built and run: stages chosen by HEALER_FUNCTION answer as they do in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from functions_framework import create_app
from image_support import Container, Podman, free_port

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"
Start = Callable[..., Container]


def delivery_cloudevent() -> tuple[dict[str, str], bytes]:
    """The recorded failed job as the Argo sensor posts it: a binary-mode CloudEvent."""
    delivery = json.loads(DELIVERY.read_text(encoding="utf-8"))
    headers = {name: [value] for name, value in delivery["headers"].items()}
    body = json.dumps({"headers": headers, "body": delivery["body"], "metadata": {}}).encode()
    return {
        "ce-specversion": "1.0",
        "ce-id": delivery["headers"]["X-GitHub-Delivery"],
        "ce-source": "https://github.com/acme/widgets",
        "ce-type": "dev.healer.github.webhook",
        "content-type": "application/json",
    }, body


def comparable(status: int, headers: dict[str, str], body: bytes) -> dict[str, object]:
    """Everything of a reply that must match, i.e. all but the event's time."""
    ce = {k.lower(): v for k, v in headers.items() if k.lower().startswith("ce-")}
    ce.pop("ce-time", None)
    return {"status": status, "ce": ce, "data": json.loads(body) if body else None}


def test_ingest_answers_a_cloudevent_as_the_in_process_stage_does(
    start: Start, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    container = start("ingest")
    ready = container.wait_ready()
    assert ready.json() == {"status": "healthy", "version": "0.1.0", "function": "ingest"}
    assert httpx.get(container.url + "/health/liveness").status_code == 200

    headers, body = delivery_cloudevent()
    answer = httpx.post(container.url + "/", headers=headers, content=body, timeout=30)

    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    source = ROOT / "functions" / "ingest" / "main.py"
    app = create_app(target="ingest", source=str(source), signature_type="http")
    expected = app.test_client().post("/", headers=headers, data=body)

    got = comparable(answer.status_code, dict(answer.headers), answer.content)
    want = comparable(expected.status_code, dict(expected.headers), expected.get_data())
    assert want["status"] == 200
    assert want["ce"]["ce-type"] == "dev.healer.failure.detected"  # type: ignore[index]
    assert got == want


def test_another_stage_from_the_same_image_answers(start: Start) -> None:
    container = start("status", THREADS="2")
    assert container.wait_ready().json()["function"] == "status"
    listing = httpx.get(container.url + "/api/status", timeout=10)
    assert listing.status_code == 200
    assert listing.json()["total"] == 0


def test_not_ready_while_the_state_store_is_unreachable(start: Start) -> None:
    container = start(
        "classify",
        HEALER_STATE_BACKEND="redis",
        HEALER_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.get(container.url + "/health/readiness", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.1)
    assert response.status_code == 503
    assert "state store (redis)" in response.json()["detail"]
    assert httpx.get(container.url + "/health/liveness").status_code == 200


def test_runs_as_a_non_root_user_and_stops_cleanly_on_sigterm(start: Start, podman: Podman) -> None:
    container = start("gather")
    container.wait_ready()
    configured = podman.run("inspect", "--format", "{{.Config.User}}", container.name)
    assert configured.stdout.strip() == "10001:10001"
    uid = podman.run("exec", container.name, "id", "-u").stdout.strip()
    assert uid == "10001"
    started = time.monotonic()
    podman.run("stop", "--time", "20", container.name)
    assert time.monotonic() - started < 10  # gunicorn finished on SIGTERM, not SIGKILL
    code = podman.run("inspect", "--format", "{{.State.ExitCode}}", container.name)
    assert code.stdout.strip() == "0"


@pytest.mark.parametrize("stage", ["no-such-stage", ""])
def test_an_unknown_or_missing_stage_exits_non_zero_with_a_message(
    podman: Podman, image: str, stage: str
) -> None:
    run = podman.run("run", "--rm", "-e", f"HEALER_FUNCTION={stage}", image, check=False)
    assert run.returncode == 64
    expected = f"unknown HEALER_FUNCTION '{stage}'" if stage else "HEALER_FUNCTION is not set"
    assert expected in run.stderr
    assert "ingest classify gather spawn completion-check escalate status" in run.stderr


def test_the_image_holds_the_runtime_only_with_its_extras_and_compiled_bytecode(
    podman: Podman, image: str
) -> None:
    listing = podman.run("run", "--rm", "--entrypoint", "ls", image, "-A", "/app")
    assert sorted(listing.stdout.split()) == [
        "functions",
        "prompts",
        "scripts",
        "shared",
    ]
    probe = (
        "import importlib.util, sys\n"
        "import hiredis, obstore, kubernetes\n"
        "import functions.completion_check.main\n"
        "cached = importlib.util.cache_from_source(functions.completion_check.main.__file__)\n"
        "print(sys.version_info >= (3, 11), open(cached, 'rb').read(8)[4:8] == bytes([1, 0, 0, 0]))"
        "\nimport healer\n"
        "print(*(importlib.util.find_spec(m) is None for m in ('healer_dev', 'healer.cli')))\n"
        "print(importlib.util.find_spec('healer.broker') is None)\n"
        "print(importlib.util.find_spec('redis') is None)"  # the store speaks RESP via hiredis
    )
    run = podman.run("run", "--rm", "--entrypoint", "python", image, "-c", probe)
    # The runtime and the stages only: the CLI and the local broker (healer_dev) stay out.
    assert run.stdout.split() == ["True", "True", "True", "True", "True", "True"]
