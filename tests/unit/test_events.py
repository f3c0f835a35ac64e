from __future__ import annotations

import re

import pytest

from healer.errors import InvalidInput
from healer.events import build_event, event_data, event_id, task_id
from healer.models import FailureDetected
from healer.vocabulary import EXTENSIONS, EventType, Stage


def detected() -> FailureDetected:
    return FailureDetected(
        repository="acme/widgets",
        event="workflow_job",
        run_id=7001,
        job_id=90001,
        head_sha="3f786850e387550fdab836ed7e6dc881de23001b",
    )


def test_ids_are_deterministic_per_upstream_identity_and_stage() -> None:
    assert event_id(Stage.INGEST, "delivery-1") == event_id(Stage.INGEST, "delivery-1")
    assert event_id(Stage.INGEST, "delivery-1") != event_id(Stage.INGEST, "delivery-2")
    assert event_id(Stage.INGEST, "delivery-1") != event_id(Stage.CLASSIFY, "delivery-1")


def test_id_parts_do_not_collide_by_concatenation() -> None:
    assert event_id(Stage.INGEST, "ab", "c") != event_id(Stage.INGEST, "a", "bc")


def test_built_event_carries_the_contract_attributes() -> None:
    ce = build_event(
        EventType.FAILURE_DETECTED,
        Stage.INGEST,
        detected(),
        key=("d-1",),
        repository="acme/widgets",
        run_id=7001,
        attempt=2,
    )
    assert ce["type"] == "dev.healer.failure.detected"
    assert ce["source"] == "healer/ingest"
    assert ce["subject"] == "acme/widgets#7001"
    assert ce["healerrepo"] == "acme/widgets"
    assert ce["healerrun"] == "7001"
    assert ce["healerattempt"] == "2"
    assert event_data(ce)["job_id"] == 90001
    again = build_event(
        EventType.FAILURE_DETECTED,
        Stage.INGEST,
        detected(),
        key=("d-1",),
        repository="acme/widgets",
        run_id=7001,
        attempt=2,
    )
    assert again["id"] == ce["id"]


@pytest.mark.parametrize("name", EXTENSIONS)
def test_extension_names_follow_the_cloudevents_charset(name: str) -> None:
    assert re.fullmatch(r"[a-z0-9]{1,20}", name)


def test_task_id_is_a_readable_slug() -> None:
    assert task_id("Acme/Widgets.rs", 7001) == "acme-widgets-rs-7001"


def test_event_data_rejects_non_objects() -> None:
    from cloudevents.http import CloudEvent

    with pytest.raises(InvalidInput, match="JSON object"):
        event_data(CloudEvent({"type": "t", "source": "s", "id": "x"}, [1, 2]))


def test_parse_data_names_the_model_and_the_first_bad_field() -> None:
    from cloudevents.http import CloudEvent

    from healer.events import parse_data

    event = CloudEvent(
        {"type": "dev.healer.failure.detected", "source": "s", "id": "x"},
        {"repository": "acme/widgets", "event": "workflow_job", "run_id": "seven"},
    )
    with pytest.raises(
        InvalidInput, match=r"not a valid FailureDetected: 2 error\(s\), first at run_id"
    ):
        parse_data(FailureDetected, event)


def test_parse_data_returns_the_model() -> None:
    ce = build_event(
        EventType.FAILURE_DETECTED,
        Stage.INGEST,
        detected(),
        key=("d",),
        repository="acme/widgets",
        run_id=7001,
    )
    from healer.events import parse_data

    assert parse_data(FailureDetected, ce) == detected()


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{}"])
def test_event_data_rejects_a_body_that_is_not_json_as_invalid_input(body: bytes) -> None:
    # A binary-mode event whose body is not UTF-8 JSON is permanent bad input (400), not a
    # crash (500) that the broker would retry ten times.
    from healer.runtime import parse_cloudevent

    headers = {
        "ce-specversion": "1.0",
        "ce-id": "x",
        "ce-source": "s",
        "ce-type": "dev.healer.failure.detected",
        "content-type": "application/json",
    }
    with pytest.raises(InvalidInput, match="not JSON"):
        event_data(parse_cloudevent(headers, body))
