"""Posting to a Discord incoming webhook.

The webhook URL carries its token, so it never appears in an error, a log line or an event.
429 is Discord asking us to wait ``retry_after`` seconds (JSON body, or the ``Retry-After``
header): a short wait is taken here once, a longer one goes back to the broker as a 429. 5xx,
timeouts and connection errors are retryable; any other 4xx means the webhook or the message is
wrong, and retrying cannot help.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from healer.errors import PermanentError, RetryableError
from healer.tls import http_client

if TYPE_CHECKING:
    import httpx

WAIT_IN_PROCESS = 2.0  # seconds of Discord rate limit waited out here rather than by the broker
_PREFIXES = (
    "https://discord.com/api/webhooks/",
    "https://discordapp.com/api/webhooks/",
    "https://ptb.discord.com/api/webhooks/",
    "https://canary.discord.com/api/webhooks/",
)


class DiscordUnavailable(RetryableError):
    title = "Discord unavailable"


class DiscordRateLimited(DiscordUnavailable):
    status = 429
    title = "rate limited by Discord"


class DiscordRejected(PermanentError):
    status = 422
    title = "Discord refused the message"


def valid_url(url: str) -> bool:
    return url.startswith(_PREFIXES)


def _retry_after(response: httpx.Response) -> float:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        value = body.get("retry_after")
        if isinstance(value, int | float) and value >= 0:
            return float(value)
    header = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(header))
    except ValueError:
        return 1.0


class DiscordWebhook:
    """One webhook; ``post`` returns the created message's id (``wait=true``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not valid_url(url):
            raise DiscordRejected("the Discord webhook URL is not a discord.com webhook URL")

        self._url = url
        self._sleep = sleep
        self._http = http_client(timeout=timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def post(self, payload: Mapping[str, Any]) -> str:
        waited = False
        while True:
            response = self._send(payload)
            if response.status_code == 429:
                delay = _retry_after(response)
                if not waited and delay <= WAIT_IN_PROCESS:
                    waited = True
                    self._sleep(delay)
                    continue
                raise DiscordRateLimited(
                    f"Discord asked to wait {delay:.1f}s", retry_after=max(delay, 1.0)
                )
            if response.status_code >= 500:
                raise DiscordUnavailable(f"Discord answered {response.status_code}")
            if response.status_code >= 400:
                raise DiscordRejected(
                    f"Discord refused the message ({response.status_code}): {_why(response)}"
                )
            return _message_id(response)

    def _send(self, payload: Mapping[str, Any]) -> httpx.Response:
        import httpx

        try:
            return self._http.post(
                self._url,
                params={"wait": "true"},
                content=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise DiscordUnavailable(f"Discord timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise DiscordUnavailable(f"Discord unreachable ({type(exc).__name__})") from None


def _why(response: httpx.Response) -> str:
    """Discord's own message (``code``/``message``), never the URL we posted to."""
    try:
        body = response.json()
    except ValueError:
        return "no details"
    if isinstance(body, Mapping):
        return str(body.get("message") or body.get("code") or "no details")[:200]
    return "no details"


def _message_id(response: httpx.Response) -> str:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        return ""
    return str(body.get("id", "")) if isinstance(body, Mapping) else ""
