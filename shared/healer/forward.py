"""Forwarding an event to the broker, for callers that are not the broker (the seed API paths).

The broker's own deliveries get the event as their reply. A plain HTTP client of
``/api/remediate/*`` cannot carry a reply on, so when ``broker_url`` is set ingest POSTs the event
there itself (binary mode) and answers the client in the seed's JSON shape; completion-check's
sweep sends the waiting work it releases beyond the one event its reply carries the same way.
httpx is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from healer.errors import UpstreamUnavailable
from healer.tls import http_client

if TYPE_CHECKING:
    import httpx
    from cloudevents.http import CloudEvent

Emit = Callable[["CloudEvent"], None]


class BrokerEmitter:
    """POSTs each event to a broker ingress; any failure is retryable for the caller."""

    def __init__(
        self, url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.transport = transport

    def __call__(self, event: CloudEvent) -> None:
        import httpx
        from cloudevents.conversion import to_binary

        headers, body = to_binary(event)
        try:
            with http_client(timeout=self.timeout, transport=self.transport) as client:
                response = client.post(self.url, headers=dict(headers), content=body)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"broker {self.url} unreachable: {exc}") from exc
        if response.status_code >= 300:
            retry_after = response.headers.get("retry-after", "")
            raise UpstreamUnavailable(
                f"broker {self.url} answered {response.status_code} for event {event['id']}",
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
