"""``envelope_trust``: the setting, and the shape an Argo envelope must have to be trusted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_events import argo_delivery

from healer.errors import InvalidInput
from healer.settings import Settings
from healer.webhooks.argo import form_problem

ROOT = Path(__file__).resolve().parents[2]
SENSOR = yaml.safe_load((ROOT / "knative" / "argo" / "sensor.yaml").read_text())
FILE = json.loads((ROOT / "examples" / "deliveries" / "workflow_run-failure.json").read_text())
SECRET = "s3cret"


def test_the_trust_mode_defaults_to_verify_and_reads_the_environment(tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    assert Settings.load({}, absent).envelope_trust == "verify"
    assert Settings.load({"HEALER_ENVELOPE_TRUST": " Argo "}, absent).envelope_trust == "argo"


@pytest.mark.parametrize("value", ["", "trust", "none", "argo-events"])
def test_an_unknown_trust_mode_is_refused_at_load(value: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"envelope_trust=.*verify, argo.*HEALER_ENVELOPE_TRUST"):
        Settings.load({"HEALER_ENVELOPE_TRUST": value}, tmp_path / "absent.json")


def argo_envelope() -> tuple[dict[str, Any], dict[str, str]]:
    headers, body = argo_delivery(SENSOR, FILE, SECRET)
    attributes = {k.removeprefix("ce-"): v for k, v in headers.items() if k.startswith("ce-")}
    envelope: dict[str, Any] = json.loads(body)
    return envelope, attributes


def test_argos_own_envelope_has_no_problem() -> None:
    envelope, attributes = argo_envelope()
    assert form_problem(envelope, attributes) is None
    # EventSource metadata (omitted when empty) and a SHA-1-only signature are Argo's too.
    envelope["metadata"] = {"team": "ci"}
    del envelope["headers"]["X-Hub-Signature-256"]
    assert form_problem(envelope, attributes) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda e, a: e.update(extra=1), "unexpected envelope members extra"),
        (lambda e, a: e.update(metadata={"n": 1}), "'metadata'"),
        (lambda e, a: e.update(headers={}), "'headers' must be a non-empty object"),
        (lambda e, a: e["headers"].update({"x-github-event": ["x"]}), "canonical"),
        (lambda e, a: e["headers"].update({"Accept": []}), "non-empty array"),
        (lambda e, a: e["headers"].update({"Accept": ["*/*", 1]}), "non-empty array"),
        (lambda e, a: e.update(body=[]), "'body' must be the decoded payload object"),
        (lambda e, a: e["headers"].pop("X-Github-Delivery"), "X-Github-Delivery is missing"),
        (lambda e, a: e["body"].update({"X-GitHub-Event": "push"}), "X-GitHub-Event does not"),
        (lambda e, a: a.update(id="other"), "CloudEvent id"),
        (lambda e, a: a.update(githubevent="push"), "githubevent extension"),
    ],
)
def test_what_argo_would_not_have_sent_is_named(change: Any, problem: str) -> None:
    envelope, attributes = argo_envelope()
    change(envelope, attributes)
    found = form_problem(envelope, attributes)
    assert found is not None and problem in found
