"""No secret-scanning ``secret`` is ever stored, whatever form the delivery reaches a store in:
the dead-letter sink and ingest's delivery archive, fed through their functions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from functions.ingest.main import create_function as create_ingest
from functions.status import deadletters
from functions.status.main import create_function
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer_dev.broker.replay import to_cloudevent, webhook_delivery
from healer_dev.broker.stages import wsgi_app

ROOT = Path(__file__).resolve().parents[2]
SECRET = "ghp_Zx9leakedSecretValue0000000000000000"
DELIVERY = json.loads(
    (ROOT / "examples" / "deliveries" / "secret_scanning_alert.json").read_text(encoding="utf-8")
)


def pretty_non_ascii_raw() -> bytes:
    """The delivery as GitHub may send it: indented, with non-ASCII text left unescaped."""
    body = json.loads(json.dumps(DELIVERY["body"]))
    body["alert"]["secret"] = SECRET
    body["repository"]["description"] = "Überwachung — 監視 ✓"
    return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")


def headers() -> dict[str, str]:
    return {k: v for k, v in DELIVERY["headers"].items() if k.lower().startswith("x-github")}


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path / "blobs"))


@pytest.fixture
def client(services: Services) -> flask.testing.FlaskClient:
    return wsgi_app("status", create_function(services)).test_client()


def every_stored_byte(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def assert_absent(root: Path, secret: str = SECRET) -> None:
    stored = every_stored_byte(root)
    assert stored, "nothing was stored"
    for form in (
        secret.encode(),
        secret[5:-5].encode(),
        base64.b64encode(secret.encode())[4:-4],
        base64.b64encode(b"x" + secret.encode())[4:-4],
        base64.b64encode(b"xx" + secret.encode())[4:-4],
    ):
        assert form not in stored


def webhook_event_of_raw(raw: bytes) -> CloudEvent:
    delivery = webhook_delivery(headers(), raw)
    assert isinstance(delivery["body"], str), "the raw text form is what this test is about"
    return to_cloudevent(delivery)


def test_non_ascii_pretty_printed_secret_scanning_delivery_dead_lettered_keeps_no_secret(
    client: flask.testing.FlaskClient, services: Services, tmp_path: Path
) -> None:
    event = webhook_event_of_raw(pretty_non_ascii_raw())
    letter = CloudEvent(
        {
            **event.get_attributes(),
            "knativeerrordest": "http://ingest.cto.svc.cluster.local/",
            "knativeerrorcode": "503",
        },
        event.get_data(),
    )
    for to_http in (to_binary, to_structured):
        sent_headers, body = to_http(letter)
        assert SECRET.encode() in body  # the secret really is on the wire
        response = client.post("/dead-letter", headers=dict(sent_headers), data=body)
        assert response.status_code == 202

    assert_absent(tmp_path / "blobs")
    stored = [deadletters.read(services.blobs, k) for k in services.blobs.list("dead-letters/")]
    assert len(stored) == 2
    for rec in stored:
        body = json.loads(rec["data"]["body"])  # still the delivery, replayable
        assert body["alert"]["secret_type"] == DELIVERY["body"]["alert"]["secret_type"]
        assert body["repository"]["description"] == "Überwachung — 監視 ✓"
        assert "secret" not in body["alert"]
        assert rec["error"]["reason"] == "HTTP 503 from http://ingest.cto.svc.cluster.local/"


def envelope_of_raw(raw: bytes) -> dict[str, Any]:
    return {"headers": {k: [v] for k, v in headers().items()}, "body": raw.decode(), "metadata": {}}


@pytest.mark.parametrize(
    "form",
    [
        "bytes data (data_base64)",
        "argo whole-event base64",
        "form-encoded payload",
        "truncated json text",
        "escaped inside a string",
    ],
)
def test_every_form_of_the_body_is_stored_without_the_secret(
    form: str, client: flask.testing.FlaskClient, tmp_path: Path
) -> None:
    raw = pretty_non_ascii_raw()
    attributes = {"type": "dev.healer.github.webhook", "source": "argo", "id": "sec-2"}
    data: Any
    if form == "bytes data (data_base64)":
        attributes["datacontenttype"] = "application/octet-stream"
        data = raw
    elif form == "argo whole-event base64":
        inner = json.dumps(envelope_of_raw(raw), ensure_ascii=False).encode()
        data = {"context": {"id": "x", "type": "github"}, "data": base64.b64encode(inner).decode()}
    elif form == "form-encoded payload":
        attributes["datacontenttype"] = "application/x-www-form-urlencoded"
        data = urlencode({"payload": raw.decode()})
    elif form == "truncated json text":
        attributes["datacontenttype"] = "text/plain"
        data = raw.decode()[: raw.decode().index(SECRET) + len(SECRET) + 3]
    else:
        data = {"note": json.dumps({"log": raw.decode()})[:-40]}
    sent_headers, body = to_structured(CloudEvent(attributes, data))
    assert client.post("/dead-letter", headers=dict(sent_headers), data=body).status_code == 202
    assert_absent(tmp_path / "blobs")


def test_a_secret_in_bytes_that_are_not_text_withholds_the_data(
    client: flask.testing.FlaskClient, services: Services, tmp_path: Path
) -> None:
    raw = b"\xff\xfe" + pretty_non_ascii_raw()
    event = CloudEvent(
        {"type": "t", "source": "s", "id": "bin", "datacontenttype": "application/octet-stream"},
        raw,
    )
    sent_headers, body = to_binary(event)
    assert client.post("/dead-letter", headers=dict(sent_headers), data=body).status_code == 202
    assert_absent(tmp_path / "blobs")
    (key,) = services.blobs.list("dead-letters/")
    rec = deadletters.read(services.blobs, key)
    assert rec["data"] is None and rec["data_encoding"] == "withheld" and rec["id"] == "bin"
    with pytest.raises(Exception, match="withheld"):
        deadletters.to_event(rec)


def test_a_secret_echoed_in_the_error_data_is_not_kept(
    client: flask.testing.FlaskClient, tmp_path: Path
) -> None:
    echoed = base64.b64encode(pretty_non_ascii_raw()[:1000]).decode()
    event = CloudEvent(
        {"type": "t", "source": "s", "id": "echo", "knativeerrordata": echoed}, {"a": 1}
    )
    sent_headers, body = to_binary(event)
    assert client.post("/dead-letter", headers=dict(sent_headers), data=body).status_code == 202
    assert_absent(tmp_path / "blobs")


def test_ingest_archives_a_pretty_printed_non_ascii_delivery_without_the_secret(
    tmp_path: Path,
) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    services = Services(Settings(), state=MemoryStateStore(), blobs=blobs)
    function = create_ingest(services)
    app = flask.Flask("ingest")
    app.add_url_rule("/", "root", lambda: function(flask.request), methods=["POST"])
    raw = pretty_non_ascii_raw()
    sent = {**headers(), "Content-Type": "application/json"}
    for data in (
        raw,
        json.dumps(envelope_of_raw(raw)).encode(),
        json.dumps({"headers": {}, "body": {"log": raw.decode()}}).encode(),
    ):
        response = app.test_client().post("/", headers=sent, data=data)
        assert response.status_code < 300
        assert SECRET.encode() not in response.get_data()
    archived = blobs.list("deliveries/")
    assert archived
    assert_absent(tmp_path / "blobs")
    stored = json.loads(blobs.get(archived[0]))
    assert stored["body"]["repository"]["description"] == "Überwachung — 監視 ✓"
