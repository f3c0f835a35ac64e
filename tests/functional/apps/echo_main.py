"""A tiny function used to test the runtime adapter through real functions-framework."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from healer.errors import InvalidInput, RetryableError
from healer.runtime import Reply, Skip, cloudevent_function


def handle(event: CloudEvent) -> Reply:
    kind = event["type"]
    if kind == "test.skip":
        return Skip("nothing to do for test.skip")
    if kind == "test.none":
        return None
    if kind == "test.invalid":
        raise InvalidInput("field 'x' must be an integer")
    if kind == "test.retry":
        raise RetryableError("upstream busy", retry_after=7.2)
    if kind == "test.bug":
        raise ZeroDivisionError("boom")
    return CloudEvent(
        {"type": "test.reply", "source": "healer/test", "id": f"reply-{event['id']}"},
        {"echo": event.get_data()},
    )


echo = functions_framework.http(cloudevent_function(handle, name="echo", max_body_bytes=2048))
