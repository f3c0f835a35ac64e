"""Delivery spec parsing, backoff schedules and which statuses Knative retries."""

from __future__ import annotations

import pytest

from healer_dev.broker.delivery import (
    DEFAULT,
    DeadLetterSink,
    DeliveryError,
    DeliverySpec,
    is_retryable,
    parse_delivery,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0.5S", 0.5),
        ("PT0.2S", 0.2),
        ("PT1M30S", 90.0),
        ("PT2H", 7200.0),
        ("P1D", 86400.0),
        ("PT10S", 10.0),
    ],
)
def test_iso_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0.5", "PT", "P", "PTS", "5 seconds", "PT1.5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DeliveryError):
        parse_duration(text)


def test_exponential_backoff_doubles_from_delay_times_two() -> None:
    spec = DeliverySpec(retry=5, backoff_policy="exponential", backoff_delay=0.5)
    assert [spec.delay_before_retry(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert spec.attempts == 6


def test_linear_backoff_grows_by_delay() -> None:
    spec = DeliverySpec(retry=3, backoff_policy="linear", backoff_delay=0.2)
    assert [spec.delay_before_retry(n) for n in range(1, 4)] == pytest.approx([0.2, 0.4, 0.6])


@pytest.mark.parametrize("status", [None, 500, 502, 503, 504, 404, 408, 409, 429])
def test_retried_statuses(status: int | None) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 405, 413, 415, 422, 301])
def test_final_statuses(status: int) -> None:
    assert not is_retryable(status)


def test_default_broker_delivery_is_knatives() -> None:
    assert (DEFAULT.retry, DEFAULT.backoff_policy, DEFAULT.backoff_delay) == (
        10,
        "exponential",
        0.2,
    )


def test_parse_full_delivery_with_service_sink() -> None:
    spec = parse_delivery(
        {
            "retry": 5,
            "backoffPolicy": "linear",
            "backoffDelay": "PT0.5S",
            "deadLetterSink": {"ref": {"kind": "Service", "name": "status"}, "uri": "/dead-letter"},
        },
        "broker",
    )
    assert spec == DeliverySpec(
        5, "linear", 0.5, DeadLetterSink(service="status", path="/dead-letter")
    )


def test_absent_fields_mean_no_retries_and_no_sink() -> None:
    assert parse_delivery({}, "t") == DeliverySpec(retry=0, dead_letter=None)
    assert parse_delivery(None, "t") is None


@pytest.mark.parametrize(
    "raw",
    [{"retry": -1}, {"retry": "3"}, {"backoffPolicy": "random"}, {"deadLetterSink": {}}, "x"],
)
def test_invalid_delivery_specs(raw: object) -> None:
    with pytest.raises(DeliveryError):
        parse_delivery(raw, "t")
