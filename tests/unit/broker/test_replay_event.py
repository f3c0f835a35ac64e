"""Delivery files → the CloudEvent Argo's Sensor sends, signatures included."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from event_data import data_of

from healer.errors import InvalidInput
from healer_dev.broker.replay import (
    canonical,
    delivery_files,
    load_delivery,
    to_cloudevent,
    webhook_delivery,
)

BODY = {"action": "completed", "repository": {"full_name": "acme/widgets"}, "x": "é"}
DELIVERY = {
    "headers": {
        "X-GitHub-Event": "workflow_job",
        "X-GitHub-Delivery": ["d-1"],
        "content-type": "application/json",
    },
    "body": BODY,
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x-github-delivery", "X-Github-Delivery"),
        ("X-GitHub-Event", "X-Github-Event"),
        ("content-type", "Content-Type"),
        ("X-HUB-SIGNATURE-256", "X-Hub-Signature-256"),
    ],
)
def test_go_canonical_header_names(name: str, expected: str) -> None:
    assert canonical(name) == expected


def test_event_attributes_and_argo_envelope() -> None:
    event = to_cloudevent(DELIVERY)
    assert event["type"] == "dev.healer.github.webhook"
    assert event["id"] == "d-1"
    assert event["source"] == "https://github.com/acme/widgets"
    assert event["githubevent"] == "workflow_job"  # what the Sensor's Ce-Githubevent carries
    data = data_of(event)
    assert data["body"] == BODY and data["metadata"] == {}
    assert data["headers"] == {
        "X-Github-Event": ["workflow_job"],
        "X-Github-Delivery": ["d-1"],
        "Content-Type": ["application/json"],
    }


def test_source_without_repository_is_github() -> None:
    event = to_cloudevent({"headers": {"X-GitHub-Delivery": "d"}, "body": {"zen": "hi"}})
    assert event["source"] == "https://github.com"


def test_signature_covers_the_compact_body_when_a_secret_is_set() -> None:
    event = to_cloudevent(DELIVERY, secret="It's a Secret to Everybody")
    compact = json.dumps(BODY, separators=(",", ":")).encode()
    expected = hmac.new(b"It's a Secret to Everybody", compact, hashlib.sha256).hexdigest()
    assert data_of(event)["headers"]["X-Hub-Signature-256"] == [f"sha256={expected}"]


def test_signature_covers_a_raw_string_body_as_is() -> None:
    raw = '{"zen": "Keep it logically awesome."}'
    event = to_cloudevent({"headers": {"X-GitHub-Delivery": "d"}, "body": raw}, secret="s")
    expected = hmac.new(b"s", raw.encode(), hashlib.sha256).hexdigest()
    assert data_of(event)["headers"]["X-Hub-Signature-256"] == [f"sha256={expected}"]


def test_missing_delivery_id_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="X-GitHub-Delivery"):
        to_cloudevent({"headers": {"X-GitHub-Event": "ping"}, "body": {}})


def test_webhook_body_stays_raw_when_reserialising_would_change_it() -> None:
    pretty = b'{\n  "zen": "hi"\n}'
    assert webhook_delivery({"x-github-delivery": "d"}, pretty)["body"] == pretty.decode()
    compact = b'{"zen":"hi"}'
    assert webhook_delivery({"x-github-delivery": "d"}, compact)["body"] == {"zen": "hi"}


def test_delivery_files_recurse_and_sort(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.json", "a.json", "b/a.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert delivery_files([tmp_path]) == [
        tmp_path / "a.json",
        tmp_path / "b/a.json",
        tmp_path / "b/z.json",
    ]
    with pytest.raises(InvalidInput):
        delivery_files([tmp_path / "missing"])


def test_load_delivery_validates_shape(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(DELIVERY))
    assert load_delivery(good)["body"] == BODY
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"body": {}}))
    with pytest.raises(InvalidInput, match="headers"):
        load_delivery(bad)
