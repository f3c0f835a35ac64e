"""The in-process broker against tiny fake stages: routing, replies, retries, TTL, dead letters."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import flask
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent, from_http

from healer_dev.broker.hops import Hop, Outcome
from healer_dev.broker.local import LocalBroker
from healer_dev.broker.stages import wsgi_apps
from healer_dev.broker.transport import HTTPXSender
from healer_dev.broker.triggers import Topology

Stage = Callable[[flask.Request], flask.Response]

BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: healer}
spec:
  delivery:
    retry: 3
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    deadLetterSink:
      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sink}
      uri: /dead-letter
"""


def trigger(name: str, event_type: str, service: str, delivery: str = "") -> str:
    return f"""
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: {name}}}
spec:
  broker: healer
  filter: {{attributes: {{type: {event_type}}}}}
  subscriber: {{ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: {service}}}}}
{delivery}
"""


def service(name: str) -> str:
    return f"""
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
        - image: x
          args: [--target, {name}, --source, functions/{name}/main.py]
"""


def reply_with(event_type: str) -> Stage:
    def stage(request: flask.Request) -> flask.Response:
        incoming = from_http(dict(request.headers), request.get_data())
        reply = CloudEvent(
            {"type": event_type, "source": "test", "id": "r-" + incoming["id"]}, {"n": 1}
        )
        headers, body = to_binary(reply)
        return flask.Response(body, status=200, headers=dict(headers))

    return stage


def answer(status: int, body: str = "", headers: dict[str, str] | None = None) -> Stage:
    return lambda request: flask.Response(body, status=status, headers=headers or {})


class Sink:
    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.paths: list[str] = []

    def __call__(self, request: flask.Request) -> flask.Response:
        self.paths.append(request.path)
        self.events.append(from_http(dict(request.headers), request.get_data()))
        return flask.Response(status=202)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(
    tmp_path: Path, manifests: str, stages: dict[str, Stage], missing: dict[str, str] | None = None
) -> tuple[LocalBroker, Sleeps]:
    (tmp_path / "all.yaml").write_text(manifests)
    topology = Topology.load(tmp_path)
    sleeps = Sleeps()
    sender = HTTPXSender.wsgi(wsgi_apps(stages))
    return LocalBroker(topology, sender, unavailable=missing, sleep=sleeps), sleeps


def event(event_type: str = "a", ident: str = "e1") -> CloudEvent:
    return CloudEvent({"type": event_type, "source": "test", "id": ident}, {"x": 1})


def test_reply_reenters_the_broker_and_reaches_the_next_stage(tmp_path: Path) -> None:
    manifests = (
        BROKER
        + trigger("t1", "a", "one")
        + trigger("t2", "b", "two")
        + service("one")
        + service("two")
    )
    broker, _ = make(tmp_path, manifests, {"one": reply_with("b"), "two": answer(202)})
    hops = broker.publish(event())
    assert [(h.stage, h.type, h.outcome) for h in hops] == [
        ("one", "a", Outcome.REPLY),
        ("two", "b", Outcome.ACCEPTED),
    ]
    assert hops[0].reply_type == "b" and hops[0].reply_id == "r-e1" and hops[0].status == 200
    assert hops[1].id == "r-e1"


def test_unmatched_events_are_not_delivered(tmp_path: Path) -> None:
    broker, _ = make(tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(202)})
    assert broker.publish(event("zzz")) == []


def test_skip_reason_comes_from_the_header(tmp_path: Path) -> None:
    stage = answer(202, headers={"X-Healer-Reason": "sender bot is a bot"})
    broker, _ = make(tmp_path, BROKER + trigger("t1", "a", "one"), {"one": stage})
    (hop,) = broker.publish(event())
    assert (hop.outcome, hop.status, hop.reason) == (Outcome.SKIPPED, 202, "sender bot is a bot")


def test_transient_failures_are_retried_with_exponential_backoff(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(request: flask.Request) -> flask.Response:
        calls.append(1)
        return flask.Response(status=503 if len(calls) < 3 else 202)

    broker, sleeps = make(tmp_path, BROKER + trigger("t1", "a", "one"), {"one": flaky})
    (hop,) = broker.publish(event())
    assert (hop.outcome, hop.status, hop.attempts) == (Outcome.ACCEPTED, 202, 3)
    assert sleeps == [1.0, 2.0]


def test_exhausted_retries_go_to_the_dead_letter_sink_with_error_extensions(tmp_path: Path) -> None:
    sink = Sink()
    problem = json.dumps({"title": "unavailable", "detail": "github is down"})
    manifests = BROKER + trigger("t1", "a", "one")
    broker, sleeps = make(tmp_path, manifests, {"one": answer(503, problem), "sink": sink})
    failed, letter = broker.publish(event())
    assert (failed.outcome, failed.status, failed.attempts, failed.reason) == (
        Outcome.FAILED,
        503,
        4,
        "github is down",
    )
    assert failed.dead_lettered and failed.failed
    assert sleeps == [1.0, 2.0, 4.0]
    assert (letter.stage, letter.outcome, letter.status) == ("sink", Outcome.DEAD_LETTER, 202)
    assert sink.paths == ["/dead-letter"]
    stored = sink.events[0]
    assert stored["id"] == "e1" and stored.get_data() == {"x": 1}
    assert stored["knativeerrordest"] == "http://one.default.svc.cluster.local/"
    assert stored["knativeerrorcode"] == "503"
    assert base64.b64decode(stored["knativeerrordata"]) == problem.encode()


def test_permanent_rejection_is_not_retried(tmp_path: Path) -> None:
    sink = Sink()
    broker, sleeps = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(400, "bad"), "sink": sink}
    )
    failed, letter = broker.publish(event())
    assert (failed.outcome, failed.attempts, failed.reason) == (Outcome.REJECTED, 1, "bad")
    assert sleeps == [] and letter.status == 202 and len(sink.events) == 1


@pytest.mark.parametrize("status", [404, 408, 409, 429])
def test_retryable_4xx(tmp_path: Path, status: int) -> None:
    broker, sleeps = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(status), "sink": Sink()}
    )
    hop = broker.publish(event())[0]
    assert hop.outcome == Outcome.FAILED and hop.attempts == 4 and len(sleeps) == 3


def test_error_data_is_truncated_to_1024_base64_chars(tmp_path: Path) -> None:
    sink = Sink()
    broker, _ = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(400, "x" * 5000), "sink": sink}
    )
    broker.publish(event())
    data = sink.events[0]["knativeerrordata"]
    assert 0 < len(data) <= 1024 and set(base64.b64decode(data)) == {ord("x")}


def test_text_body_on_2xx_is_a_bad_reply_and_is_retried(tmp_path: Path) -> None:
    broker, _ = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(200, "OK"), "sink": Sink()}
    )
    hop = broker.publish(event())[0]
    assert (hop.outcome, hop.status, hop.attempts) == (Outcome.FAILED, 502, 4)
    assert "not a CloudEvent" in hop.reason


def test_trigger_delivery_replaces_the_brokers(tmp_path: Path) -> None:
    delivery = "  delivery: {retry: 1, backoffPolicy: linear, backoffDelay: PT3S}\n"
    broker, sleeps = make(
        tmp_path, BROKER + trigger("t1", "a", "one", delivery), {"one": answer(500), "sink": Sink()}
    )
    (hop,) = broker.publish(event())  # this trigger's spec has no dead-letter sink
    assert (hop.outcome, hop.attempts, hop.dead_lettered) == (Outcome.FAILED, 2, False)
    assert sleeps == [3.0]


def test_backoff_scale_shrinks_real_waits(tmp_path: Path) -> None:
    broker, sleeps = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": answer(500), "sink": Sink()}
    )
    broker.backoff_scale = 0.01
    broker.publish(event())
    assert sleeps == pytest.approx([0.01, 0.02, 0.04])


def test_ttl_stops_a_reply_loop(tmp_path: Path) -> None:
    broker, _ = make(tmp_path, BROKER + trigger("loop", "a", "one"), {"one": reply_with("a")})
    seen: list[Hop] = []
    broker.on_hop = seen.append
    hops = broker.publish(event())
    deliveries = [h for h in hops if h.outcome == Outcome.REPLY]
    assert len(deliveries) == 255
    assert hops[-1].outcome == Outcome.DROPPED and "knativebrokerttl" in hops[-1].reason
    assert seen == hops


def test_ttl_of_an_incoming_event_is_honoured(tmp_path: Path) -> None:
    broker, _ = make(tmp_path, BROKER + trigger("loop", "a", "one"), {"one": reply_with("a")})
    start = CloudEvent({"type": "a", "source": "t", "id": "x", "knativebrokerttl": "3"}, {})
    hops = broker.publish(start)
    assert [h.outcome for h in hops] == [
        Outcome.REPLY,
        Outcome.REPLY,
        Outcome.REPLY,
        Outcome.DROPPED,
    ]


def test_missing_stage_is_undeliverable_with_the_reason(tmp_path: Path) -> None:
    manifests = BROKER + trigger("t1", "a", "one") + trigger("t2", "a", "ghost") + service("one")
    broker, _ = make(
        tmp_path, manifests, {}, missing={"one": "functions/one/main.py has no create_function"}
    )
    one, ghost = broker.publish(event())
    assert (one.outcome, one.reason) == (
        Outcome.UNDELIVERABLE,
        "functions/one/main.py has no create_function",
    )
    assert (
        ghost.outcome == Outcome.UNDELIVERABLE
        and "no Knative Service named 'ghost'" in ghost.reason
    )
    assert not one.failed


def test_stage_that_does_not_answer_counts_as_a_network_error(tmp_path: Path) -> None:
    def crash(request: flask.Request) -> flask.Response:
        raise RuntimeError("boom")

    broker, _ = make(tmp_path, BROKER + trigger("t1", "a", "one"), {"one": crash, "sink": Sink()})
    hop = broker.publish(event())[0]
    assert hop.outcome == Outcome.FAILED and hop.status == 500


def rate_limited_then(ok_after: int, status: int, retry_after: str) -> Stage:
    calls: list[int] = []

    def stage(request: flask.Request) -> flask.Response:
        calls.append(1)
        if len(calls) <= ok_after:
            return flask.Response(status=status, headers={"Retry-After": retry_after})
        return flask.Response(status=202)

    return stage


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_up_to_the_brokers_cap(tmp_path: Path, status: int) -> None:
    # A 70 s rate limit: the backoff alone (1, 2, 4 s) would exhaust the retries.
    stage = rate_limited_then(1, status, "70")
    broker, sleeps = make(tmp_path, BROKER + trigger("t1", "a", "one"), {"one": stage})
    (hop,) = broker.publish(event())
    assert (hop.outcome, hop.attempts) == (Outcome.ACCEPTED, 2)
    assert sleeps == [70.0]


def test_retry_after_is_capped_and_never_shortens_the_backoff(tmp_path: Path) -> None:
    broker, sleeps = make(
        tmp_path,
        BROKER + trigger("t1", "a", "one"),
        {"one": rate_limited_then(3, 503, "1000"), "sink": Sink()},
    )
    broker.retry_after_max = 30.0
    broker.publish(event())
    assert sleeps == [30.0, 30.0, 30.0]
    broker2, sleeps2 = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": rate_limited_then(2, 429, "0")}
    )
    broker2.publish(event())
    assert sleeps2 == [1.0, 2.0]  # the backoff is the floor


def test_the_specs_retry_after_max_wins_and_pt0s_ignores_the_header(tmp_path: Path) -> None:
    capped = "  delivery: {retry: 2, backoffDelay: PT1S, retryAfterMax: PT5S}\n"
    broker, sleeps = make(
        tmp_path,
        BROKER + trigger("t1", "a", "one", capped),
        {"one": rate_limited_then(1, 503, "70")},
    )
    broker.publish(event())
    assert sleeps == [5.0]
    off = "  delivery: {retry: 2, backoffDelay: PT1S, retryAfterMax: PT0S}\n"
    broker2, sleeps2 = make(
        tmp_path, BROKER + trigger("t1", "a", "one", off), {"one": rate_limited_then(1, 503, "70")}
    )
    broker2.publish(event())
    assert sleeps2 == [2.0]


def test_retry_after_only_counts_on_429_and_503_and_may_be_an_http_date(tmp_path: Path) -> None:
    broker, sleeps = make(
        tmp_path, BROKER + trigger("t1", "a", "one"), {"one": rate_limited_then(1, 500, "70")}
    )
    broker.publish(event())
    assert sleeps == [1.0]
    from healer_dev.broker.delivery import retry_after_seconds

    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 01 Jan 2025 12:01:10 GMT", now) == 70.0
    assert retry_after_seconds("soon", now) is None
