"""Errors split the way a broker cares about: permanent (4xx, dead-lettered) or retryable (5xx).

Every stage raises these; the runtime adapter maps them to HTTP answers.
"""

from __future__ import annotations


class HealerError(Exception):
    """Base of every error Healer raises on purpose."""

    status = 500
    title = "internal error"


class PermanentError(HealerError):
    """The input can never succeed: answer 4xx so the broker does not retry."""

    status = 400
    title = "invalid input"


class InvalidInput(PermanentError):
    """Malformed or unexpected input (bad JSON, missing fields, wrong CloudEvent)."""


class Unauthorized(PermanentError):
    """Missing or wrong webhook signature."""

    status = 401
    title = "unauthorized"


class PayloadTooLarge(PermanentError):
    status = 413
    title = "payload too large"


class UnsupportedMediaType(PermanentError):
    status = 415
    title = "unsupported media type"


class RetryableError(HealerError):
    """Transient trouble (GitHub down, store unreachable): answer 503 so the broker retries."""

    status = 503
    title = "temporarily unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(RetryableError):
    """A state or blob store cannot be reached."""

    title = "store unavailable"


class UpstreamUnavailable(RetryableError):
    """GitHub or another upstream API is down or rate limiting."""

    title = "upstream unavailable"
