"""Forwarding to the broker: a binary CloudEvent POST; any failure is retryable."""

from __future__ import annotations

import httpx
import pytest
from cloudevents.http import CloudEvent

from healer.errors import UpstreamUnavailable
from healer.forward import BrokerEmitter

URL = "http://broker-ingress.knative-eventing.svc/healer/default"


def event() -> CloudEvent:
    attributes = {"type": "dev.healer.failure.detected", "source": "healer/ingest", "id": "abc"}
    return CloudEvent({**attributes, "datacontenttype": "application/json"}, {"run_id": 7001})


def test_posts_a_binary_cloudevent() -> None:
    seen: list[httpx.Request] = []

    def broker(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    BrokerEmitter(URL, transport=httpx.MockTransport(broker))(event())
    (request,) = seen
    assert str(request.url) == URL and request.method == "POST"
    assert request.headers["ce-id"] == "abc"
    assert request.headers["ce-type"] == "dev.healer.failure.detected"
    assert request.headers["content-type"] == "application/json"
    assert request.content == b'{"run_id": 7001}'


def test_broker_error_is_retryable_with_its_retry_after() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503, headers={"Retry-After": "3"}))
    with pytest.raises(UpstreamUnavailable, match="answered 503") as caught:
        BrokerEmitter(URL, transport=transport)(event())
    assert caught.value.retry_after == 3


def test_unreachable_broker_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        BrokerEmitter(URL, transport=httpx.MockTransport(refuse))(event())
