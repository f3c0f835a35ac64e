"""What the agent pushed, asked of GitHub (the CodeRun has no commit list, and an agent's word
is not evidence).

The agent's commits are the target branch's commits since the attempt started: with the start
commit spawn recorded (the branch's head then, or its base branch's for a branch the agent
creates), GitHub's compare ``<start>...<branch>``; without one, the branch's commits dated at or
after the attempt's start. A branch that does not exist means nothing was pushed. A GitHub
outage propagates as a retryable 503: a guess here would decide an attempt.
"""

from __future__ import annotations

from typing import Any, Protocol


class CommitReader(Protocol):
    def commits_since(self, repo: str, base: str, head: str) -> list[str]: ...

    def list_commits(
        self, repo: str, *, sha: str, since: str = "", limit: int = 250
    ) -> list[dict[str, Any]]: ...


def pushed_commits(
    github: CommitReader, repository: str, branch: str, *, start_sha: str, started_at: str
) -> tuple[str, ...]:
    """SHAs the branch gained since the attempt started, oldest first (the last is its head)."""
    from healer.github.exceptions import NotFound

    try:
        if start_sha:
            return tuple(github.commits_since(repository, start_sha, branch))
        listed = github.list_commits(repository, sha=branch, since=started_at)
    except NotFound:
        return ()
    shas = [str(c["sha"]) for c in listed if isinstance(c, dict) and c.get("sha")]
    return tuple(reversed(shas))
