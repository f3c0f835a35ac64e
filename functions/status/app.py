"""Routing of the status function: JSON API and dead-letter sink through the runtime adapter,
plus the two text views (dashboard, metrics) it has no reply type for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from healer.errors import InvalidInput
from healer.runtime import Inbound, JSONReply, Reply, error_response, http_function

if TYPE_CHECKING:
    import flask

    from healer.services import Services

API = "/api/status"


class StatusHandler:
    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self, inbound: Inbound) -> Reply:
        from functions.status import deadletters, tasks

        path = inbound.path.rstrip("/") or "/"
        if path == "/dead-letter":
            if inbound.method != "POST":
                raise InvalidInput(
                    f"{inbound.method} /dead-letter: POST the dead-lettered CloudEvent"
                )
            if inbound.event is None:
                raise InvalidInput(
                    "POST /dead-letter expects a CloudEvent (binary or structured mode)"
                )
            deadletters.store(self.services.blobs, inbound.event)
            return None
        if inbound.method != "GET":
            raise InvalidInput(
                f"{inbound.method} {inbound.path} is not supported; status is read-only"
            )
        if path == API:
            records = tasks.list_tasks(self.services.state, limit=tasks.MAX_SCANNED)
            return JSONReply(
                {
                    "tasks": tasks.as_json(records[: tasks.MAX_TASKS]),
                    "counts": tasks.counts(records),
                    "by_failure_type": tasks.counts(records, "failure_type"),
                    "waiting": tasks.waiting_tasks(records),
                    "total": len(records),
                    "dead_letters": len(self.services.blobs.list(deadletters.PREFIX)),
                }
            )
        if path.startswith(API + "/"):
            return JSONReply(tasks.get_task(self.services.state, path[len(API) + 1 :]).stored())
        if path == "/api/dead-letters":
            return JSONReply({"dead_letters": deadletters.listing(self.services.blobs)})
        return JSONReply(
            {
                "type": "about:blank",
                "title": "not found",
                "status": 404,
                "detail": f"no route {path}",
            },
            status=404,
        )


def text_view(services: Services, path: str) -> flask.Response:
    import flask

    from functions.status import deadletters, render, tasks

    records = tasks.list_tasks(services.state, limit=tasks.MAX_SCANNED)
    counts = tasks.counts(records)
    if path == "/metrics":
        count = len(services.blobs.list(deadletters.PREFIX))
        always = {"waiting": 0, **counts}  # a gauge alerts can rely on, zero or not
        text = render.metrics(always, count, tasks.counts(records, "failure_type"))
        return flask.Response(text, mimetype=None, content_type=render.METRICS_CONTENT_TYPE)
    page = render.dashboard(
        [tasks.summary(t) for t in records[: tasks.MAX_TASKS]],
        counts,
        deadletters.listing(services.blobs),
    )
    return flask.Response(page, content_type="text/html; charset=utf-8")


def build(services: Services, *, name: str = "status") -> Callable[[flask.Request], flask.Response]:
    api = http_function(
        StatusHandler(services), name=name, max_body_bytes=services.settings.max_body_bytes
    )

    def function(request: flask.Request) -> flask.Response:
        if request.method == "GET" and request.path in ("/", "/metrics"):
            try:
                return text_view(services, request.path)
            except Exception as exc:
                return error_response(exc, name)
        return api(request)

    function.__name__ = name
    return function
