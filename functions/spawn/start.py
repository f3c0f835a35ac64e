"""Where an attempt starts: the target branch's head commit when spawn creates the CodeRun.

completion-check later asks GitHub which commits the branch gained since then (compare
``<start>...<branch>``), so what counts as the agent's work comes from GitHub, not from what
the agent says. A branch the agent has still to create (``healer/<task>``) starts at its base
branch's head. Neither branch on GitHub: no start, and completion-check falls back to the
commits dated after the attempt started. A GitHub outage propagates (a retryable 503).
"""

from __future__ import annotations

from typing import Any, Protocol

from healer.target import Target


class BranchReader(Protocol):
    def get_branch(self, repo: str, branch: str) -> dict[str, Any]: ...


def start_sha(github: BranchReader, target: Target) -> str:
    """The head SHA of the target branch, else of its base branch; "" if neither exists."""
    from healer.github.exceptions import NotFound

    for branch in dict.fromkeys(b for b in (target.branch, target.base_branch) if b):
        try:
            answer = github.get_branch(target.repository, branch)
        except NotFound:
            continue
        commit = answer.get("commit")
        sha = commit.get("sha") if isinstance(commit, dict) else None
        if isinstance(sha, str) and sha:
            return sha
    return ""
