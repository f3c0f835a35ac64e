"""Knative's delivery spec: how often and how patiently a failed delivery is retried.

``retry`` is the number of retries after the first attempt. Before retry ``n`` (1-based) the
sender waits ``backoffDelay × 2^n`` (exponential) or ``backoffDelay × n`` (linear). 2xx is
success; 5xx, 404, 408, 409 and 429 (and network errors) are retried; every other status is
final. What is still failing at the end goes to the dead-letter sink, if one is configured.

``retryAfterMax`` (Knative's ``delivery-retryafter`` feature) makes a 429 or 503 answer's
``Retry-After`` count: the wait before the next retry is the larger of the backoff and the
``Retry-After`` value capped at ``retryAfterMax``; ``PT0S`` turns it off. It never adds retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

BackoffPolicy = Literal["exponential", "linear"]

RETRYABLE_4XX = frozenset({404, 408, 409, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class DeliveryError(ValueError):
    """A delivery spec that Knative would reject."""


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as ``PT0.5S`` or ``PT1M30S``."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise DeliveryError(f"duration {text!r} is not ISO-8601 (e.g. PT0.2S, PT1M)")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return (
        parts.get("days", 0.0) * 86400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header's wait: delay-seconds or an HTTP date; None when malformed."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_success(status: int) -> bool:
    return 200 <= status < 300


def is_retryable(status: int | None) -> bool:
    """``None`` stands for a network error (no answer at all), which is retried."""
    return status is None or status >= 500 or status in RETRYABLE_4XX


@dataclass(frozen=True)
class DeadLetterSink:
    """Where exhausted deliveries go: a Knative Service by name plus a path, or a URI."""

    service: str = ""
    path: str = "/"
    uri: str = ""


@dataclass(frozen=True)
class DeliverySpec:
    retry: int = 10
    backoff_policy: BackoffPolicy = "exponential"
    backoff_delay: float = 0.2
    dead_letter: DeadLetterSink | None = None
    retry_after_max: float | None = None  # seconds; None: the spec does not set retryAfterMax

    def delay_before_retry(self, n: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``n`` (1-based); ``retry_after`` is what a 429
        or 503 answer asked for, honoured up to ``retry_after_max``."""
        if self.backoff_policy == "linear":
            backoff = self.backoff_delay * n
        else:
            backoff = float(self.backoff_delay * 2.0**n)
        if retry_after is None or not self.retry_after_max:
            return backoff
        return max(backoff, min(retry_after, self.retry_after_max))

    @property
    def attempts(self) -> int:
        return self.retry + 1


DEFAULT = DeliverySpec()
"""The broker's default when a Broker sets no delivery: retry 10, exponential, PT0.2S."""


def parse_sink(raw: Any, where: str) -> DeadLetterSink:
    if not isinstance(raw, Mapping):
        raise DeliveryError(f"{where}: deadLetterSink must be a mapping with ref and/or uri")
    ref = raw.get("ref") or {}
    uri = str(raw.get("uri") or "")
    if ref:
        if not isinstance(ref, Mapping) or not ref.get("name"):
            raise DeliveryError(f"{where}: deadLetterSink.ref needs a name")
        path = uri if uri.startswith("/") else "/" + uri if uri else "/"
        return DeadLetterSink(service=str(ref["name"]), path=path)
    if not uri:
        raise DeliveryError(f"{where}: deadLetterSink needs a ref or a uri")
    return DeadLetterSink(uri=uri)


def parse_delivery(raw: Any, where: str) -> DeliverySpec | None:
    """A ``spec.delivery`` mapping, or None when absent.

    As in Knative, a delivery spec replaces the one above it whole (a Trigger's replaces its
    Broker's); a field it leaves out means no retries, exponential policy, no sink.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise DeliveryError(f"{where}: delivery must be a mapping")
    retry = raw.get("retry", 0)
    if not isinstance(retry, int) or isinstance(retry, bool) or retry < 0:
        raise DeliveryError(
            f"{where}: delivery.retry must be a non-negative integer, got {retry!r}"
        )
    policy = raw.get("backoffPolicy", "exponential")
    if policy not in ("exponential", "linear"):
        raise DeliveryError(
            f"{where}: delivery.backoffPolicy must be exponential or linear, got {policy!r}"
        )
    delay = (
        parse_duration(str(raw["backoffDelay"])) if "backoffDelay" in raw else DEFAULT.backoff_delay
    )
    sink = None
    if raw.get("deadLetterSink") is not None:
        sink = parse_sink(raw["deadLetterSink"], where)
    retry_after_max = parse_duration(str(raw["retryAfterMax"])) if "retryAfterMax" in raw else None
    return DeliverySpec(
        retry=retry,
        backoff_policy=policy,
        backoff_delay=delay,
        dead_letter=sink,
        retry_after_max=retry_after_max,
    )
