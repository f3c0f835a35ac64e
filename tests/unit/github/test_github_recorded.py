"""RecordedTransport: the offline demo's GitHub, laid out by API path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer.github.auth import AnonymousAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import LogUnavailable, NotFound
from healer.github.pushes import PushLedger
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


START = "3f786850e387550fdab836ed7e6dc881de23001b"


@pytest.fixture
def ledger(tmp_path: Path) -> PushLedger:
    return PushLedger(tmp_path / "pushes")


def _client(root: Path, ledger: PushLedger) -> GitHubClient:
    settings = Settings(github_recorded_dir=str(root), github_pushes_dir=str(ledger.root))
    return GitHubClient.from_settings(settings)


def test_pushed_commits_are_answered_as_github_would(root: Path, ledger: PushLedger) -> None:
    client = _client(root, ledger)
    with pytest.raises(NotFound):
        client.get_branch("acme/widgets", "healer/t-1")  # nothing pushed yet
    first = ledger.push("acme/widgets", "healer/t-1", sha="a" * 40, base=START, message="one")
    ledger.push("acme/widgets", "healer/t-1", sha="b" * 40, base="ignored", message="two")
    ledger.push("acme/widgets", "healer/t-1", sha="b" * 40)  # a repeated push changes nothing
    assert first["parents"][0]["sha"] == START and first["commit"]["message"] == "one"
    branch = client.get_branch("acme/widgets", "healer/t-1")
    assert branch["name"] == "healer/t-1" and branch["commit"]["sha"] == "b" * 40
    assert branch["commit"]["parents"][0]["sha"] == "a" * 40
    assert client.get_commit("acme/widgets", "a" * 40)["sha"] == "a" * 40
    compare = client.compare("acme/widgets", START, "healer/t-1")
    assert (compare["status"], compare["ahead_by"], compare["total_commits"]) == ("ahead", 2, 2)
    assert compare["base_commit"]["sha"] == START and compare["files"] == []
    assert client.commits_since("acme/widgets", START, "healer/t-1") == ["a" * 40, "b" * 40]
    assert client.commits_since("acme/widgets", "a" * 40, "healer/t-1") == ["b" * 40]
    listed = client.list_commits("acme/widgets", sha="healer/t-1")
    assert [c["sha"] for c in listed] == ["b" * 40, "a" * 40]  # newest first
    with pytest.raises(NotFound):  # a base the ledger cannot place, and nothing recorded
        client.commits_since("acme/widgets", "c" * 40, "healer/t-1")
    with pytest.raises(NotFound):
        client.get_branch("acme/other", "healer/t-1")  # other repositories are untouched


def test_list_commits_honours_since(root: Path, ledger: PushLedger) -> None:
    ledger.push("acme/widgets", "topic", sha="a" * 40, date="2025-01-01T00:00:00Z")
    ledger.push("acme/widgets", "topic", sha="b" * 40, date="2025-01-03T00:00:00Z")
    client = _client(root, ledger)
    found = client.list_commits("acme/widgets", sha="topic", since="2025-01-02T00:00:00Z")
    assert [c["sha"] for c in found] == ["b" * 40]


def test_the_ledger_refuses_what_is_not_a_commit_sha(ledger: PushLedger) -> None:
    with pytest.raises(ValueError, match="40-character"):
        ledger.push("acme/widgets", "topic", sha="HEAD")


def test_recorded_files_still_answer_what_the_ledger_does_not_hold(
    root: Path, ledger: PushLedger
) -> None:
    ledger.push("acme/widgets", "topic", sha="a" * 40)
    assert _client(root, ledger).get_run("acme/widgets", 7001) == {"id": 7001, "name": "CI"}
