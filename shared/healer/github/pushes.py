"""Commits the offline tools "pushed", answered the way GitHub's REST API would answer them.

Offline, nothing pushes to GitHub: ``healer finish`` and ``healer replay --agent-outcome`` play
the agent, and completion-check still asks GitHub what the agent pushed (never the CodeRun).
This ledger is the writable layer over the recorded answers (:mod:`healer.github.recorded`):
the tools :meth:`PushLedger.push` a commit onto a branch, and the recorded transport serves,
from the ledger, the branch (``/branches/{b}``), the commit (``/commits/{sha}``), the
comparison (``/compare/{base}...{head}``, when ``base`` is where the pushes started or one of
them) and the commit list (``/commits?sha=&since=``), in GitHub's shapes. Anything else falls
through to the recorded files. Kept on disk (one JSON file per repository) so ``healer finish``
and ``healer dev`` in different processes share it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from healer.state import clock

API = "https://api.github.com"
WEB = "https://github.com"
_REPO = re.compile(r"^/repos/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/(.+)$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def commit_object(
    repository: str, sha: str, parents: list[str], message: str, date: str, author: str
) -> dict[str, Any]:
    """A commit as ``GET /repos/{owner}/{repo}/commits/{sha}`` and the lists show it."""
    api, web = f"{API}/repos/{repository}", f"{WEB}/{repository}"
    person = {"name": author, "email": f"{author}@users.noreply.github.com", "date": date}
    tree = _fake_sha("tree", sha)
    return {
        "sha": sha,
        "node_id": f"C_{sha[:20]}",
        "commit": {
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            "url": f"{api}/git/commits/{sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
            },
        },
        "url": f"{api}/commits/{sha}",
        "html_url": f"{web}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in parents
        ],
    }


def _fake_sha(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


class PushLedger:
    """Branches and the commits pushed onto them, per repository, in ``<root>/<owner>/<repo>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _file(self, repository: str) -> Path:
        owner, _, name = repository.partition("/")
        return self.root / owner / f"{name}.json"

    def _load(self, repository: str) -> dict[str, Any]:
        try:
            data = json.loads(self._file(repository).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"branches": {}}
        return (
            data
            if isinstance(data, dict) and isinstance(data.get("branches"), dict)
            else {"branches": {}}
        )

    def _save(self, repository: str, data: dict[str, Any]) -> None:
        path = self._file(repository)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".push.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True)
        os.replace(temp, path)

    def push(
        self,
        repository: str,
        branch: str,
        *,
        sha: str,
        base: str = "",
        message: str = "",
        author: str = "healer-local",
        date: str = "",
    ) -> dict[str, Any]:
        """Put commit ``sha`` on top of ``branch`` (which starts at ``base`` if new); pushing
        the same SHA again changes nothing. The commit as GitHub would show it."""
        if not _SHA.match(sha):
            raise ValueError(f"{sha!r} is not a 40-character commit SHA")
        with self._lock:
            data = self._load(repository)
            entry = data["branches"].setdefault(branch, {"base": base, "commits": []})
            commits: list[dict[str, Any]] = entry["commits"]
            for commit in commits:
                if commit.get("sha") == sha:
                    return commit
            parent = commits[-1]["sha"] if commits else entry.get("base") or ""
            commit = commit_object(
                repository,
                sha,
                [parent] if parent else [],
                message or "Fix the failure",
                date or clock.now(),
                author,
            )
            commits.append(commit)
            self._save(repository, data)
            return commit

    def branch(self, repository: str, branch: str) -> tuple[str, list[dict[str, Any]]] | None:
        """(where the pushes started, the pushed commits oldest first), or None."""
        entry = self._load(repository)["branches"].get(branch)
        if not isinstance(entry, dict):
            return None
        commits = [c for c in entry.get("commits") or [] if isinstance(c, dict)]
        return str(entry.get("base") or ""), commits

    # -- answering GitHub's API ------------------------------------------------------------

    def answer(self, path: str, params: Mapping[str, str], recorded: Any) -> tuple[int, Any] | None:
        """(status, body) for a GET the ledger can answer; None lets the recorded files
        answer. ``recorded(path)`` reads a recorded answer (None when there is none)."""
        match = _REPO.match(path)
        if match is None:
            return None
        owner, name, rest = match.groups()
        repository = f"{owner}/{name}"
        if rest.startswith("branches/"):
            return self._branch(repository, unquote(rest.removeprefix("branches/")))
        if rest == "commits":
            return self._list(repository, params)
        if rest.startswith("commits/") and _SHA.match(rest.removeprefix("commits/")):
            found = self._commit(repository, rest.removeprefix("commits/"))
            return None if found is None else (200, found)
        if rest.startswith("compare/") and "..." in rest:
            base, _, head = unquote(rest.removeprefix("compare/")).partition("...")
            return self._compare(repository, base, head, recorded)
        return None

    def _branch(self, repository: str, branch: str) -> tuple[int, Any] | None:
        found = self.branch(repository, branch)
        if found is None or not found[1]:
            return None
        head = found[1][-1]
        api = f"{API}/repos/{repository}"
        return 200, {
            "name": branch,
            "commit": head,
            "_links": {
                "self": f"{api}/branches/{branch}",
                "html": f"{WEB}/{repository}/tree/{branch}",
            },
            "protected": False,
            "protection_url": f"{api}/branches/{branch}/protection",
        }

    def _commit(self, repository: str, sha: str) -> dict[str, Any] | None:
        for entry in self._load(repository)["branches"].values():
            for commit in entry.get("commits") or []:
                if isinstance(commit, dict) and commit.get("sha") == sha:
                    return commit
        return None

    def _list(self, repository: str, params: Mapping[str, str]) -> tuple[int, Any] | None:
        found = self.branch(repository, params.get("sha", ""))
        if found is None:
            return None
        since = params.get("since", "")
        newest_first = [
            c for c in reversed(found[1]) if not since or c["commit"]["committer"]["date"] >= since
        ]
        return 200, newest_first

    def _compare(
        self, repository: str, base: str, head: str, recorded: Any
    ) -> tuple[int, Any] | None:
        found = self.branch(repository, head)
        if found is None:
            return None
        start, commits = found
        shas = [c["sha"] for c in commits]
        if base == start:
            ahead = commits
        elif base in shas:
            ahead = commits[shas.index(base) + 1 :]
        else:
            return None  # a base the ledger cannot place: the recorded answer, or a 404
        base_commit = recorded(f"/repos/{repository}/commits/{base}") or self._commit(
            repository, base
        )
        if base_commit is None:
            base_commit = commit_object(repository, base, [], "", "", "")
        web = f"{WEB}/{repository}"
        return 200, {
            "url": f"{API}/repos/{repository}/compare/{base}...{head}",
            "html_url": f"{web}/compare/{base}...{head}",
            "permalink_url": f"{web}/compare/{base}...{head}",
            "diff_url": f"{web}/compare/{base}...{head}.diff",
            "patch_url": f"{web}/compare/{base}...{head}.patch",
            "base_commit": base_commit,
            "merge_base_commit": base_commit,
            "status": "ahead" if ahead else "identical",
            "ahead_by": len(ahead),
            "behind_by": 0,
            "total_commits": len(ahead),
            "commits": ahead,
            "files": [],
        }
