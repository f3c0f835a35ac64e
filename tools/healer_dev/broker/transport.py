"""How the local broker reaches a Knative Service: in-process over WSGI, or over HTTP.

Both speak HTTP through httpx, so a stage sees the same request either way and the broker
needs no special case for replay versus ``healer dev``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    import httpx


@dataclass(frozen=True)
class Answer:
    """A subscriber's answer; ``status`` None means no answer at all (connection error)."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    error: str = ""


class Sender(Protocol):
    def has(self, service: str) -> bool: ...

    def url(self, service: str, path: str) -> str: ...

    def send(self, service: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer: ...


class HTTPXSender:
    """One httpx client per Service; ``urls`` name each destination (dead letters cite them)."""

    def __init__(self, clients: Mapping[str, httpx.Client], urls: Mapping[str, str]) -> None:
        self._clients = dict(clients)
        self._urls = dict(urls)

    def has(self, service: str) -> bool:
        return service in self._clients

    def url(self, service: str, path: str) -> str:
        return self._urls.get(service, f"http://{service}").rstrip("/") + path

    def send(self, service: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        import httpx

        try:
            response = self._clients[service].post(path, headers=dict(headers), content=body)
        except httpx.HTTPError as exc:
            return Answer(None, error=f"{type(exc).__name__}: {exc}")
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    @classmethod
    def wsgi(cls, apps: Mapping[str, WSGIApplication], namespace: str = "default") -> HTTPXSender:
        """In-process: each app behind httpx's WSGI transport, named by its in-cluster URL."""
        import httpx

        urls = {name: f"http://{name}.{namespace}.svc.cluster.local" for name in apps}
        clients = {
            name: httpx.Client(transport=httpx.WSGITransport(app=app), base_url=urls[name])
            for name, app in apps.items()
        }
        return cls(clients, urls)

    @classmethod
    def http(cls, urls: Mapping[str, str], timeout: float = 300.0) -> HTTPXSender:
        """Over the network: ``urls`` maps each Service to its base URL."""
        import httpx

        clients = {name: httpx.Client(base_url=url, timeout=timeout) for name, url in urls.items()}
        return cls(clients, urls)
