"""RecordedTransport: the offline demo's GitHub, laid out by API path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer.github.auth import AnonymousAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import LogUnavailable, NotFound
from healer.github.recorded import RecordedTransport
from healer.settings import Settings

RUNS = "repos/acme/widgets/actions/runs/7001"
JOBS = "repos/acme/widgets/actions/jobs/90001"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / RUNS).mkdir(parents=True)
    (tmp_path / JOBS).mkdir(parents=True)
    (tmp_path / f"{RUNS}.json").write_text(json.dumps({"id": 7001, "name": "CI"}))
    (tmp_path / RUNS / "jobs.json").write_text(
        json.dumps({"total_count": 1, "jobs": [{"id": 90001, "name": "test"}]})
    )
    (tmp_path / JOBS / "logs.txt").write_bytes(b"error[E0308]: mismatched types\n" * 5000)
    (tmp_path / "secret.json").write_text('{"leak": true}')
    return tmp_path


@pytest.fixture
def recorded_client(root: Path) -> GitHubClient:
    return GitHubClient.from_settings(Settings(github_recorded_dir=str(root)))


def test_serves_files_by_path_ignoring_the_query(recorded_client: GitHubClient) -> None:
    assert recorded_client.get_run("acme/widgets", 7001) == {"id": 7001, "name": "CI"}
    jobs = recorded_client.list_run_jobs("acme/widgets", 7001)  # sends ?per_page=100&filter=latest
    assert [j["id"] for j in jobs] == [90001]
    assert isinstance(recorded_client.auth, AnonymousAuth)


def test_logs_come_through_a_302_like_the_real_api(root: Path) -> None:
    transport = RecordedTransport(root)
    seen: list[tuple[str, str, bool]] = []

    class Spy(RecordedTransport):
        def handle_request(self, request):  # type: ignore[no-untyped-def]
            response = transport.handle_request(request)
            seen.append(
                (request.url.host, str(response.status_code), "authorization" in request.headers)
            )
            return response

    from healer.github.auth import TokenAuth

    client = GitHubClient(auth=TokenAuth("ghp_demo"), transport=Spy(root))
    log = b"".join(client.stream_job_log("acme/widgets", 90001))

    assert log == (root / JOBS / "logs.txt").read_bytes()
    assert seen == [("api.github.com", "302", True), ("logs.recorded.invalid", "200", False)]


def test_missing_files_are_404(recorded_client: GitHubClient) -> None:
    with pytest.raises(NotFound):
        recorded_client.get_pull("acme/widgets", 42)
    with pytest.raises(LogUnavailable):
        recorded_client.stream_job_log("acme/widgets", 90002)


def test_paths_cannot_escape_the_root(root: Path) -> None:
    import httpx

    transport = RecordedTransport(root / "repos")
    with httpx.Client(transport=transport, base_url="https://api.github.com") as http:
        assert http.get("/../secret").status_code == 404
        assert http.get("/acme/%2e%2e/%2e%2e/secret").status_code == 404
        assert http.get("https://logs.recorded.invalid/../secret.json").status_code == 404


def test_writes_are_kept_not_sent(root: Path) -> None:
    transport = RecordedTransport(root)
    client = GitHubClient(auth=AnonymousAuth(), transport=transport)

    comment = client.create_issue_comment("acme/widgets", 42, "Healer is on it")
    client.rerun_failed_jobs("acme/widgets", 7001)

    assert comment["body"] == "Healer is on it" and comment["id"] == 1
    assert [(w.method, w.path, w.body) for w in transport.writes] == [
        ("POST", "/repos/acme/widgets/issues/42/comments", {"body": "Healer is on it"}),
        ("POST", "/repos/acme/widgets/actions/runs/7001/rerun-failed-jobs", None),
    ]
