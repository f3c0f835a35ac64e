"""Every CodeRun the demo writes (``healer replay examples/deliveries``, as scripts/demo.sh runs
it, and with the agent failing so retries write more) is one the platform's CRD accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from coderun_schema import SCHEMA
from structural import unknown_fields, validate

from healer.coderun import validate_coderun
from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = ROOT / "examples" / "deliveries"


@pytest.fixture(autouse=True)
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    return tmp_path / "outbox"


def coderuns(outbox: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(outbox.glob("*.yaml"))}


@pytest.mark.parametrize("outcome", [None, "failed"])
def test_every_coderun_the_demo_writes_fits_the_contract_and_the_crd(
    outbox: Path,
    outcome: str | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEALER_BREAKER_THRESHOLD", "0")  # every retry runs: more CodeRuns
    args = ["replay", str(DELIVERIES), "--json"]
    main([*args, "--agent-outcome", outcome] if outcome else args)
    capsys.readouterr()
    written = coderuns(outbox)
    tasks = {name.rsplit("-a", 1)[0] for name in written}
    assert len(tasks) >= 5  # failures on PR, feature and default branches, and alerts
    if outcome == "failed":  # every task retried up to max_attempts (3)
        assert len(written) == 3 * len(tasks)
    for name, obj in written.items():
        assert validate_coderun(obj).manifest() == obj, name
        assert unknown_fields(obj, SCHEMA) == [], name
        assert validate(obj, SCHEMA) == [], name
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == labels["app.kubernetes.io/managed-by"]
        assert labels["app.kubernetes.io/name"] == "healer"
        spec = obj["spec"]
        assert spec["runType"] == "remediate" and "taskId" not in spec
        assert spec["docsRepositoryUrl"] == spec["repositoryUrl"]
        assert spec["contextVersion"] == int(spec["env"]["HEALER_ATTEMPT"])
        assert spec["promptModification"].startswith("You are ")
        annotations = obj["metadata"]["annotations"]
        assert annotations["healer.dev/task-id"] == spec["env"]["HEALER_TASK_ID"]
        assert annotations["healer.dev/target-branch"] == spec["env"]["HEALER_TARGET_BRANCH"]
