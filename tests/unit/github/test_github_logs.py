"""Job logs: the API answers 302 to a short-lived URL that must get no credentials."""

from __future__ import annotations

import httpx
import pytest
from github_fakes import TOKEN, Router

from healer.github.client import GitHubClient
from healer.github.exceptions import GitHubUnavailable, LogUnavailable

LOGS = "https://api.github.com/repos/acme/widgets/actions/jobs/90001/logs"
SIGNED = (
    "https://productionresultssa3.blob.core.windows.net/actions-results/5d1c/"
    "logs/job/90001.txt?rsct=text%2Fplain&se=2024-05-02T10%3A17%3A00Z&sig=c2lnbmF0dXJl&sv=2021-12-02"
)
LOG_TEXT = b"".join(
    f"2024-05-02T10:15:{i % 60:02d}.0000000Z line {i} of cargo test output\n".encode()
    for i in range(6000)
)


def _redirect() -> httpx.Response:
    return httpx.Response(302, headers={"location": SIGNED})


def test_log_redirect_is_followed_without_the_token_and_streamed(
    client: GitHubClient, router: Router
) -> None:
    router.add("GET", LOGS, _redirect())
    router.add("GET", SIGNED, httpx.Response(200, content=LOG_TEXT))

    chunks = list(client.stream_job_log("acme/widgets", 90001, chunk_size=64 * 1024))

    assert b"".join(chunks) == LOG_TEXT
    assert len(chunks) == -(-len(LOG_TEXT) // (64 * 1024)) > 1
    api, storage = router.requests
    assert api.headers["authorization"] == f"Bearer {TOKEN}"
    assert storage.url.host == "productionresultssa3.blob.core.windows.net"
    assert "authorization" not in storage.headers
    assert TOKEN not in str(storage.headers) and TOKEN not in str(storage.url)
    assert "x-github-api-version" not in storage.headers
    assert storage.url.params["sig"] == "c2lnbmF0dXJl"  # the signed query survives intact
    assert storage.extensions["timeout"]["read"] == 10.0


@pytest.mark.parametrize("status", [404, 410])
def test_expired_or_missing_logs_are_unavailable(
    client: GitHubClient, router: Router, status: int
) -> None:
    router.add("GET", LOGS, httpx.Response(status, json={"message": "Not Found"}))
    with pytest.raises(LogUnavailable) as caught:
        client.stream_job_log("acme/widgets", 90001)
    assert caught.value.status_code == status


def test_redirect_target_refusing_is_unavailable(client: GitHubClient, router: Router) -> None:
    router.add("GET", LOGS, _redirect())
    router.add("GET", SIGNED, httpx.Response(403, text="AuthenticationFailed"))
    with pytest.raises(LogUnavailable):
        client.stream_job_log("acme/widgets", 90001)


def test_redirect_target_outage_retries_then_is_retryable(
    client: GitHubClient, router: Router, sleeps: list[float]
) -> None:
    router.add("GET", LOGS, _redirect())
    router.add("GET", SIGNED, httpx.Response(500), httpx.ConnectError("reset"), httpx.Response(503))
    with pytest.raises(GitHubUnavailable):
        client.stream_job_log("acme/widgets", 90001)
    assert len(router.sent("/actions-results/5d1c/logs/job/90001.txt")) == 3
    assert sleeps == [0.5, 1.0]


def test_redirect_target_recovers(client: GitHubClient, router: Router) -> None:
    router.add("GET", LOGS, _redirect())
    router.add("GET", SIGNED, httpx.Response(502), httpx.Response(200, content=b"ok\n"))
    assert b"".join(client.stream_job_log("acme/widgets", 90001)) == b"ok\n"


def test_api_outage_on_logs_is_retryable(client: GitHubClient, router: Router) -> None:
    router.add("GET", LOGS, httpx.Response(503))
    with pytest.raises(GitHubUnavailable):
        client.stream_job_log("acme/widgets", 90001)
    assert len(router.requests) == 3


def test_interrupted_download_is_retryable(client: GitHubClient, router: Router) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"first part\n"
            raise httpx.ReadError("connection reset by peer")

    router.add("GET", LOGS, _redirect())
    router.add("GET", SIGNED, httpx.Response(200, stream=Broken()))
    stream = client.stream_job_log("acme/widgets", 90001, chunk_size=11)
    assert next(stream) == b"first part\n"
    with pytest.raises(GitHubUnavailable, match="interrupted"):
        next(stream)
