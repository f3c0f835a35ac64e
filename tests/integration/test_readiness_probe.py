"""/health/readiness of a stage served by functions-framework, against real state stores."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from k8s_api import KubeApi

if TYPE_CHECKING:
    from tests.integration.conftest import DisposableRedis

from healer.readiness import PROBE_TTL

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
Client = Callable[..., FlaskClient]


@pytest.fixture
def stage_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Client:
    """A stage as deployed: functions-framework over its main.py, configured by HEALER_*."""

    def build(stage: str = "classify", **env: str) -> FlaskClient:
        monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent-config.json"))
        monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
        for name, value in env.items():
            monkeypatch.setenv(f"HEALER_{name.upper()}", value)
        source = ROOT / "functions" / stage / "main.py"
        client: FlaskClient = create_app(
            target=stage, source=str(source), signature_type="http"
        ).test_client()
        return client

    return build


def test_not_ready_while_redis_cannot_be_reached(stage_client: Client, closed_port: int) -> None:
    client = stage_client(state_backend="redis", redis_url=f"redis://127.0.0.1:{closed_port}/0")
    started = time.monotonic()
    response = client.get("/health/readiness")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    problem = response.get_json()
    assert problem["title"] == "not ready"
    assert problem["detail"].startswith("state store (redis): redis is unreachable")
    liveness = client.get("/health/liveness")
    assert liveness.status_code == 200
    assert liveness.get_json()["status"] == "healthy"


def test_ready_against_a_real_redis(stage_client: Client, redis_url: str) -> None:
    client = stage_client("ingest", state_backend="redis", redis_url=redis_url)
    response = client.get("/health/readiness")
    assert response.status_code == 200
    assert response.get_json() == {"status": "healthy", "version": "0.1.0", "function": "ingest"}


def test_readiness_follows_a_redis_outage_and_recovery(
    stage_client: Client, disposable_redis: DisposableRedis
) -> None:
    client = stage_client("status", state_backend="redis", redis_url=disposable_redis.url)
    assert client.get("/health/readiness").status_code == 200
    disposable_redis.stop()
    assert client.get("/health/readiness").status_code == 200  # the answer is reused briefly
    time.sleep(PROBE_TTL + 0.1)
    assert client.get("/health/readiness").status_code == 503
    assert client.get("/health/liveness").status_code == 200


def test_ready_against_the_kubernetes_api_for_the_configmap_store(stage_client: Client) -> None:
    with KubeApi() as api:
        client = stage_client("spawn", state_backend="configmap", kube_api_url=api.url)
        assert client.get("/health/readiness").status_code == 200
        assert api.requests["get"] >= 1
        api.outage = "unavailable"
        time.sleep(PROBE_TTL + 0.1)
        response = client.get("/health/readiness")
    assert response.status_code == 503
    assert response.get_json()["detail"].startswith("state store (configmap):")


def test_not_ready_when_the_settings_cannot_be_loaded(
    stage_client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = stage_client("gather", max_attempts="many")
    response = client.get("/health/readiness")
    assert response.status_code == 503
    assert response.get_json()["detail"].startswith("settings cannot be loaded:")
    assert any("settings cannot be loaded" in r.getMessage() for r in caplog.records)
