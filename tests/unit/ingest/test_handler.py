"""The ingest handler end to end on in-memory stores: ids, records, signatures, seed paths."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from functions.ingest.handler import Ingest
from healer.errors import InvalidInput, StoreUnavailable, Unauthorized, UpstreamUnavailable
from healer.events import event_data
from healer.models import AlertDetected, FailureDetected
from healer.runtime import Inbound, JSONReply, Skip, is_cloudevent, parse_cloudevent
from healer.services import Services
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.webhooks.signature import sign

Load = Callable[[str], dict[str, Any]]
MakeIngest = Callable[..., Ingest]
SECRET = "It's a Secret to Everybody"
DELIVERY_ID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def request(headers: dict[str, str], body: bytes, path: str = "/") -> Inbound:
    lower = {k.lower(): v for k, v in headers.items()}
    event = parse_cloudevent(lower, body) if is_cloudevent(lower) else None
    return Inbound("POST", path, lower, body, event)


def webhook(file: dict[str, Any], path: str = "/", secret: str = "") -> Inbound:
    body = json.dumps(file["body"]).encode()
    headers = dict(file["headers"])
    if secret:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return request(headers, body, path)


def envelope(file: dict[str, Any], secret: str = "") -> dict[str, Any]:
    headers = {name: [value] for name, value in file["headers"].items()}
    if secret:
        compact = json.dumps(file["body"], separators=(",", ":")).encode()
        headers["X-Hub-Signature-256"] = [sign(secret, compact)]
    return {"headers": headers, "body": file["body"], "metadata": {}}


def cloudevent(file: dict[str, Any], secret: str = "") -> Inbound:
    event = CloudEvent(
        {"type": "dev.healer.github.webhook", "source": "https://github.com/acme/x", "id": "ce-1"},
        envelope(file, secret),
    )
    headers, body = to_binary(event)
    return request(dict(headers), body)


def emitted(reply: object) -> CloudEvent:
    assert isinstance(reply, CloudEvent), reply
    return reply


def test_failed_job_becomes_failure_detected(delivery: Load, make_ingest: MakeIngest) -> None:
    event = emitted(make_ingest()(webhook(delivery("workflow_job-failure"))))
    assert event["type"] == "dev.healer.failure.detected"
    assert event["source"] == "healer/ingest"
    assert event["subject"] == "acme/widgets#7001"
    attrs = event.get_attributes()
    assert (attrs["healerrepo"], attrs["healerrun"], attrs["healerattempt"]) == (
        "acme/widgets",
        "7001",
        "1",
    )
    model = FailureDetected.model_validate(event_data(event))
    assert model.delivery_id == DELIVERY_ID
    assert model.archive_key == f"deliveries/{DELIVERY_ID}.json"


def test_every_form_of_one_delivery_emits_the_same_id(
    delivery: Load, make_ingest: MakeIngest
) -> None:
    file = delivery("workflow_job-failure")
    ingest = make_ingest()
    whole = {
        "context": {"id": "argo", "type": "webhook"},
        "data": base64.b64encode(json.dumps(envelope(file)).encode()).decode(),
    }
    ids = {
        emitted(ingest(webhook(file)))["id"],
        emitted(ingest(cloudevent(file)))["id"],
        emitted(ingest(request({}, json.dumps(envelope(file)).encode())))["id"],
        emitted(ingest(request({}, json.dumps(whole).encode())))["id"],
    }
    assert len(ids) == 1


class CountingBlobs(FileBlobStore):
    def __init__(self, root: Any) -> None:
        super().__init__(root)
        self.writes: list[str] = []

    def put_stream(self, key: str, chunks: Iterable[bytes], *, content_type: str = "") -> int:
        self.writes.append(key)
        return super().put_stream(key, chunks, content_type=content_type)


def test_redelivery_emits_the_same_event_and_is_recorded_once(
    delivery: Load, services: Services, tmp_path: Any
) -> None:
    blobs = CountingBlobs(tmp_path / "counted")
    state = MemoryStateStore()
    ingest = Ingest(Services(services.settings, state=state, blobs=blobs))
    file = delivery("workflow_job-failure")
    first = emitted(ingest(webhook(file)))
    again = emitted(ingest(webhook(file)))
    assert first["id"] == again["id"]
    assert event_data(first) == event_data(again)
    assert blobs.writes == [f"deliveries/{DELIVERY_ID}.json"]
    assert state.get(f"dedup:delivery:{DELIVERY_ID}") == first["id"]


def test_archive_is_the_delivery_file_format(
    delivery: Load, make_ingest: MakeIngest, services: Services
) -> None:
    file = delivery("workflow_job-failure")
    make_ingest(webhook_secret=SECRET)(webhook(file, secret=SECRET))
    archived = json.loads(services.blobs.get(f"deliveries/{DELIVERY_ID}.json"))
    assert archived["body"] == file["body"]
    assert archived["headers"]["X-GitHub-Event"] == "workflow_job"
    assert archived["headers"]["X-GitHub-Delivery"] == DELIVERY_ID
    assert archived["headers"]["X-GitHub-Hook-ID"] == file["headers"]["X-GitHub-Hook-ID"]
    assert archived["headers"]["Content-Type"] == "application/json"
    assert "X-Hub-Signature-256" not in archived["headers"]


def test_without_delivery_id_the_job_and_attempt_key_the_event(
    delivery: Load, make_ingest: MakeIngest, services: Services
) -> None:
    file = delivery("workflow_job-failure")
    del file["headers"]["X-GitHub-Delivery"]
    ingest = make_ingest()
    first = emitted(ingest(webhook(file)))
    assert emitted(ingest(webhook(file)))["id"] == first["id"]
    assert services.state.get("dedup:delivery:job:acme/widgets:90001:1") == first["id"]
    file["body"]["workflow_job"]["run_attempt"] = 2
    rerun = emitted(ingest(webhook(file)))
    assert rerun["id"] != first["id"]
    assert rerun.get_attributes()["healerattempt"] == "2"


def test_a_failed_archive_releases_the_claim(delivery: Load, services: Services) -> None:
    class DownBlobs(FileBlobStore):
        def put_stream(self, key: str, chunks: Iterable[bytes], *, content_type: str = "") -> int:
            raise StoreUnavailable("blob store down")

    ingest = Ingest(Services(services.settings, state=services.state, blobs=DownBlobs("/x")))
    with pytest.raises(StoreUnavailable):
        ingest(webhook(delivery("workflow_job-failure")))
    assert services.state.get(f"dedup:delivery:{DELIVERY_ID}") is None


def test_state_store_outage_is_retryable(delivery: Load, services: Services) -> None:
    class DownState(MemoryStateStore):
        def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
            raise StoreUnavailable("redis unreachable")

    ingest = Ingest(Services(services.settings, state=DownState(), blobs=services.blobs))
    with pytest.raises(StoreUnavailable):
        ingest(webhook(delivery("workflow_job-failure")))


@pytest.mark.parametrize("form", ["webhook", "cloudevent"])
def test_signature_verified_when_a_secret_is_set(
    delivery: Load, make_ingest: MakeIngest, form: str
) -> None:
    file = delivery("workflow_run-failure")
    ingest = make_ingest(webhook_secret=SECRET)
    signed = webhook(file, secret=SECRET) if form == "webhook" else cloudevent(file, SECRET)
    assert emitted(ingest(signed))["type"] == "dev.healer.failure.detected"
    unsigned = webhook(file) if form == "webhook" else cloudevent(file)
    with pytest.raises(Unauthorized, match="missing"):
        ingest(unsigned)
    wrong = webhook(file, secret="nope") if form == "webhook" else cloudevent(file, "nope")
    with pytest.raises(Unauthorized, match="does not match"):
        ingest(wrong)


def test_envelope_with_raw_string_body_verifies_over_that_string(
    delivery: Load, make_ingest: MakeIngest
) -> None:
    file = delivery("workflow_job-failure")
    raw = json.dumps(file["body"], indent=1)
    headers = {
        "X-Github-Event": ["workflow_job"],
        "X-Hub-Signature-256": [sign(SECRET, raw.encode())],
    }
    body = json.dumps({"headers": headers, "body": raw, "metadata": {}}).encode()
    assert emitted(make_ingest(webhook_secret=SECRET)(request({}, body)))


def test_skips_are_checked_after_the_signature(delivery: Load, make_ingest: MakeIngest) -> None:
    ingest = make_ingest(webhook_secret=SECRET)
    with pytest.raises(Unauthorized):
        ingest(webhook(delivery("workflow_job-success")))
    skip = ingest(webhook(delivery("workflow_job-success"), secret=SECRET))
    assert isinstance(skip, Skip) and "success" in skip.reason


def test_skips_are_not_recorded(
    delivery: Load, make_ingest: MakeIngest, services: Services
) -> None:
    assert isinstance(make_ingest()(webhook(delivery("workflow_job-bot"))), Skip)
    assert services.state.keys("dedup:") == []
    assert services.blobs.list() == []


def test_secret_never_reaches_logs_events_or_archive(
    delivery: Load, make_ingest: MakeIngest, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    file = delivery("secret_scanning_alert")
    secret = file["body"]["alert"]["secret"]
    caplog.set_level(logging.DEBUG)
    ingest = make_ingest()
    events = [emitted(ingest(webhook(file))), emitted(ingest(cloudevent(file)))]
    for event in events:
        AlertDetected.model_validate(event_data(event))
        for encode in (to_binary, to_structured):
            headers, body = encode(event)
            assert secret.encode() not in body
            assert secret not in json.dumps(dict(headers))
    archived = services.blobs.get(services.blobs.list("deliveries/")[0])
    assert secret.encode() not in archived
    assert json.loads(archived)["body"]["alert"]["secret_type"] == "npm_access_token"
    assert caplog.records, "ingest logs what it emitted"
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_only_post_is_accepted(make_ingest: MakeIngest) -> None:
    with pytest.raises(InvalidInput, match="GET is not supported"):
        make_ingest()(Inbound("GET", "/", {}, b"", None))


def test_healer_events_routed_here_by_mistake_are_skipped(make_ingest: MakeIngest) -> None:
    event = CloudEvent({"type": "dev.healer.failure.detected", "source": "s", "id": "1"}, {})
    headers, body = to_binary(event)
    skip = make_ingest()(request(dict(headers), body))
    assert isinstance(skip, Skip) and "not a GitHub delivery" in skip.reason


def test_delivery_id_must_be_a_plain_token(delivery: Load, make_ingest: MakeIngest) -> None:
    file = delivery("workflow_job-failure")
    file["headers"]["X-GitHub-Delivery"] = "../" * 100
    with pytest.raises(InvalidInput, match="X-GitHub-Delivery"):
        make_ingest()(webhook(file))


# --- the seed's API paths ---


def test_seed_path_emits_through_emit_and_answers_the_seed_shape(
    delivery: Load, make_ingest: MakeIngest
) -> None:
    sent: list[CloudEvent] = []
    ingest = make_ingest(emit=sent.append)
    reply = ingest(webhook(delivery("dependabot_alert"), "/api/remediate/security-alert"))
    assert isinstance(reply, JSONReply) and reply.status == 202
    assert [e["type"] for e in sent] == ["dev.healer.alert.detected"]
    assert reply.body == {
        "status": "accepted",
        "coderun_name": "",
        "agent": "",
        "failure_type": "security_dependabot",
        "reason": f"emitted dev.healer.alert.detected {sent[0]['id']}",
    }


def test_seed_path_skip_and_error_shapes(delivery: Load, make_ingest: MakeIngest) -> None:
    ingest = make_ingest(emit=lambda event: None, webhook_secret=SECRET)
    skip = ingest(webhook(delivery("workflow_job-success"), "/api/remediate/ci-failure", SECRET))
    assert isinstance(skip, JSONReply) and skip.status == 202
    assert skip.body["status"] == "skipped" and "success" in skip.body["reason"]
    error = ingest(webhook(delivery("workflow_job-failure"), "/api/remediate/ci-failure"))
    assert isinstance(error, JSONReply) and error.status == 401
    assert error.body["status"] == "error"
    assert set(error.body) == {"status", "coderun_name", "agent", "failure_type", "reason"}


def test_seed_path_broker_trouble_is_a_retryable_error(
    delivery: Load, make_ingest: MakeIngest
) -> None:
    def down(event: CloudEvent) -> None:
        raise UpstreamUnavailable("broker down", retry_after=4)

    reply = make_ingest(emit=down)(
        webhook(delivery("workflow_job-failure"), "/api/remediate/ci-failure")
    )
    assert isinstance(reply, JSONReply)
    assert (reply.status, reply.headers["Retry-After"], reply.body["status"]) == (503, "4", "error")


def test_seed_path_without_a_broker_replies_with_the_event(
    delivery: Load, make_ingest: MakeIngest
) -> None:
    reply = make_ingest()(webhook(delivery("workflow_job-failure"), "/api/remediate/ci-failure"))
    assert emitted(reply)["type"] == "dev.healer.failure.detected"


def test_broker_url_setting_builds_a_broker_emitter(make_ingest: MakeIngest) -> None:
    from healer.forward import BrokerEmitter

    emitter = make_ingest(broker_url="http://broker.local/default").emit
    assert isinstance(emitter, BrokerEmitter) and emitter.url == "http://broker.local/default"
    assert make_ingest().emit is None


@pytest.mark.parametrize("form", ["envelope", "binary", "structured", "argo-event"])
def test_an_envelope_verifies_over_the_body_bytes_github_signed(
    delivery: Load, make_ingest: MakeIngest, form: str
) -> None:
    # GitHub's bytes, spliced into the envelope as they were (here: indented, non-ASCII kept),
    # which no re-serialisation of the parsed body would reproduce.
    file = delivery("workflow_job-failure")
    file["body"]["workflow_job"]["name"] = "tëst"
    raw = json.dumps(file["body"], indent=2, ensure_ascii=False).encode()
    headers = {name: [value] for name, value in file["headers"].items()}
    headers["X-Hub-Signature-256"] = [sign(SECRET, raw)]
    envelope_bytes = (
        b'{"headers": ' + json.dumps(headers).encode() + b', "body": ' + raw + b', "metadata": {}}'
    )
    ce_headers = {
        "ce-specversion": "1.0",
        "ce-type": "dev.healer.github.webhook",
        "ce-source": "https://github.com/acme/widgets",
        "ce-id": "ce-raw-1",
    }

    def inbound_for(envelope_bytes: bytes) -> Inbound:
        if form == "envelope":
            return request({"content-type": "application/json"}, envelope_bytes)
        if form == "binary":
            return request({**ce_headers, "content-type": "application/json"}, envelope_bytes)
        if form == "structured":
            attributes = {k[3:]: v for k, v in ce_headers.items()}
            structured = json.dumps({**attributes, "datacontenttype": "application/json"})
            body = structured[:-1].encode() + b', "data": ' + envelope_bytes + b"}"
            return request({"content-type": "application/cloudevents+json"}, body)
        whole = {"context": {"id": "argo-1"}, "data": base64.b64encode(envelope_bytes).decode()}
        return request({"content-type": "application/json"}, json.dumps(whole).encode())

    ingest = make_ingest(webhook_secret=SECRET)
    assert emitted(ingest(inbound_for(envelope_bytes)))["type"] == "dev.healer.failure.detected"
    tampered = envelope_bytes.replace("tëst".encode(), "tëst2".encode())
    with pytest.raises(Unauthorized, match="does not match"):
        ingest(inbound_for(tampered))


def test_raw_member_finds_top_level_values_only() -> None:
    from healer.webhooks.envelope import raw_member

    doc = b' { "headers" : {"body": 1} , "body" :\n {"a": [1, 2]} , "x": "y" } '
    assert raw_member(doc, "body") == b'{"a": [1, 2]}'
    assert raw_member(doc, "x") == b'"y"'
    assert raw_member(doc, "missing") is None
    assert raw_member(b"[1, 2]", "body") is None
    assert raw_member(b'{"body": ', "body") is None
    assert raw_member(b"\xff\xfe", "body") is None


def test_without_a_secret_the_signed_bytes_are_never_worked_out(
    delivery: Load, make_ingest: MakeIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import healer.webhooks.envelope as envelope_module

    def refuse(*_: object) -> None:
        raise AssertionError("signed-bytes candidates computed without a secret")

    monkeypatch.setattr(envelope_module, "compact_candidates", refuse)
    monkeypatch.setattr(envelope_module, "raw_member", refuse)
    file = delivery("workflow_job-failure")
    assert emitted(make_ingest()(cloudevent(file)))["type"] == "dev.healer.failure.detected"


@pytest.mark.parametrize(
    ("name", "path", "value", "field"),
    [
        ("check_suite-failure", ("check_suite", "id"), 0, "check_suite.id"),
        ("workflow_job-failure", ("workflow_job", "head_sha"), "not-a-sha", "head_sha"),
        ("workflow_job-failure", ("workflow_job", "head_branch"), "a..b", "head_branch"),
        ("workflow_job-failure", ("workflow_job", "run_attempt"), -3, "run_attempt"),
        ("workflow_job-failure", ("workflow_job", "html_url"), "javascript:x", "html_url"),
        ("dependabot_alert", ("alert", "number"), 0, "alert_number"),
    ],
)
def test_an_identity_the_models_refuse_is_refused_where_it_enters(
    delivery: Load,
    make_ingest: MakeIngest,
    name: str,
    path: tuple[str, str],
    value: object,
    field: str,
) -> None:
    """Ingest emits plain dicts; a value the next stage's model would refuse (and dead-letter)
    is a 400 here instead, naming the field."""
    file = delivery(name)
    file["body"][path[0]][path[1]] = value
    with pytest.raises(InvalidInput) as caught:
        make_ingest()(webhook(file))
    assert field.split(".")[-1] in str(caught.value) or field in str(caught.value)
