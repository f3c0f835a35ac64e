"""The broker's HTTP ingress for ``healer dev``: POST a CloudEvent, or a GitHub webhook as is.

A CloudEvent (binary or structured) is published as the real broker ingress would; a plain
webhook (``X-GitHub-Event`` header, no ``ce-*``) is first wrapped the way Argo Events' Sensor
does, so ``curl`` can post a recorded payload straight in. The answer is 202 with the hops.
Bad input is answered as every function answers it (4xx with a problem body): a body over
``max_body_bytes`` is 413, an unreadable one (a malformed chunk) 400.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from healer.errors import HealerError, InvalidInput
from healer.runtime import is_cloudevent, parse_cloudevent, problem, read_body
from healer.wire import check_nesting
from healer_dev.broker import report
from healer_dev.broker.replay import to_cloudevent, webhook_delivery

if TYPE_CHECKING:
    import flask
    from cloudevents.http import CloudEvent

    from healer_dev.broker.local import LocalBroker

RECENT = 500


def inbound_event(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    """``headers`` with lower-case names."""
    check_nesting(body)
    if is_cloudevent(headers):
        return parse_cloudevent(headers, body)
    if "x-github-event" in headers:
        return to_cloudevent(webhook_delivery(headers, body))
    raise InvalidInput(
        "POST a CloudEvent (ce-* headers or application/cloudevents+json), "
        "or a GitHub webhook (X-GitHub-Event and X-GitHub-Delivery headers)"
    )


def ingress_app(
    broker: LocalBroker, info: Mapping[str, Any], *, max_body_bytes: int = 1024 * 1024
) -> flask.Flask:
    import flask

    app = flask.Flask("healer-broker-ingress")
    recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
    broker_path = f"/{broker.topology.namespace}/{broker.broker}"

    def publish() -> flask.Response:
        if flask.request.method != "POST":
            return problem(405, "method not allowed", "the broker ingress accepts POST only")
        headers = {k.lower(): v for k, v in flask.request.headers.items()}
        try:
            event = inbound_event(headers, read_body(flask.request, max_body_bytes))
        except HealerError as exc:
            return problem(exc.status, exc.title, str(exc))
        except RecursionError:  # nesting inside an encoded field (base64, form value)
            return problem(400, "invalid input", "the input nests too deeply")
        records = [report.record(h) for h in broker.publish(event)]
        recent.extend(records)
        body = json.dumps({"id": event["id"], "type": event["type"], "hops": records})
        return flask.Response(body, status=202, mimetype="application/json")

    def index() -> flask.Response:
        if flask.request.method == "POST":
            return publish()
        return flask.Response(
            json.dumps({"broker": broker_path, **info}), mimetype="application/json"
        )

    def hops() -> flask.Response:
        return flask.Response(json.dumps({"hops": list(recent)}), mimetype="application/json")

    app.add_url_rule("/", "index", index, methods=["GET", "POST"])
    app.add_url_rule(broker_path, "publish", publish, methods=["GET", "POST", "PUT", "DELETE"])
    app.add_url_rule("/hops", "hops", hops, methods=["GET"])
    return app
