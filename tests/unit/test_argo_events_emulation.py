"""The Argo Events emulation the Argo-path tests rely on, held to outputs Go is known to give.

Each expected string follows from Go's ``encoding/json`` source (``encode.go``):
``appendString`` escapes ``<`` ``>`` ``&`` (escapeHTML), control bytes (``\\b`` ``\\f`` ``\\n``
``\\r`` ``\\t`` by name since Go 1.22, the rest as ``\\u00xx`` in lower-case hex), U+2028 and
U+2029, and writes other non-ASCII as UTF-8; ``floatEncoder`` prints the shortest
round-tripping digits in ``%f`` layout unless ``abs < 1e-6 || abs >= 1e21`` (then ``%e`` with
``e-09`` cleaned to ``e-9``), matching ECMAScript's Number-to-string; ``mapEncoder`` sorts keys
by their bytes; ``decode.go`` reads every number into a float64.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_events import (
    ArgoRefused,
    argo_delivery,
    broker_delivery,
    canonical_mime_header_key,
    eventsource_data,
    github_request,
    gjson_get,
    go_float,
    go_marshal,
    go_string,
    go_unmarshal,
    sensor_request,
    server_header,
)

from healer.webhooks.argo import is_canonical_header
from healer.webhooks.signature import sign

ROOT = Path(__file__).resolve().parents[2]
SENSOR = yaml.safe_load((ROOT / "knative" / "argo" / "sensor.yaml").read_text())
DELIVERIES = ROOT / "examples" / "deliveries"
SECRET = "It's a Secret to Everybody"


def load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DELIVERIES / f"{name}.json").read_text(encoding="utf-8"))
    return result


# --- encoding/json --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("<script>&amp;</script>", r'"\u003cscript\u003e\u0026amp;\u003c/script\u003e"'),
        ("\u2028\u2029", r'"\u2028\u2029"'),
        ("é 中 😀", '"é 中 😀"'),
        ("\b\f\n\r\t", r'"\b\f\n\r\t"'),
        ("\x00\x01\x1f", r'"\u0000\u0001\u001f"'),
        ("\x7f/'", '"\x7f/\'"'),
        ('"\\', r'"\"\\"'),
    ],
)
def test_strings_are_escaped_as_go_escapes_them(text: str, go: str) -> None:
    assert go_string(text) == go


@pytest.mark.parametrize(
    ("value", "go"),
    [
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-1e21, "-1e+21"),
        (1.23456789e28, "1.23456789e+28"),
        (12345678901234567890.0, "12345678901234567000"),
        (float(2**53 + 1), "9007199254740992"),
        (1e-6, "0.000001"),
        (0.000123, "0.000123"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-10, "1e-10"),
        (1e-100, "1e-100"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_floats_are_formatted_as_go_formats_them(value: float, go: str) -> None:
    assert go_float(value) == go


def test_numbers_are_float64_after_decoding() -> None:
    document = b'{"id": 7001, "big": 12345678901234567890, "huge": 100000000000000000000000,'
    document += b' "z": -0, "f": 1.50, "e": 1E2, "tiny": 0.0000001}'
    assert go_marshal(go_unmarshal(document)) == (
        '{"big":12345678901234567000,"e":100,"f":1.5,"huge":1e+23,"id":7001,"tiny":1e-7,"z":-0}'
    )


def test_keys_sort_by_bytes_at_every_level() -> None:
    document = '{"b":{"z":1,"Z":2,"_":3},"a":[{"é":1,"e":2}],"B":null,"A1":true}'
    assert go_marshal(go_unmarshal(document.encode())) == (
        '{"A1":true,"B":null,"a":[{"e":2,"é":1}],"b":{"Z":2,"_":3,"z":1}}'
    )


def test_decoding_follows_go() -> None:
    # An escaped non-ASCII character comes out as UTF-8; a lone surrogate as U+FFFD.
    assert go_marshal(go_unmarshal(rb'{"s":"\u00e9\ud800x\ud83d\ude00"}')) == '{"s":"é\ufffdx😀"}'
    assert go_marshal(go_unmarshal(b'{"k":1,"k":2}')) == '{"k":2}'  # the last one wins
    for bad in (b'{"n": 1e400}', b'{"n": NaN}', b'{"n": 1', b'{"s": "\xff"}'):
        with pytest.raises(ArgoRefused):
            go_unmarshal(bad)
    with pytest.raises(TypeError):
        go_marshal({"n": 1})  # an int never comes out of Go's decoder


# --- net/http headers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("x-github-event", "X-Github-Event"),
        ("X-GitHub-Hook-Installation-Target-ID", "X-Github-Hook-Installation-Target-Id"),
        ("content-type", "Content-Type"),
        ("X-Hub-Signature-256", "X-Hub-Signature-256"),
        ("USER-AGENT", "User-Agent"),
        ("x_forwarded", "X_forwarded"),
        ("bad header", "bad header"),
    ],
)
def test_header_names_are_canonical_as_in_go(name: str, canonical: str) -> None:
    assert canonical_mime_header_key(name) == canonical
    # The production check agrees with the emulation on every token name.
    if " " not in name:
        assert is_canonical_header(canonical)
        assert is_canonical_header(name) == (name == canonical)


def test_the_server_header_drops_host_and_keeps_repeated_values_in_order() -> None:
    header = server_header([("Host", "h"), ("accept", "a"), ("Accept", "b"), ("x-a", "1")])
    assert header == {"Accept": ["a", "b"], "X-A": ["1"]}


# --- EventSource ----------------------------------------------------------------------------


def test_the_eventsource_reencodes_the_body_and_adds_the_webhook_headers() -> None:
    file = load("workflow_job-failure")
    file["body"]["workflow_job"]["name"] = "test <unit> & ‘intégration’\u2028"
    request = github_request(file, SECRET)
    data = eventsource_data(request, SECRET)
    text = data.decode("utf-8")
    assert text.startswith('{"headers":{"Content-Length":["')
    body_raw, kind = gjson_get(text, "body") or ("", "")
    assert kind == "JSON"
    body = json.loads(body_raw)
    assert body["X-GitHub-Event"] == "workflow_job"
    assert body["X-GitHub-Delivery"] == file["headers"]["X-GitHub-Delivery"]
    assert body["workflow_job"]["name"] == "test <unit> & ‘intégration’\u2028"
    assert r"test \u003cunit\u003e \u0026 ‘intégration’\u2028" in body_raw
    assert list(json.loads(text)) == ["headers", "body"]  # struct order; no metadata
    headers = json.loads(text)["headers"]
    assert list(headers) == sorted(headers)
    assert headers["X-Github-Hook-Installation-Target-Id"] == ["4242"]
    assert "Host" not in headers
    # What GitHub signed is not what arrives: the signature cannot be checked again.
    assert body_raw.encode() != request.body
    assert sign(SECRET, body_raw.encode()) != headers["X-Hub-Signature-256"][0]
    assert sign(SECRET, request.body) == headers["X-Hub-Signature-256"][0]


def test_the_eventsource_metadata_follows_the_body() -> None:
    data = eventsource_data(
        github_request(load("workflow_job-failure"), SECRET), SECRET, metadata={"b": "2", "a": "1"}
    )
    assert list(json.loads(data)) == ["headers", "body", "metadata"]
    assert data.endswith(b',"metadata":{"a":"1","b":"2"}}')


def test_the_eventsource_refuses_a_wrong_signature() -> None:
    request = github_request(load("workflow_job-failure"), "guessed")
    with pytest.raises(ArgoRefused, match="signature"):
        eventsource_data(request, SECRET)


# --- Sensor and Broker ----------------------------------------------------------------------


def test_the_sensor_splices_headers_and_body_verbatim_and_sets_the_cloudevent_headers() -> None:
    file = load("workflow_run-failure")
    data = eventsource_data(github_request(file, SECRET), SECRET).decode()
    request = sensor_request(SENSOR, data.encode())
    headers_raw = (gjson_get(data, "headers") or ("", ""))[0]
    body_raw = (gjson_get(data, "body") or ("", ""))[0]
    assert request.body == f'{{"headers":{headers_raw},"body":{body_raw}}}'.encode()
    assert request.method == "POST"
    assert request.url == "http://broker-ingress.knative-eventing.svc.cluster.local/cto/healer"
    assert request.headers == {
        "Ce-Specversion": "1.0",
        "Ce-Type": "dev.healer.github.webhook",
        "Ce-Id": file["headers"]["X-GitHub-Delivery"],
        "Ce-Githubevent": "workflow_run",
        "Ce-Source": file["body"]["repository"]["html_url"],
        "Content-Type": "application/json",
    }


def test_the_sensor_keeps_the_default_source_without_a_repository() -> None:
    file = load("workflow_run-failure")
    del file["body"]["repository"]
    data = eventsource_data(github_request(file, SECRET), SECRET)
    assert sensor_request(SENSOR, data).headers["Ce-Source"] == "https://github.com"


def test_parameters_under_the_template_are_dropped_and_the_broker_refuses() -> None:
    """The mistake the shipped Sensor once made: TriggerTemplate has no ``parameters``."""
    broken = json.loads(json.dumps(SENSOR))
    (trigger,) = broken["spec"]["triggers"]
    trigger["template"]["parameters"] = trigger.pop("parameters")
    data = eventsource_data(github_request(load("workflow_run-failure"), SECRET), SECRET)
    request = sensor_request(broken, data)
    assert "Ce-Id" not in request.headers
    with pytest.raises(ArgoRefused, match="ce-id"):
        broker_delivery(request)


def test_http_trigger_parameters_reach_the_same_headers() -> None:
    """``template.http.parameters`` (dest relative to the HTTP trigger) is the other place
    Argo applies parameters; the emulation honours it as Argo does."""
    moved = json.loads(json.dumps(SENSOR))
    (trigger,) = moved["spec"]["triggers"]
    trigger["template"]["http"]["parameters"] = [
        {**p, "dest": p["dest"].removeprefix("http.")} for p in trigger.pop("parameters")
    ]
    data = eventsource_data(github_request(load("workflow_run-failure"), SECRET), SECRET)
    assert sensor_request(moved, data) == sensor_request(SENSOR, data)


def test_gjson_takes_the_first_member_and_escaped_dots() -> None:
    document = '{"a":{"b.c":"x","b":{"c":"y"}},"a":"second","n":[1,{"k":true}]}'
    assert gjson_get(document, "a.b\\.c") == ('"x"', "String")
    assert gjson_get(document, "a.b.c") == ('"y"', "String")
    assert gjson_get(document, "n.1.k") == ("true", "True")
    assert gjson_get(document, "n.1") == ('{"k":true}', "JSON")
    assert gjson_get(document, "a.missing") is None


def test_a_whole_delivery_reaches_the_subscriber_as_a_binary_cloudevent() -> None:
    file = load("check_suite-failure")
    headers, body = argo_delivery(SENSOR, file, SECRET)
    assert headers["ce-id"] == file["headers"]["X-GitHub-Delivery"]
    assert headers["ce-githubevent"] == "check_suite"
    envelope = json.loads(body)
    assert envelope["headers"]["X-Github-Event"] == ["check_suite"]
    assert envelope["body"]["X-GitHub-Event"] == "check_suite"
