"""Typed access to what a stage answered, for assertions on events."""

from __future__ import annotations

from typing import Any

from cloudevents.http import CloudEvent


def emitted(result: object) -> CloudEvent:
    """The event a stage answered; fails the test when it skipped instead."""
    assert isinstance(result, CloudEvent), f"expected an event, got {result!r}"
    return result


def data_of(event: object) -> dict[str, Any]:
    """An event's JSON object payload; fails the test for a skip or a non-object payload."""
    data = emitted(event).get_data()
    assert isinstance(data, dict), f"expected an object payload, got {data!r}"
    return data
