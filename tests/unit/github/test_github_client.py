"""GitHubClient against recorded answers: headers, pagination, retries, rate limits, errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from github_fakes import TOKEN, Router, recorded

from healer.github.auth import AnonymousAuth, AppAuth, TokenAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import (
    GitHubError,
    GitHubUnavailable,
    NotFound,
    RateLimited,
)
from healer.github.recorded import RecordedTransport
from healer.settings import Settings

API = "https://api.github.com"
RUN = f"{API}/repos/acme/widgets/actions/runs/7001"
FILES = f"{API}/repos/acme/widgets/pulls/42/files"
NOW = 1_714_644_000.0


def _files(start: int, count: int) -> list[dict[str, object]]:
    template = recorded("pull_file.json")
    return [{**template, "filename": f"src/file_{i}.rs"} for i in range(start, start + count)]


def test_every_call_carries_the_api_headers_and_the_token(
    client: GitHubClient, router: Router
) -> None:
    router.add("GET", RUN, httpx.Response(200, json=recorded("workflow_run.json")))

    run = client.get_run("acme/widgets", 7001)

    assert run["head_sha"] == "3f786850e387550fdab836ed7e6dc881de23001b"
    sent = router.requests[0]
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert sent.headers["user-agent"].startswith("healer/")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.extensions["timeout"]["read"] == 10.0


def test_anonymous_calls_send_no_authorization(
    make_client: Callable[..., GitHubClient], router: Router
) -> None:
    router.add("GET", RUN, httpx.Response(200, json=recorded("workflow_run.json")))
    make_client(AnonymousAuth(), timeout=3.0).get_run("acme/widgets", 7001)
    assert "authorization" not in router.requests[0].headers
    assert router.requests[0].extensions["timeout"]["read"] == 3.0


def test_pagination_follows_link_next_across_three_pages(
    client: GitHubClient, router: Router
) -> None:
    page2 = "https://api.github.com/repositories/1296269/pulls/42/files?per_page=100&page=2"
    page3 = "https://api.github.com/repositories/1296269/pulls/42/files?per_page=100&page=3"
    last = f'<{page3}>; rel="last"'
    router.add(
        "GET",
        FILES,
        httpx.Response(
            200, json=_files(0, 100), headers={"link": f'<{page2}>; rel="next", {last}'}
        ),
    )
    router.add(
        "GET",
        page2,
        httpx.Response(
            200, json=_files(100, 100), headers={"link": f'<{page3}>; rel="next", {last}'}
        ),
    )
    router.add("GET", page3, httpx.Response(200, json=_files(200, 37), headers={"link": last}))

    files = client.list_pull_files("acme/widgets", 42)

    assert [f["filename"] for f in files] == [f"src/file_{i}.rs" for i in range(237)]
    assert len(router.requests) == 3
    assert router.requests[0].url.params["per_page"] == "100"
    assert router.requests[2].url.params["page"] == "3"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in router.requests)


def test_pull_files_stop_at_the_limit(client: GitHubClient, router: Router) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        nxt = f"{API}/repos/acme/widgets/pulls/42/files?per_page=100&page={page + 1}"
        return httpx.Response(
            200, json=_files(page * 100, 100), headers={"link": f'<{nxt}>; rel="next"'}
        )

    router.add("GET", FILES, endless)

    assert len(client.list_pull_files("acme/widgets", 42)) == 3000
    assert len(router.requests) == 30
    assert len(client.list_pull_files("acme/widgets", 42, limit=150)) == 150


def test_jobs_of_an_attempt_or_the_latest(client: GitHubClient, router: Router) -> None:
    router.add(
        "GET", f"{RUN}/attempts/2/jobs", httpx.Response(200, json=recorded("jobs_page.json"))
    )
    router.add("GET", f"{RUN}/jobs", httpx.Response(200, json=recorded("jobs_page.json")))

    jobs = client.list_run_jobs("acme/widgets", 7001, attempt=2)
    latest = client.list_run_jobs("acme/widgets", 7001)

    assert [j["id"] for j in jobs] == [90001, 90005] == [j["id"] for j in latest]
    assert router.requests[1].url.params["filter"] == "latest"


def test_secondary_rate_limit_with_retry_after_is_retryable_and_not_slept(
    client: GitHubClient, router: Router, sleeps: list[float]
) -> None:
    router.add(
        "GET",
        RUN,
        httpx.Response(
            403, json=recorded("secondary_rate_limit.json"), headers={"retry-after": "120"}
        ),
    )

    with pytest.raises(RateLimited) as caught:
        client.get_run("acme/widgets", 7001)

    assert caught.value.retry_after == 120
    assert caught.value.status == 429  # the broker retries 429, it does not dead-letter it
    assert len(router.requests) == 1 and sleeps == []


def test_secondary_rate_limit_message_alone_waits_a_minute(
    client: GitHubClient, router: Router
) -> None:
    router.add("GET", RUN, httpx.Response(403, json=recorded("secondary_rate_limit.json")))
    with pytest.raises(RateLimited) as caught:
        client.get_run("acme/widgets", 7001)
    assert caught.value.retry_after == 60


def test_429_is_rate_limited(client: GitHubClient, router: Router) -> None:
    router.add("GET", RUN, httpx.Response(429, json={"message": "Too Many Requests"}))
    with pytest.raises(RateLimited) as caught:
        client.get_run("acme/widgets", 7001)
    assert caught.value.retry_after == 60


def test_exhausted_primary_limit_waits_until_the_reset(
    client: GitHubClient, router: Router
) -> None:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": str(int(NOW) + 90),
    }
    router.add(
        "GET",
        RUN,
        httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=headers),
    )
    with pytest.raises(RateLimited) as caught:
        client.get_run("acme/widgets", 7001)
    assert caught.value.retry_after == 90


def test_plain_403_is_a_permanent_github_error(client: GitHubClient, router: Router) -> None:
    router.add(
        "POST",
        f"{RUN}/rerun-failed-jobs",
        httpx.Response(403, json={"message": "Resource not accessible by integration"}),
    )
    with pytest.raises(GitHubError) as caught:
        client.rerun_failed_jobs("acme/widgets", 7001)
    assert not isinstance(caught.value, GitHubUnavailable)
    assert caught.value.status_code == 403 and caught.value.status == 422
    assert "Resource not accessible" in str(caught.value)


def test_5xx_then_success_retries_with_backoff(
    client: GitHubClient, router: Router, sleeps: list[float]
) -> None:
    router.add(
        "GET",
        RUN,
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(503, json={"message": "Service Unavailable"}),
        httpx.Response(200, json=recorded("workflow_run.json")),
    )
    assert client.get_run("acme/widgets", 7001)["id"] == 7001
    assert len(router.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_exhausted_is_github_unavailable(
    client: GitHubClient, router: Router, sleeps: list[float]
) -> None:
    router.add("GET", RUN, httpx.Response(503, headers={"retry-after": "15"}))
    with pytest.raises(GitHubUnavailable) as caught:
        client.get_run("acme/widgets", 7001)
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.status == 503 and caught.value.status_code == 503
    assert caught.value.retry_after == 15
    assert len(router.requests) == 3 and len(sleeps) == 2


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out"),
        (httpx.ConnectTimeout("connect timed out"), "timed out"),
        (httpx.ConnectError("connection refused"), "ConnectError"),
    ],
)
def test_timeouts_and_connection_errors_retry_then_fail_retryably(
    client: GitHubClient, router: Router, failure: Exception, said: str
) -> None:
    router.add("GET", RUN, failure)
    with pytest.raises(GitHubUnavailable, match=said) as caught:
        client.get_run("acme/widgets", 7001)
    assert len(router.requests) == 3
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert isinstance(caught.value.__cause__, httpx.TransportError)


def test_timeout_once_then_success(client: GitHubClient, router: Router) -> None:
    router.add(
        "GET",
        RUN,
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=recorded("workflow_run.json")),
    )
    assert client.get_run("acme/widgets", 7001)["id"] == 7001


@pytest.mark.parametrize(
    "failure", [httpx.Response(502, text="Bad Gateway"), httpx.ReadTimeout("slow")]
)
def test_posts_are_never_retried(
    client: GitHubClient, router: Router, sleeps: list[float], failure: httpx.Response | Exception
) -> None:
    url = f"{API}/repos/acme/widgets/issues/42/comments"
    router.add("POST", url, failure, httpx.Response(201, json={"id": 1}))
    with pytest.raises(GitHubUnavailable):
        client.create_issue_comment("acme/widgets", 42, "Healer gave up")
    assert len(router.requests) == 1 and sleeps == []


def test_writes_send_their_json(client: GitHubClient, router: Router) -> None:
    router.add("POST", f"{API}/repos/acme/widgets/issues", httpx.Response(201, json={"number": 9}))
    router.add("POST", f"{RUN}/rerun-failed-jobs", httpx.Response(201, json={}))

    issue = client.create_issue("acme/widgets", "CI broken", "details", labels=("healer",))
    client.rerun_failed_jobs("acme/widgets", 7001)

    assert issue["number"] == 9
    import json

    assert json.loads(router.requests[0].content) == {
        "title": "CI broken",
        "body": "details",
        "labels": ["healer"],
    }


def test_404_is_permanent_not_found(client: GitHubClient, router: Router) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_branch("acme/widgets", "feature/gone")
    assert caught.value.status_code == 404
    assert caught.value.status == 422  # a 404 answer would make the broker retry forever
    assert router.requests[0].url.path == "/repos/acme/widgets/branches/feature/gone"
    assert len(router.requests) == 1


def test_branch_names_with_slashes(client: GitHubClient, router: Router) -> None:
    router.add(
        "GET",
        f"{API}/repos/acme/widgets/branches/feature/parser",
        httpx.Response(200, json=recorded("branch.json")),
    )
    branch = client.get_branch("acme/widgets", "feature/parser")
    assert branch["commit"]["sha"].startswith("3f786850")


def test_list_runs_is_one_page_with_filters(client: GitHubClient, router: Router) -> None:
    runs = {"total_count": 1, "workflow_runs": [recorded("workflow_run.json")]}
    router.add("GET", f"{API}/repos/acme/widgets/actions/runs", httpx.Response(200, json=runs))

    found = client.list_runs("acme/widgets", branch="feature/parser", event="push")

    assert [r["id"] for r in found] == [7001]
    params = router.requests[0].url.params
    assert params["branch"] == "feature/parser" and params["event"] == "push"
    assert params["per_page"] == "20" and "head_sha" not in params


def test_pagination_never_sends_credentials_to_another_host(
    client: GitHubClient, router: Router
) -> None:
    evil = '<https://evil.example/steal?page=2>; rel="next"'
    router.add("GET", FILES, httpx.Response(200, json=_files(0, 100), headers={"link": evil}))
    with pytest.raises(GitHubError, match=r"evil\.example"):
        client.list_pull_files("acme/widgets", 42)
    assert [r.url.host for r in router.requests] == ["api.github.com"]


def test_bad_repository_names_are_rejected_before_any_call(
    client: GitHubClient, router: Router
) -> None:
    from healer.errors import InvalidInput

    with pytest.raises(InvalidInput):
        client.get_run("acme/widgets/../../admin", 1)
    assert router.requests == []


def test_tokens_never_reach_the_logs(
    client: GitHubClient, router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    router.add("GET", RUN, httpx.Response(500), httpx.Response(403, json={"message": "nope"}))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GitHubError) as caught:
        client.get_run("acme/widgets", 7001)
    assert TOKEN not in caplog.text and TOKEN not in str(caught.value)
    assert TOKEN not in repr(client.auth)


def test_from_settings_picks_recorded_then_app_then_token_then_anonymous(tmp_path: object) -> None:
    recorded_client = GitHubClient.from_settings(
        Settings(github_recorded_dir=str(tmp_path), github_token="ghp_x")
    )
    app_client = GitHubClient.from_settings(
        Settings(
            github_app_id="123",
            github_installation_id="4242",
            github_private_key="-----BEGIN RSA PRIVATE KEY-----\n...",
            github_token="ghp_x",
        )
    )
    token_client = GitHubClient.from_settings(Settings(github_token="ghp_x", github_timeout=4.0))
    anonymous = GitHubClient.from_settings(Settings())

    assert isinstance(recorded_client.auth, AnonymousAuth)
    assert isinstance(recorded_client._http._transport, RecordedTransport)
    assert isinstance(app_client.auth, AppAuth) and app_client.auth.installation_id == "4242"
    assert isinstance(token_client.auth, TokenAuth)
    assert token_client._timeout.read == 4.0
    assert isinstance(anonymous.auth, AnonymousAuth)


def _commit(sha: str) -> dict[str, object]:
    return {"sha": sha, "commit": {"message": "m"}, "parents": []}


def test_commits_since_compares_the_start_with_the_branch(
    client: GitHubClient, router: Router
) -> None:
    start = "3f786850e387550fdab836ed7e6dc881de23001b"
    answer = {
        "status": "ahead",
        "ahead_by": 2,
        "total_commits": 2,
        "commits": [_commit("a" * 40), _commit("b" * 40)],
    }
    router.add(
        "GET", f"{API}/repos/acme/widgets/compare/{start}...feature/parser", answer_of(answer)
    )
    assert client.commits_since("acme/widgets", start, "feature/parser") == ["a" * 40, "b" * 40]
    assert router.requests[0].url.path.endswith(f"/compare/{start}...feature/parser")


def test_commits_since_keeps_the_branch_head_last_when_github_cuts_the_list(
    client: GitHubClient, router: Router
) -> None:
    answer = {"status": "ahead", "total_commits": 300, "commits": [_commit("a" * 40)]}
    router.add("GET", f"{API}/repos/acme/widgets/compare/{'0' * 40}...topic", answer_of(answer))
    head = {"name": "topic", "commit": _commit("f" * 40)}
    router.add("GET", f"{API}/repos/acme/widgets/branches/topic", answer_of(head))
    assert client.commits_since("acme/widgets", "0" * 40, "topic") == ["a" * 40, "f" * 40]


def test_commits_since_an_unknown_branch_is_not_found_and_a_bad_answer_an_error(
    client: GitHubClient, router: Router
) -> None:
    with pytest.raises(NotFound):
        client.commits_since("acme/widgets", "0" * 40, "gone")
    router.add("GET", f"{API}/repos/acme/widgets/compare/{'0' * 40}...odd", answer_of({}))
    with pytest.raises(GitHubError, match="no commit list"):
        client.commits_since("acme/widgets", "0" * 40, "odd")


def test_list_commits_filters_by_branch_and_time_and_paginates(
    client: GitHubClient, router: Router
) -> None:
    page2 = f"{API}/repositories/1/commits?sha=topic&page=2"
    router.add(
        "GET",
        f"{API}/repos/acme/widgets/commits",
        httpx.Response(200, json=[_commit("b" * 40)], headers={"link": f'<{page2}>; rel="next"'}),
    )
    router.add("GET", page2, answer_of([_commit("a" * 40)]))
    found = client.list_commits("acme/widgets", sha="topic", since="2025-01-02T03:00:00Z")
    assert [c["sha"] for c in found] == ["b" * 40, "a" * 40]
    params = router.requests[0].url.params
    assert (params["sha"], params["since"], params["per_page"]) == (
        "topic",
        "2025-01-02T03:00:00Z",
        "100",
    )


def test_a_compare_outage_is_retryable(client: GitHubClient, router: Router) -> None:
    router.add("GET", f"{API}/repos/acme/widgets/compare/{'0' * 40}...topic", httpx.Response(502))
    with pytest.raises(GitHubUnavailable):
        client.commits_since("acme/widgets", "0" * 40, "topic")


def answer_of(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)
