"""Every form a delivery arrives in decodes to the same headers, payload and signed bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from healer.errors import InvalidInput
from healer.runtime import Inbound, is_cloudevent, parse_cloudevent
from healer.webhooks.envelope import compact_candidates, decode, flatten_headers

Load = Callable[[str], dict[str, Any]]
DELIVERY_ID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def inbound(headers: dict[str, str], body: bytes) -> Inbound:
    lower = {k.lower(): v for k, v in headers.items()}
    event = parse_cloudevent(lower, body) if is_cloudevent(lower) else None
    return Inbound("POST", "/", lower, body, event)


def argo_envelope(file: dict[str, Any], *, raw_body: bool = False) -> dict[str, Any]:
    headers = {name.replace("GitHub", "Github"): [value] for name, value in file["headers"].items()}
    body: Any = json.dumps(file["body"]) if raw_body else file["body"]
    return {"headers": headers, "body": body, "metadata": {}}


def webhook_event(attributes: dict[str, Any], data: Any) -> CloudEvent:
    base = {"type": "dev.healer.github.webhook", "source": "https://github.com/acme/widgets"}
    return CloudEvent({**base, "id": DELIVERY_ID, **attributes}, data)


def test_plain_json_webhook_keeps_the_raw_bytes(delivery: Load) -> None:
    file = delivery("workflow_job-failure")
    body = json.dumps(file["body"], indent=2).encode()
    decoded = decode(inbound(file["headers"], body))
    assert decoded.form == "webhook"
    assert decoded.event_name == "workflow_job"
    assert decoded.delivery_id == DELIVERY_ID
    assert decoded.payload == file["body"]
    assert decoded.signed == (body,)


def test_form_encoded_webhook_reads_the_payload_field(delivery: Load) -> None:
    file = delivery("workflow_job-failure")
    body = urlencode({"payload": json.dumps(file["body"])}).encode()
    headers = {**file["headers"], "Content-Type": "application/x-www-form-urlencoded"}
    decoded = decode(inbound(headers, body))
    assert decoded.payload == file["body"]
    assert decoded.signed == (body,)  # GitHub signs the form body as sent


def test_form_without_payload_field_is_invalid() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "ping"}
    with pytest.raises(InvalidInput, match="'payload' field"):
        decode(inbound(headers, b"other=1"))


@pytest.mark.parametrize("raw_body", [False, True])
def test_argo_envelope_posted_plainly(delivery: Load, raw_body: bool) -> None:
    file = delivery("workflow_job-failure")
    envelope = argo_envelope(file, raw_body=raw_body)
    decoded = decode(inbound({"Content-Type": "application/json"}, json.dumps(envelope).encode()))
    assert decoded.event_name == "workflow_job"
    assert decoded.delivery_id == DELIVERY_ID
    assert decoded.payload == file["body"]
    if raw_body:
        assert decoded.signed == (envelope["body"].encode(),)
    else:
        assert json.dumps(file["body"], separators=(",", ":")).encode() in decoded.signed


def test_argo_whole_event_with_base64_data(delivery: Load) -> None:
    file = delivery("workflow_run-failure")
    data = base64.b64encode(json.dumps(argo_envelope(file)).encode()).decode()
    whole = {"context": {"id": "argo-1", "type": "webhook", "source": "github"}, "data": data}
    decoded = decode(inbound({"Content-Type": "application/json"}, json.dumps(whole).encode()))
    assert decoded.form == "argo-event"
    assert decoded.event_name == "workflow_run"
    assert decoded.payload == file["body"]


def test_argo_whole_event_with_bad_base64_is_invalid() -> None:
    whole = {"context": {"id": "argo-1"}, "data": "not base64!!"}
    with pytest.raises(InvalidInput, match="base64"):
        decode(inbound({}, json.dumps(whole).encode()))


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_cloudevent_carrying_the_envelope(delivery: Load, mode: str) -> None:
    file = delivery("workflow_job-failure")
    event = webhook_event({}, argo_envelope(file))
    headers, body = (to_binary if mode == "binary" else to_structured)(event)
    decoded = decode(inbound(dict(headers), body))
    assert decoded.form == "cloudevent-envelope"
    assert decoded.delivery_id == DELIVERY_ID
    assert decoded.payload == file["body"]


def test_cloudevent_with_bare_payload_reads_extensions(delivery: Load) -> None:
    file = delivery("dependabot_alert")
    attributes = {
        "githubevent": "dependabot_alert",
        "githubdelivery": "d-1",
        "githubsignature": "s",
    }
    headers, body = to_binary(webhook_event(attributes, file["body"]))
    decoded = decode(inbound(dict(headers), body))
    assert decoded.form == "cloudevent"
    assert (decoded.event_name, decoded.delivery_id, decoded.signature) == (
        "dependabot_alert",
        "d-1",
        "s",
    )
    assert decoded.signed[0] == body  # binary mode: the HTTP body is the data as sent


def test_body_keys_injected_by_argo_supply_missing_headers(delivery: Load) -> None:
    file = delivery("workflow_job-failure")
    body = {**file["body"], "X-GitHub-Event": "workflow_job", "X-GitHub-Delivery": "inj-1"}
    envelope = {"headers": {"Content-Type": ["application/json"]}, "body": body}
    decoded = decode(inbound({}, json.dumps(envelope).encode()))
    assert (decoded.event_name, decoded.delivery_id) == ("workflow_job", "inj-1")
    # the signature was made before the keys were injected
    assert json.dumps(file["body"], separators=(",", ":")).encode() in decoded.signed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "webhook payload must be a JSON object, got list"),
        (b"", "request body is not valid JSON"),
        (b"\xff\xfe", "request body is not valid JSON"),
    ],
)
def test_bad_bodies_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode(inbound({"Content-Type": "application/json"}, body))


def test_envelope_with_non_object_body_is_invalid() -> None:
    envelope = {"headers": {}, "body": [1]}
    with pytest.raises(InvalidInput, match="envelope 'body' must be a JSON object"):
        decode(inbound({}, json.dumps(envelope).encode()))


def test_flatten_headers_takes_first_string_value_and_lowercases() -> None:
    raw = {"X-Github-Event": ["workflow_job", "x"], "Accept": "*/*", "Bad": [1], "N": None}
    assert flatten_headers(raw) == {"x-github-event": "workflow_job", "accept": "*/*"}


def test_compact_candidates_cover_ascii_escaping() -> None:
    candidates = compact_candidates({"m": "café"})
    assert b'{"m":"caf\\u00e9"}' in candidates
    assert '{"m":"café"}'.encode() in candidates
