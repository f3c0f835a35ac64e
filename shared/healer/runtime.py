"""The adapter between functions-framework's ``http`` signature and Healer's pure handlers.

Knative's broker reads only the status and the body: an empty 2xx means "handled, nothing to
emit", a CloudEvent in a 2xx is a reply that re-enters the broker, 4xx (not 404/408/409/429)
is permanent and 5xx is retried. functions-framework's ``cloud_event`` signature always writes
``OK``, which the broker rejects, so every function is registered with ``http`` and this module
decides the answer.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from healer import __version__
from healer.errors import HealerError, InvalidInput, PayloadTooLarge, RetryableError
from healer.readiness import Readiness
from healer.wire import (
    check_attributes,
    check_nesting,
    check_text,
    header_safe,
    is_header_safe,
)

if TYPE_CHECKING:
    import flask

log = logging.getLogger("healer.runtime")

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
PROBLEM = "application/problem+json"
MAX_DETAIL = 1000
REASON_HEADER = "X-Healer-Reason"
READINESS_PATH = "/health/readiness"
HEALTH_PATHS = ("/health", "/health/liveness", READINESS_PATH)


@dataclass(frozen=True)
class Skip:
    """Handled, nothing to emit; ``reason`` goes back in a header and the log."""

    reason: str


@dataclass(frozen=True)
class JSONReply:
    """A plain JSON answer, for the non-CloudEvent paths (seed API, status)."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


Reply = CloudEvent | Skip | JSONReply | None


@dataclass(frozen=True)
class Inbound:
    """One HTTP request as a handler sees it: raw bytes kept for signature checks."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    event: CloudEvent | None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def is_cloudevent(headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type", "")
    return "ce-specversion" in headers or content_type.startswith((STRUCTURED, BATCH))


def parse_cloudevent(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    """Binary or structured CloudEvent 1.0, or ``InvalidInput`` saying what is wrong."""
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    if headers.get("content-type", "").startswith(BATCH):
        raise InvalidInput("batched CloudEvents are not supported; send one event per request")
    try:
        event = from_http(dict(headers), body)
    except GenericException as exc:
        raise InvalidInput(f"not a valid CloudEvent: {exc}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        # The SDK raises AttributeError for a structured body that is JSON but not an object.
        raise InvalidInput(f"not a valid CloudEvent: {exc}") from exc
    check_attributes(event.get_attributes())
    if event["specversion"] != "1.0":
        raise InvalidInput(f"specversion {event['specversion']!r} is not supported; expected '1.0'")
    check_text(event.get_data())
    return event


def problem(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> flask.Response:
    import flask

    detail = detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…"
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response = flask.Response(body, status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = header_safe(value)
    return response


def read_body(request: flask.Request, limit: int) -> bytes:
    """At most ``limit`` bytes (413 beyond), whether the length is declared or chunked; a body
    that cannot be read (a malformed chunk, a short read) is 400."""
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"body of {length} bytes exceeds the limit of {limit} bytes")
    try:
        body = request.stream.read(limit + 1)
    except (OSError, ValueError) as exc:  # werkzeug: "Invalid chunk header", ClientDisconnected
        raise InvalidInput(f"the request body could not be read: {exc}") from exc
    if len(body) > limit:
        raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
    return body


def render(reply: Reply) -> flask.Response:
    """Turn a handler's reply into the HTTP answer the broker expects."""
    import flask
    from cloudevents.conversion import to_binary, to_structured

    if reply is None:
        return flask.Response(status=202)
    if isinstance(reply, Skip):
        response = flask.Response(status=202)
        response.headers[REASON_HEADER] = header_safe(reply.reason)
        return response
    if isinstance(reply, JSONReply):
        response = flask.Response(
            json.dumps(reply.body), status=reply.status, mimetype="application/json"
        )
        for name, value in reply.headers.items():
            response.headers[name] = header_safe(value)
        return response
    if all(is_header_safe(value) for value in reply.get_attributes().values()):
        headers, body = to_binary(reply)
    else:  # an attribute no header can carry as is: the JSON body carries it escaped
        headers, body = to_structured(reply)
    return flask.Response(body, status=200, headers=dict(headers))


def health(name: str) -> flask.Response:
    import flask

    body = json.dumps({"status": "healthy", "version": __version__, "function": name})
    return flask.Response(body, status=200, mimetype="application/json")


def readiness_response(name: str, readiness: Readiness) -> flask.Response:
    """200 like liveness when ready; 503 with the reason (as a problem) when not."""
    reason = readiness.reason()
    if reason is None:
        return health(name)
    return problem(503, "not ready", reason)


def error_response(exc: Exception, name: str) -> flask.Response:
    if isinstance(exc, RetryableError):
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        log.warning("%s: retryable: %s", name, exc)
        return problem(exc.status, exc.title, str(exc), headers)
    if isinstance(exc, HealerError):
        log.info("%s: rejected (%d): %s", name, exc.status, exc)
        return problem(exc.status, exc.title, str(exc))
    log.exception("%s: unhandled error", name)
    return problem(500, "internal error", f"{type(exc).__name__} while handling the request")


def http_function(
    handler: Callable[[Inbound], Reply], *, name: str, max_body_bytes: int = 1024 * 1024
) -> Callable[[flask.Request], flask.Response]:
    """Wrap a handler that sees every request (CloudEvent or not), e.g. ingest's webhooks."""

    def function(request: flask.Request) -> flask.Response:
        if request.method == "GET" and request.path in HEALTH_PATHS:
            return health(name)
        try:
            body = read_body(request, max_body_bytes)
            check_nesting(body)
            headers = {k.lower(): v for k, v in request.headers.items()}
            event = parse_cloudevent(headers, body) if is_cloudevent(headers) else None
            inbound = Inbound(request.method, request.path, headers, body, event)
            reply = handler(inbound)
        except RecursionError:  # nesting inside an encoded field (base64, form value)
            return error_response(InvalidInput("the input nests too deeply"), name)
        except Exception as exc:
            return error_response(exc, name)
        _log_reply(name, inbound, reply)
        return render(reply)

    function.__name__ = name.replace("-", "_")
    return function


def cloudevent_function(
    handler: Callable[[CloudEvent], Reply], *, name: str, max_body_bytes: int = 1024 * 1024
) -> Callable[[flask.Request], flask.Response]:
    """Wrap a pure ``(event) -> reply`` handler; anything but a POSTed CloudEvent is a 4xx."""

    def on_request(inbound: Inbound) -> Reply:
        if inbound.method != "POST":
            raise InvalidInput(f"{inbound.method} is not supported; POST a CloudEvent")
        if inbound.event is None:
            raise InvalidInput(
                "expected a CloudEvent: binary mode (ce-* headers) or structured mode "
                f"(Content-Type: {STRUCTURED})"
            )
        return handler(inbound.event)

    return http_function(on_request, name=name, max_body_bytes=max_body_bytes)


def _log_reply(name: str, inbound: Inbound, reply: Reply) -> None:
    event = inbound.event
    ident = (
        f"{event['type']} {event['id']}"
        if event is not None
        else f"{inbound.method} {inbound.path}"
    )
    if isinstance(reply, CloudEvent):
        log.info("%s: %s -> %s %s", name, ident, reply["type"], reply["id"])
    elif isinstance(reply, Skip):
        log.info("%s: %s -> skipped: %s", name, ident, reply.reason)
    else:
        log.info("%s: %s -> handled", name, ident)


def lazy_function(
    name: str,
    create: Callable[[], Callable[[flask.Request], flask.Response]],
    *,
    readiness: Readiness | None = None,
) -> Callable[[flask.Request], flask.Response]:
    """A functions-framework target named ``name`` that builds its handler on the first request
    (once, under a lock), so importing a function's ``main.py`` stays cheap at cold start.

    The probes are answered here, without building the handler: liveness at once, readiness
    from ``readiness`` (default: the instance's settings and state store)."""
    built: list[Callable[[flask.Request], flask.Response]] = []
    lock = threading.Lock()
    probe = readiness or Readiness()

    def target(request: flask.Request) -> flask.Response:
        if request.method == "GET" and request.path in HEALTH_PATHS:
            if request.path == READINESS_PATH:
                return readiness_response(name, probe)
            return health(name)
        if not built:
            with lock:
                if not built:
                    built.append(create())
        return built[0](request)

    target.__name__ = name
    target.__qualname__ = name
    return target
