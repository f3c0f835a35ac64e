"""The GitHub REST client every stage uses: sync httpx, timeouts, bounded retries, rate limits.

Idempotent GETs retry a few times on 5xx, timeouts and connection errors, then raise
``GitHubUnavailable``; writes are sent once. Rate limits are never slept through: they surface
as ``RateLimited`` with the wait GitHub asked for, so the broker redelivers later instead of a
function holding its request open. Credentials go only to the API host, never to the short-
lived URL a job log redirects to.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from healer import __version__
from healer.errors import InvalidInput
from healer.github.auth import AnonymousAuth, AppAuth, Auth, TokenAuth
from healer.github.exceptions import (
    GitHubError,
    GitHubUnavailable,
    LogUnavailable,
    NotFound,
    RateLimited,
)
from healer.github.pagination import MAX_PAGES, PER_PAGE, next_link
from healer.github.ratelimit import rate_limit_wait, retry_after_seconds

if TYPE_CHECKING:
    from healer.settings import Settings

log = logging.getLogger("healer.github")

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = f"healer/{__version__}"
OUTAGE_RETRY_AFTER = 30.0
LOG_CHUNK_SIZE = 64 * 1024
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REDIRECTS = (301, 302, 303, 307, 308)


def _repo(repository: str) -> str:
    if not _REPO.match(repository):
        raise InvalidInput(f"repository {repository!r} is not of the form 'owner/name'")
    return repository


def _message(response: httpx.Response) -> str:
    """GitHub's error message, short, for errors and logs (never contains credentials)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return ""


class GitHubClient:
    """One instance per function instance; thread-safe (httpx.Client and the auth are)."""

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
        self._http = httpx.Client(
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

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubClient:
        """Recorded responses if configured, else App auth, else a token, else anonymous."""
        transport: httpx.BaseTransport | None = None
        auth: Auth
        if settings.github_recorded_dir:
            from healer.github.recorded import RecordedTransport

            transport = RecordedTransport(settings.github_recorded_dir)
            auth = AnonymousAuth()
        elif settings.github_app_id and settings.github_installation_id and settings.private_key():
            auth = AppAuth(
                settings.github_app_id, settings.private_key(), settings.github_installation_id
            )
        elif settings.github_token:
            auth = TokenAuth(settings.github_token)
        else:
            auth = AnonymousAuth()
        return cls(
            base_url=settings.github_api_url,
            auth=auth,
            timeout=settings.github_timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
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
            if follow and response.status_code in _REDIRECTS and redirects < 3:
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

    # -- job logs --------------------------------------------------------------------------

    def stream_job_log(
        self, repo: str, job_id: int | str, *, chunk_size: int = LOG_CHUNK_SIZE
    ) -> Iterator[bytes]:
        """The job's plain-text log in chunks. The API answers 302 to a URL valid for about a
        minute: it is fetched at once, without the API credentials."""
        path = f"/repos/{_repo(repo)}/actions/jobs/{job_id}/logs"
        try:
            response = self._call("GET", path, follow=False)
        except NotFound as exc:
            raise LogUnavailable(
                f"log of job {job_id} in {repo} is gone ({exc.status_code})",
                status_code=exc.status_code,
            ) from exc
        if response.status_code in _REDIRECTS and "location" in response.headers:
            return self._download(str(response.url.join(response.headers["location"])), chunk_size)
        return iter([response.content]) if response.content else iter(())

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

    # -- Actions ---------------------------------------------------------------------------

    def get_run(self, repo: str, run_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/actions/runs/{run_id}")

    def list_run_jobs(
        self, repo: str, run_id: int | str, attempt: int | None = None
    ) -> list[dict[str, Any]]:
        """Jobs of one run attempt (all pages); without ``attempt``, of the latest attempt."""
        base = f"/repos/{_repo(repo)}/actions/runs/{run_id}"
        if attempt is not None:
            return self._paginate(f"{base}/attempts/{attempt}/jobs", key="jobs")
        return self._paginate(f"{base}/jobs", {"filter": "latest"}, key="jobs")

    def get_job(self, repo: str, job_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/actions/jobs/{job_id}")

    def list_runs(
        self,
        repo: str,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        event: str | None = None,
        per_page: int = 20,
    ) -> list[dict[str, Any]]:
        """One page of workflow runs, newest first."""
        params: dict[str, str | int] = {"per_page": per_page}
        for name, value in (("branch", branch), ("head_sha", head_sha), ("event", event)):
            if value:
                params[name] = value
        data = self._get(f"/repos/{_repo(repo)}/actions/runs", params)
        runs = data.get("workflow_runs", [])
        return [run for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []

    def rerun_failed_jobs(self, repo: str, run_id: int | str) -> None:
        self._call("POST", f"/repos/{_repo(repo)}/actions/runs/{run_id}/rerun-failed-jobs")

    # -- refs, commits, pull requests, checks ----------------------------------------------

    def get_branch(self, repo: str, branch: str) -> dict[str, Any]:
        """The branch and its head commit; ``NotFound`` when the branch is gone."""
        return self._get(f"/repos/{_repo(repo)}/branches/{quote(branch, safe='/')}")

    def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return self._paginate(f"/repos/{_repo(repo)}/commits/{sha}/pulls", limit=PER_PAGE)

    def get_pull(self, repo: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/pulls/{number}")

    def list_pull_files(self, repo: str, number: int, limit: int = 3000) -> list[dict[str, Any]]:
        """The PR's changed files, paginated; GitHub itself stops at 3,000."""
        return self._paginate(f"/repos/{_repo(repo)}/pulls/{number}/files", limit=limit)

    def get_commit(self, repo: str, sha: str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/commits/{sha}")

    def compare(self, repo: str, base: str, head: str) -> dict[str, Any]:
        return self._get(
            f"/repos/{_repo(repo)}/compare/{quote(base, safe='/')}...{quote(head, safe='/')}"
        )

    def list_check_runs(self, repo: str, ref: str) -> list[dict[str, Any]]:
        return self._paginate(
            f"/repos/{_repo(repo)}/commits/{quote(ref, safe='/')}/check-runs", key="check_runs"
        )

    def get_check_suite(self, repo: str, suite_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/check-suites/{suite_id}")

    # -- issues and advisories -------------------------------------------------------------

    def create_issue_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        response = self._call(
            "POST", f"/repos/{_repo(repo)}/issues/{number}/comments", json={"body": body}
        )
        return self._object(response)

    def create_issue(
        self, repo: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> dict[str, Any]:
        payload = {"title": title, "body": body, "labels": list(labels)}
        return self._object(self._call("POST", f"/repos/{_repo(repo)}/issues", json=payload))

    def get_global_advisory(self, ghsa_id: str) -> dict[str, Any]:
        return self._get(f"/advisories/{quote(ghsa_id, safe='')}")
