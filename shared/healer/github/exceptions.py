"""GitHub errors, split the way the broker cares: retryable outages versus permanent answers.

``status`` is what Healer answers the broker with (see :mod:`healer.runtime`); ``status_code``
is what GitHub answered, when it answered at all. A 404 from GitHub is permanent for Healer, so
it maps to 422: the broker retries 404s, and retrying cannot bring a deleted branch back.
"""

from __future__ import annotations

from healer.errors import HealerError, UpstreamUnavailable


class GitHubError(HealerError):
    """GitHub refused the request (4xx) or answered something unusable."""

    status = 502
    title = "GitHub error"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        if status_code is not None and 400 <= status_code < 500:
            self.status = 422


class NotFound(GitHubError):
    """The resource does not exist (or the credentials cannot see it): permanent."""

    status = 422
    title = "not found on GitHub"


class LogUnavailable(GitHubError):
    """The job's log has expired or was never kept (404/410 on the logs endpoint)."""

    status = 422
    title = "job log unavailable"


class GitHubUnavailable(UpstreamUnavailable):
    """GitHub is down, slow or unreachable (5xx, timeouts, connection errors): retry later."""

    title = "GitHub unavailable"

    def __init__(
        self, message: str, *, retry_after: float | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code


class RateLimited(GitHubUnavailable):
    """GitHub asked us to slow down; ``retry_after`` says for how long (seconds)."""

    status = 429
    title = "rate limited by GitHub"
