"""The essentials from GitHub: the pull request, what it changes, and the commits leading up.

These are what an engineer opens first, so a GitHub outage here is not papered over: it
propagates and the broker redelivers later. A resource that is simply gone (a deleted PR, a
base branch that no longer exists) is noted in ``missing`` and the rest still goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from healer import policy
from healer.models import ChangedFile, CommitInfo, FailureDetected, PullRequestInfo

MAX_FILES = 3000
MAX_COMMITS = 20
MESSAGE_CHARS = 200


class SourceClient(Protocol):
    def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]: ...

    def get_pull(self, repo: str, number: int) -> dict[str, Any]: ...

    def list_pull_files(
        self, repo: str, number: int, limit: int = 3000
    ) -> list[dict[str, Any]]: ...

    def get_commit(self, repo: str, sha: str) -> dict[str, Any]: ...

    def compare(self, repo: str, base: str, head: str) -> dict[str, Any]: ...


@dataclass
class Essentials:
    pull_request: PullRequestInfo | None = None
    files: list[ChangedFile] = field(default_factory=list)
    commits: list[CommitInfo] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    fork_head: str = ""
    """The PR's head repository when it is a fork: workflow_job and check payloads cannot say."""


def pull_info(raw: dict[str, Any]) -> PullRequestInfo:
    head, base, user = raw.get("head") or {}, raw.get("base") or {}, raw.get("user") or {}
    return PullRequestInfo(
        number=int(raw["number"]),
        title=str(raw.get("title") or ""),
        html_url=str(raw.get("html_url") or ""),
        head_ref=str(head.get("ref") or ""),
        head_sha=str(head.get("sha") or ""),
        base_ref=str(base.get("ref") or ""),
        mergeable_state=str(raw.get("mergeable_state") or ""),
        draft=bool(raw.get("draft")),
        author=str(user.get("login") or ""),
        head_repository=str((head.get("repo") or {}).get("full_name") or ""),
    )


def file_info(raw: dict[str, Any]) -> ChangedFile:
    return ChangedFile(
        filename=str(raw["filename"]),
        status=str(raw.get("status") or "modified"),
        additions=int(raw.get("additions") or 0),
        deletions=int(raw.get("deletions") or 0),
        previous_filename=str(raw.get("previous_filename") or ""),
    )


def commit_info(raw: dict[str, Any]) -> CommitInfo:
    commit = raw.get("commit") or {}
    message = str(commit.get("message") or "").strip().splitlines()
    author = (
        (raw.get("author") or {}).get("login") or (commit.get("author") or {}).get("name") or ""
    )
    return CommitInfo(
        sha=str(raw["sha"]),
        message=(message[0] if message else "")[:MESSAGE_CHARS],
        author=str(author),
    )


def fork_head(raw: dict[str, Any], repo: str) -> str:
    """The head repository's name when the PR comes from another repository (a fork)."""
    return policy.fork_of(pull_info(raw).head_repository, repo)


def pull_number(github: SourceClient, failure: FailureDetected) -> int | None:
    """The PR of the failing commit: from the event, else GitHub's commit→PR lookup."""
    if failure.pull_requests:
        return failure.pull_requests[0]
    pulls = github.pulls_for_commit(failure.repository, failure.head_sha)
    exact = [p for p in pulls if (p.get("head") or {}).get("sha") == failure.head_sha]
    open_exact = [p for p in exact if p.get("state") == "open"]
    open_any = [p for p in pulls if p.get("state") == "open"]
    for candidates in (open_exact, exact, open_any):
        if candidates:
            return int(candidates[0]["number"])
    return None


def gather_essentials(github: SourceClient, failure: FailureDetected) -> Essentials:
    from healer.github.exceptions import NotFound

    found = Essentials()
    repo = failure.repository
    number = pull_number(github, failure)
    if number is not None:
        try:
            raw = github.get_pull(repo, number)
            found.pull_request = pull_info(raw)
            found.fork_head = fork_head(raw, repo)
        except NotFound:
            found.missing.append(f"pull_request: #{number} not found")
    if found.pull_request is not None:
        pr = found.pull_request
        found.files = [
            file_info(f) for f in github.list_pull_files(repo, pr.number, limit=MAX_FILES)
        ]
        found.commits = _compare_commits(github, repo, pr.base_ref, failure.head_sha, found.missing)
        return found
    _push_context(github, failure, found)
    return found


def _push_context(github: SourceClient, failure: FailureDetected, found: Essentials) -> None:
    """No PR: the branch's changes against the default branch, or the pushed commit itself."""
    from healer.github.exceptions import NotFound

    repo = failure.repository
    default = failure.default_branch or "main"
    if failure.head_branch and failure.head_branch != default:
        try:
            diff = github.compare(repo, default, failure.head_sha)
        except NotFound:
            found.missing.append(
                f"recent_commits: cannot compare {default}...{failure.head_sha[:12]}"
            )
        else:
            found.files = [file_info(f) for f in diff.get("files") or []][:MAX_FILES]
            found.commits = _newest(diff.get("commits") or [])
            if found.files or found.commits:
                return
    try:
        commit = github.get_commit(repo, failure.head_sha)
    except NotFound:
        found.missing.append(f"changed_files: commit {failure.head_sha[:12]} not found")
        return
    found.files = [file_info(f) for f in commit.get("files") or []][:MAX_FILES]
    found.commits = [commit_info(commit)]


def _compare_commits(
    github: SourceClient, repo: str, base: str, head: str, missing: list[str]
) -> list[CommitInfo]:
    from healer.github.exceptions import NotFound

    if not base:
        return []
    try:
        diff = github.compare(repo, base, head)
    except NotFound:
        missing.append(f"recent_commits: cannot compare {base}...{head[:12]}")
        return []
    return _newest(diff.get("commits") or [])


def _newest(commits: list[dict[str, Any]]) -> list[CommitInfo]:
    """GitHub lists compare commits oldest first; keep the newest ``MAX_COMMITS``, newest first."""
    return [commit_info(c) for c in reversed(commits[-MAX_COMMITS:])]
