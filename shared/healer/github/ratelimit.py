"""Reading GitHub's rate-limit answers: how long to wait, or None when it is not a rate limit.

GitHub signals a primary limit with ``x-ratelimit-remaining: 0`` and an epoch
``x-ratelimit-reset``, a secondary limit with a 403/429 that may carry ``retry-after`` and
says "secondary rate limit" in its message. Without a hint, wait at least a minute.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_WAIT_SECONDS = 60.0


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A numeric ``retry-after`` header, if there is one."""
    value = _number(headers.get("retry-after"))
    return None if value is None else max(1.0, value)


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, now: float
) -> float | None:
    """Seconds to wait before retrying if this answer is a rate limit; otherwise None.

    ``headers`` must be case-insensitive or lower-case; ``now`` is epoch seconds.
    """
    if status not in (403, 429):
        return None
    retry_after = retry_after_seconds(headers)
    if retry_after is not None:
        return retry_after
    if headers.get("retry-after") is not None:
        # An HTTP-date retry-after: GitHub sends seconds, so treat an odd value as "a while".
        return DEFAULT_WAIT_SECONDS
    reset = _number(headers.get("x-ratelimit-reset"))
    if headers.get("x-ratelimit-remaining", "").strip() == "0" and reset is not None:
        return max(1.0, reset - now)
    if status == 429 or "rate limit" in message.lower():
        return DEFAULT_WAIT_SECONDS
    return None
