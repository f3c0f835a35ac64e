"""The HTTP half of the GitHub client: credentials, timeouts, retries, errors, pagination.

Idempotent GETs retry a few times on 5xx, timeouts and connection errors, then raise
``GitHubUnavailable``; writes are sent once. Rate limits are never slept through: they surface
as ``RateLimited`` with the wait GitHub asked for, so the broker redelivers later instead of a
function holding its request open. Credentials go only to the API host, never to the short-
lived URL a job log redirects to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from healer import __version__
from healer.github.auth import Auth
from healer.github.exceptions import (
    GitHubError,
    GitHubUnavailable,
    LogUnavailable,
    NotFound,
    RateLimited,
)
from healer.github.pagination import MAX_PAGES, PER_PAGE, next_link
from healer.github.ratelimit import rate_limit_wait, retry_after_seconds
from healer.tls import http_client

log = logging.getLogger("healer.github")

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = f"healer/{__version__}"
OUTAGE_RETRY_AFTER = 30.0
LOG_CHUNK_SIZE = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


def _message(response: httpx.Response) -> str:
    """GitHub's error message, short, for errors and logs (never contains credentials)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return ""


class GitHubSession:
    """Sends API requests the way GitHub wants them; thread-safe (httpx.Client and auth are)."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_URL,
        auth: Auth,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        backoff: float = 0.5,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.auth = auth
        self.max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._backoff = backoff
        self._user_agent = user_agent
        if isinstance(timeout, httpx.Timeout):
            self._timeout = timeout
        else:
            self._timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._http = http_client(
            base_url=base_url.rstrip("/"),
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": user_agent,
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _exchange(self, path: str, app_jwt: str) -> Mapping[str, Any]:
        """Trade the App's JWT for an installation token (a POST: sent once)."""
        response = self._send(
            "POST", path, headers={"Authorization": f"Bearer {app_jwt}"}, idempotent=False
        )
        if response.status_code >= 400:
            raise self._failure("POST", response)
        return self._object(response)

    def _check_host(self, url: str) -> None:
        target = httpx.URL(url)
        if target.is_absolute_url and target.host != self._http.base_url.host:
            raise GitHubError(f"refusing to send API credentials to {target.host}")

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        follow: bool = True,
    ) -> httpx.Response:
        """An authenticated API call; a 401 refreshes the credential once."""
        self._check_host(url)
        reauthorized = False
        redirects = 0
        while True:
            headers = {}
            authorization = self.auth.authorization(self._exchange)
            if authorization:
                headers["Authorization"] = authorization
            response = self._send(
                method, url, params=params, json=json, headers=headers, idempotent=method == "GET"
            )
            if response.status_code == 401 and not reauthorized:
                reauthorized = True
                self.auth.invalidate()
                continue
            if follow and response.status_code in REDIRECTS and redirects < 3:
                # A renamed or transferred repository answers with a redirect on the API host.
                redirects += 1
                url = str(response.url.join(response.headers.get("location", "")))
                self._check_host(url)
                params = None
                continue
            if response.status_code >= 400:
                raise self._failure(method, response)
            return response

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send once, or up to ``max_retries`` more times for GETs on 5xx/timeouts/network."""
        attempts = 1 + (self.max_retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            request = self._http.build_request(
                method, url, params=params, json=json, headers=headers
            )
            path = request.url.path
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                reason = (
                    "timed out" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
                )
                failure = GitHubUnavailable(
                    f"{method} {path}: {reason}", retry_after=OUTAGE_RETRY_AFTER
                )
                failure.__cause__ = exc
            else:
                log.debug("%s %s -> %d", method, path, response.status_code)
                if response.status_code < 500:
                    return response
                failure = self._outage(method, response)
            if attempt < attempts:
                log.info("%s (retry %d of %d)", failure, attempt, attempts - 1)
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise failure

    def _outage(self, method: str, response: httpx.Response) -> GitHubUnavailable:
        return GitHubUnavailable(
            f"{method} {response.url.path}: GitHub answered {response.status_code}",
            retry_after=retry_after_seconds(response.headers) or OUTAGE_RETRY_AFTER,
            status_code=response.status_code,
        )

    def _failure(self, method: str, response: httpx.Response) -> GitHubError | GitHubUnavailable:
        status = response.status_code
        message = _message(response)
        where = f"{method} {response.url.path}"
        wait = rate_limit_wait(status, response.headers, message, self._clock())
        if wait is not None:
            log.warning("%s: rate limited; retry after %.0f s", where, wait)
            return RateLimited(
                f"{where}: rate limited ({message or status})", retry_after=wait, status_code=status
            )
        if status >= 500:
            return self._outage(method, response)
        if status in (404, 410):
            return NotFound(f"{where}: not found ({status})", status_code=status)
        return GitHubError(f"{where}: GitHub answered {status}: {message}", status_code=status)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise GitHubError(
                f"{response.request.method} {response.url.path}: answer is not JSON"
            ) from exc

    def _object(self, response: httpx.Response) -> dict[str, Any]:
        data = self._json(response)
        if not isinstance(data, dict):
            raise GitHubError(f"{response.url.path}: expected a JSON object")
        return data

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return self._object(self._call("GET", path, params=params))

    def _paginate(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        key: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every item across pages (following ``Link: rel="next"``), up to ``limit``."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        query: Mapping[str, str | int] | None = {"per_page": PER_PAGE, **(params or {})}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self._call("GET", url, params=query)
            data = self._json(response)
            page = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(page, list):
                raise GitHubError(f"{response.url.path}: expected a list of items")
            items.extend(item for item in page if isinstance(item, dict))
            if limit is not None and len(items) >= limit:
                return items[:limit]
            url, query = next_link(response.headers.get("link")), None
        return items

    def _download(self, url: str, chunk_size: int) -> Iterator[bytes]:
        attempts = 1 + self.max_retries
        host = httpx.URL(url).host
        for attempt in range(1, attempts + 1):
            # A bare request: no API headers, above all no Authorization.
            request = httpx.Request(
                "GET",
                url,
                headers={"User-Agent": self._user_agent},
                extensions={"timeout": self._timeout.as_dict()},
            )
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                failure = GitHubUnavailable(
                    f"log download from {host}: {type(exc).__name__}",
                    retry_after=OUTAGE_RETRY_AFTER,
                )
                failure.__cause__ = exc
            else:
                if response.status_code == 200:
                    return self._body(response, chunk_size)
                response.close()
                if response.status_code < 500:
                    raise LogUnavailable(
                        f"log download from {host} answered {response.status_code}",
                        status_code=response.status_code,
                    )
                failure = GitHubUnavailable(
                    f"log download from {host} answered {response.status_code}",
                    retry_after=OUTAGE_RETRY_AFTER,
                    status_code=response.status_code,
                )
            if attempt < attempts:
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise failure

    @staticmethod
    def _body(response: httpx.Response, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise GitHubUnavailable(
                f"log download interrupted: {type(exc).__name__}", retry_after=OUTAGE_RETRY_AFTER
            ) from exc
        finally:
            response.close()
